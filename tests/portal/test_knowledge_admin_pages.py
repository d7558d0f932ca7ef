"""The knowledge managers' pages: collections, supersede, retry, health, and job polling."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from portal.audit.models import AuditEvent
from portal.knowledge.indexing import indexes_sync
from portal.knowledge.models import Collection, DocumentVersion, IngestionJob
from portal.knowledge.pipeline import ingestion_run
from tests.portal.factories import PASSPORT_MD, collection, ingest

PASSPORT_V2 = PASSPORT_MD.replace("6 to 8 weeks", "4 to 6 weeks")


def test_admin_creates_a_collection_and_sees_it_listed(client, make_user):
    client.force_login(make_user("admin"))
    response = client.post(
        "/knowledge/collections/",
        {"name": "Clinic leaflets", "slug": "clinic", "audience": "staff", "languages": ["zh"]},
    )
    assert response.status_code == 302
    created = Collection.objects.get(slug="clinic")
    assert created.audience == "staff" and created.languages == ["zh"]
    assert AuditEvent.objects.filter(action="knowledge.collection_create").exists()
    body = client.get("/knowledge/collections/").content.decode()
    assert "Clinic leaflets" in body and "Staff only" in body
    # A taken short name is refused with the form's error, not a crash.
    again = client.post("/knowledge/collections/", {"name": "X", "slug": "clinic"})
    assert again.status_code == 200 and Collection.objects.filter(slug="clinic").count() == 1


def test_new_version_supersedes_the_old_one_on_the_document_page(
    client, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("admin"))
    result, _ = ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    document = result.version.document
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            f"/knowledge/{document.pk}/",
            {"file": SimpleUploadedFile("passport-2026.md", PASSPORT_V2.encode())},
        )
    assert response.status_code == 302
    v2 = DocumentVersion.objects.get(document=document, number=2)
    ingestion_run(job_id=v2.job.pk)
    body = client.get(f"/knowledge/{document.pk}/").content.decode()
    assert "Version 2" in body and "Version 1" in body
    # Only the newest version in effect is marked as used for answers.
    assert body.count("in use for answers") == 1
    assert body.index("Version 2") < body.index("in use for answers") < body.index("Version 1")


def test_failed_version_can_be_retried(client, make_user, django_capture_on_commit_callbacks):
    client.force_login(make_user("admin"))
    result, _ = ingest("%PDF-1.7 this is not really a pdf", filename="broken.pdf")
    job = IngestionJob.objects.get(version=result.version)
    assert job.status == "failed"
    assert "Try again" in client.get(f"/knowledge/{result.version.document_id}/").content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/knowledge/versions/{result.version.pk}/retry")
    assert response.status_code == 302 and len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == "queued"


def test_health_page_reports_indexes_in_step_and_failures(client, make_user):
    client.force_login(make_user("admin"))
    ingest(PASSPORT_MD, filename="passport.md")
    indexes_sync()
    body = client.get("/knowledge/health/").content.decode()
    assert "Every index holds exactly the passages in use" in body
    assert body.count('class="index-check"') >= 2  # the dense model and BM25
    ingest("%PDF-1.7 not a pdf", filename="broken.pdf")
    body = client.get("/knowledge/health/").content.decode()
    assert "broken" in body and "Recent failures" in body


def test_jobs_api_narrows_to_the_ids_asked_for(client, make_user):
    client.force_login(make_user("admin"))
    coll = collection()
    first, _ = ingest(PASSPORT_MD, filename="a.md", coll=coll)
    ingest("Benefits are paid monthly.", filename="b.txt", coll=coll)
    data = client.get("/api/knowledge/jobs", {"ids": str(first.job.pk)}).json()
    assert [j["id"] for j in data["jobs"]] == [first.job.pk]
    assert data["jobs"][0]["status"] == "done"
    assert data["jobs"][0]["document_id"] == first.version.document_id
    assert len(client.get("/api/knowledge/jobs").json()["jobs"]) == 2


def test_documents_page_filters_by_collection_and_offers_drag_and_drop(client, make_user):
    client.force_login(make_user("admin"))
    ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    ingest("Benefits are paid monthly.", filename="b.txt", coll=collection("benefits"))
    body = client.get("/knowledge/", {"collection": "benefits"}).content.decode()
    assert "Passports" not in body and 'data-slug="benefits"' in body
    assert 'id="dropzone"' in body and "multiple" in body
