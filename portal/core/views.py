from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from django.views.i18n import set_language as django_set_language

from portal.core.access import public

set_language = public(django_set_language)


@public
@require_GET
def live(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Readiness checks come with the deployment issue."""
    return HttpResponse("ok", content_type="text/plain")
