from django.urls import path

from portal.knowledge import views

app_name = "knowledge"
urlpatterns = [
    path("knowledge/", views.documents, name="documents"),
    path("knowledge/<int:pk>/", views.document_detail, name="document_detail"),
    path("knowledge/<int:pk>/delete", views.document_remove, name="document_delete"),
    path("knowledge/<int:pk>/title", views.document_title_edit, name="document_title"),
    path("knowledge/versions/<int:pk>/retry", views.version_retry_view, name="version_retry"),
    path("knowledge/versions/<int:pk>/chunks/", views.version_chunks_view, name="version_chunks"),
    path("knowledge/collections/", views.collections, name="collections"),
    path("knowledge/health/", views.health, name="health"),
]
