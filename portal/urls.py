from django.contrib import admin
from django.urls import include, path

from portal.accounts import views as accounts_views
from portal.core import views as core_views

urlpatterns = [
    path("", include("portal.qa.urls")),
    path("", include("portal.knowledge.urls")),
    path("accounts/", include("portal.accounts.urls")),
    path("review/", include("portal.review.urls")),  # held answers (reviewers)
    path("audit/", include("portal.audit.urls")),  # audit search and export
    path("evaluation/", include("portal.evaluation.urls")),  # evaluation history (issue 4)
    path("feedback/", include("portal.feedback.urls")),  # answer feedback (issue 7 part 2)
    path("finetune/", include("portal.finetune.urls")),  # adapter registry (issue 8)
    path("api/v1/", include("portal.api.urls")),  # the API, schema and docs (issue 7 part 1)
    path("drafts/", include("portal.drafting.urls")),  # staff drafting workspace (issue 7 part 1)
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("health/live", core_views.live, name="health_live"),
    # -- deployment (issue 9): readiness probe and Prometheus metrics
    path("health/ready", core_views.ready, name="health_ready"),
    path("metrics", core_views.metrics, name="metrics"),
    # Ahead of admin.site.urls, so the admin's sign-in form is throttled like the portal's.
    path("admin/login/", accounts_views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]

# Database / Redis outages answer 503 with Retry-After instead of a 500 page (deployment issue).
# Under /api/ every error is JSON ({"detail": ...}; 413 for a request over the upload limits),
# elsewhere Django's pages (portal/core/api_errors.py).
handler400 = "portal.core.api_errors.bad_request"
handler403 = "portal.core.api_errors.permission_denied"
handler404 = "portal.core.api_errors.page_not_found"
handler500 = "portal.core.api_errors.server_error"
