from django.contrib import admin
from django.urls import include, path

from portal.core import views as core_views

urlpatterns = [
    path("", include("portal.qa.urls")),
    path("", include("portal.knowledge.urls")),
    path("accounts/", include("portal.accounts.urls")),
    path("review/", include("portal.review.urls")),  # held answers (reviewers)
    path("audit/", include("portal.audit.urls")),  # audit search and export
    path("evaluation/", include("portal.evaluation.urls")),  # evaluation history (issue 4)
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("health/live", core_views.live, name="health_live"),
    path("admin/", admin.site.urls),
]
