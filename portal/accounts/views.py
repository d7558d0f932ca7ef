"""Sign-in and sign-out. Django's auth views do the work; this sets their access policy and puts
both sign-in forms (the portal's and the Django admin's) behind the throttle."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from portal.accounts.throttle import ThrottleDecision, login_attempt_begin, login_success_record
from portal.core.access import public

_REDIRECTS = (301, 302, 303)


def _refused(request: HttpRequest, decision: ThrottleDecision, username: str) -> HttpResponse:
    # An unbound form: a bound one would validate, and so check the password, while rendering.
    form = AuthenticationForm(request, initial={"username": username})
    message = gettext("Too many failed sign-in attempts. Try again in %(seconds)s seconds.")
    message %= {"seconds": decision.retry_after_s}
    response = render(
        request,
        "accounts/login.html",
        {"form": form, "next": request.POST.get("next", ""), "throttle_message": message},
        status=429,
    )
    response["Retry-After"] = str(decision.retry_after_s)
    return response


def throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a sign-in view: a POST for a locked account or address is answered 429 without
    looking at the password. Every other POST counts as a failure unless the view signs the user
    in (its redirect, with request.user now authenticated)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        username = request.POST.get(get_user_model().USERNAME_FIELD, "")
        decision = login_attempt_begin(request=request, username=username)
        if not decision.allowed:
            return _refused(request, decision, username)
        response = view(request, *args, **kwargs)
        if response.status_code in _REDIRECTS and request.user.is_authenticated:
            login_success_record(request=request, username=username)
        return response

    return wrapped


login = public(throttled(auth_views.LoginView.as_view(template_name="accounts/login.html")))
# Mounted at /admin/login/ ahead of admin.site.urls (portal/urls.py): the admin's own form would
# otherwise be a second, unthrottled way to guess passwords.
admin_login = public(throttled(admin.site.login))


@public
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    return auth_views.LogoutView.as_view()(request)
