from django.urls import path

from portal.drafting import views

app_name = "drafting"
urlpatterns = [
    path("", views.draft_list, name="list"),
    path("new", views.draft_new, name="new"),
    path("<uuid:public_id>/", views.draft_detail, name="detail"),
    path("<uuid:public_id>/export.docx", views.draft_export, name="export"),
]
