"""Sign-in and sign-out. Django's auth views do the work; this only sets their access policy."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from portal.core.access import public

login = public(auth_views.LoginView.as_view(template_name="accounts/login.html"))


@public
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    return auth_views.LogoutView.as_view()(request)
