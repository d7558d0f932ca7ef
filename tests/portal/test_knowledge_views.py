"""The admin's knowledge pages and the API's upload (which the documents page's script uses) call
the same services as the command."""

import io

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile

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
            "/api/v1/documents", {"collection": "public-services", "files": files}
        )
    assert response.status_code == 201
    results = response.json()["results"]
    assert results[0]["ok"] and results[0]["job_id"]
    # The traversal name is reduced to a safe base name, never a path.
    stored = DocumentVersion.objects.get(
        document_id=results[1]["document_id"], number=results[1]["version"]
    )
    assert stored.original_filename == "passwd" and "/etc/" not in stored.file.name
    assert len(callbacks) == 2
    assert AuditEvent.objects.filter(action="knowledge.upload").count() == 2


def test_upload_api_rejects_unknown_collection(client, make_user):
    client.force_login(make_user("admin"))
    files = [SimpleUploadedFile("a.md", PASSPORT_MD.encode())]
    response = client.post("/api/v1/documents", {"collection": "nope", "files": files})
    assert response.status_code == 400 and "nope" in response.json()["detail"]
    assert client.post("/api/v1/documents", {"collection": "nope"}).status_code == 422


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


@pytest.mark.parametrize("path", ["/api/v1/documents", "/knowledge/"])
def test_an_oversized_upload_is_refused_without_reading_it(
    client, make_user, settings, monkeypatch, path
):
    # The old upload view read whole files into memory before checking their size. Both HTTP
    # surfaces now refuse a file over the cap on its size, before a byte of it is loaded.
    reads = []
    for name in ("read", "chunks"):
        real = getattr(InMemoryUploadedFile, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            reads.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(InMemoryUploadedFile, name, spy)
    client.force_login(make_user("admin"))
    coll = collection()
    settings.UPLOAD_MAX_BYTES = 1024
    big = io.BytesIO(b"x" * 4096)  # not an UploadedFile: the test client's own read is no read
    big.name = "big.md"
    form = {"collection": coll.slug if path.startswith("/api/") else coll.pk, "files": [big]}
    response = client.post(path, form)
    assert response.status_code in (200, 302)
    assert reads == []
    assert not DocumentVersion.objects.exists()
    failed = AuditEvent.objects.get(action="knowledge.upload", outcome="failed")
    assert failed.detail == {"error_code": "too_large"}


def test_an_upload_within_the_cap_is_read_whole(db, settings):
    from portal.knowledge.services import document_upload_file

    settings.UPLOAD_MAX_BYTES = 200_000
    data = (PASSPORT_MD * 50).encode()[:150_000]  # several of Django's 64 KiB chunks
    result = document_upload_file(
        collection=collection(), upload=SimpleUploadedFile("long.md", data), enqueue=False
    )
    assert result.ok and result.version.size_bytes == len(data)
    assert result.version.file.read() == data
