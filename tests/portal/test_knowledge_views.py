"""The admin's knowledge pages and upload API call the same services as the command."""

from django.core.files.uploadedfile import SimpleUploadedFile

from portal.audit.models import AuditEvent
from portal.knowledge.models import DocumentVersion
from tests.portal.factories import PASSPORT_MD, collection, ingest


def test_upload_api_queues_good_files_and_explains_bad_ones(
    client, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("admin"))
    collection()
    files = [
        SimpleUploadedFile("passport.md", PASSPORT_MD.encode()),
        SimpleUploadedFile("../../etc/passwd", b"root:x:0:0"),
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/knowledge/documents", {"collection": "public-services", "files": files}
        )
    assert response.status_code == 201
    results = response.json()["results"]
    assert results[0]["ok"] and results[0]["job_id"]
    # The traversal name is reduced to a safe base name, never a path.
    stored = DocumentVersion.objects.get(pk=results[1]["version_id"])
    assert stored.original_filename == "passwd" and "/etc/" not in stored.file.name
    assert len(callbacks) == 2
    assert AuditEvent.objects.filter(action="knowledge.upload").count() == 2


def test_upload_api_rejects_unknown_collection(client, make_user):
    client.force_login(make_user("admin"))
    response = client.post("/api/knowledge/documents", {"collection": "nope"})
    assert response.status_code == 400


def test_document_page_shows_versions_and_the_ingestion_log(client, make_user):
    client.force_login(make_user("admin"))
    result, _ = ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    body = client.get(f"/knowledge/{result.version.document.pk}/").content.decode()
    assert "Version 1" in body and "chunks" in body and "parse" in body


def test_ui_upload_of_several_files(client, make_user, django_capture_on_commit_callbacks):
    client.force_login(make_user("admin"))
    coll = collection()
    files = [
        SimpleUploadedFile("a.md", PASSPORT_MD.encode()),
        SimpleUploadedFile("b.txt", b"Benefits are paid monthly."),
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/knowledge/", {"collection": coll.pk, "files": files})
    assert response.status_code == 302 and len(callbacks) == 2
    assert DocumentVersion.objects.filter(document__collection=coll).count() == 2
