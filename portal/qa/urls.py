from django.urls import path

from portal.qa import views

app_name = "qa"
urlpatterns = [
    path("", views.ask, name="ask"),
    path("a/<uuid:public_id>/", views.answer, name="answer"),
    path("documents/<int:document_id>/", views.source_document, name="source_document"),
    path("documents/<int:document_id>/v<int:number>/file", views.source_file, name="source_file"),
    # Knowledge managers: what retrieval returns for a question, as a chosen role (issue 23).
    path("knowledge/retrieval-test/", views.retrieval_test, name="retrieval_test"),
    # Knowledge managers: published answers whose cited sources changed since (issue 23).
    path("knowledge/changed-sources/", views.changed_sources, name="changed_sources"),
]
