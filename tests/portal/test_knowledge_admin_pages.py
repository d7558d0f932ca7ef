"""The knowledge managers' pages: collections, supersede, retry, health, job polling (the API's
job list, which the pages' script polls), and the read-only site administration."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.audit.models import AuditEvent
from portal.knowledge.indexing import indexes_sync
from portal.knowledge.models import (
    Chunk,
    Collection,
    Document,
    DocumentVersion,
    IngestionJob,
    VectorIndex,
)
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
    second, _ = ingest("Benefits are paid monthly.", filename="b.txt", coll=coll)
    jobs = client.get("/api/v1/jobs", {"ids": [first.job.pk]}).json()
    assert [j["id"] for j in jobs] == [first.job.pk]
    assert jobs[0]["status"] == "done" and jobs[0]["progress_done"] == jobs[0]["progress_total"]
    both = client.get("/api/v1/jobs", {"ids": [first.job.pk, second.job.pk]}).json()
    assert {j["id"] for j in both} == {first.job.pk, second.job.pk}
    assert len(client.get("/api/v1/jobs").json()) == 2
    # The pages' script finds the route in the page, not hard-coded.
    page = client.get(f"/knowledge/{first.version.document_id}/").content.decode()
    assert 'data-jobs-url="/api/v1/jobs"' in page


def test_documents_page_filters_by_collection_and_offers_drag_and_drop(client, make_user):
    client.force_login(make_user("admin"))
    ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    ingest("Benefits are paid monthly.", filename="b.txt", coll=collection("benefits"))
    body = client.get("/knowledge/", {"collection": "benefits"}).content.decode()
    assert "Passports" not in body and 'data-slug="benefits"' in body
    assert 'id="dropzone"' in body and "multiple" in body


# -- the site administration: read-only, or through the knowledge services ---------------------


@pytest.fixture
def admins(make_user, django_user_model):
    """A knowledge manager (the admin role) and a superuser, who holds every model permission."""
    root = django_user_model.objects.create_superuser(
        username="root", password="a-long-test-password-1"
    )
    return [make_user("admin"), root]


def test_the_admin_cannot_add_change_or_delete_knowledge_rows(client, admins):
    result, _ = ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    version = result.version
    document = version.document
    chunk = Chunk.objects.filter(version=version).first()
    rows = {
        "document": document,
        "documentversion": version,
        "chunk": chunk,
        "ingestionjob": version.job,
        "vectorindex": VectorIndex.objects.first(),
    }
    for user in admins:
        client.force_login(user)
        for model, row in rows.items():
            base = f"/admin/knowledge/{model}/"
            assert client.get(base).status_code == 200, (user, model)  # they may look
            assert client.get(f"{base}add/").status_code == 403, (user, model)
            if row is None:
                continue
            assert client.get(f"{base}{row.pk}/delete/").status_code == 403, (user, model)
            page = client.get(f"{base}{row.pk}/change/")
            assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        assert client.get("/admin/knowledge/collection/add/").status_code == 403
        # A direct post is refused too, and changes nothing.
        changed = client.post(
            f"/admin/knowledge/documentversion/{version.pk}/change/",
            {"effective_from": "2001-01-01", "status": "failed", "number": 7},
        )
        assert changed.status_code == 403
        deleted = client.post(f"/admin/knowledge/document/{document.pk}/delete/", {"post": "yes"})
        assert deleted.status_code == 403
        bulk = client.post(
            "/admin/knowledge/chunk/",
            {"action": "delete_selected", "_selected_action": [chunk.pk], "post": "yes"},
        )
        assert bulk.status_code in (200, 302)  # "no such action": the changelist again
    version.refresh_from_db()
    assert (version.number, version.status) == (1, "done")
    assert str(version.effective_from) != "2001-01-01"
    assert Chunk.objects.filter(pk=chunk.pk).exists()
    assert Document.objects.get(pk=document.pk).deleted_at is None


def test_removing_a_document_in_the_admin_goes_through_the_delete_service(
    client, make_user, django_capture_on_commit_callbacks
):
    admin = make_user("admin")
    result, _ = ingest(PASSPORT_MD, filename="passport.md", title="Passports")
    document = result.version.document
    client.force_login(admin)
    page = client.get(f"/admin/knowledge/document/{document.pk}/change/").content.decode()
    assert f'href="/knowledge/{document.pk}/"' in page  # the portal's page for the real work
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/admin/knowledge/document/",
            {"action": "remove_from_answers", "_selected_action": [document.pk]},
        )
    assert response.status_code == 302
    document.refresh_from_db()
    # A soft delete as on the documents page: the versions stay for old citations, the trail
    # has it, and the index sync is queued.
    assert document.deleted_at is not None and document.versions.count() == 1
    event = AuditEvent.objects.get(action="knowledge.delete")
    assert (event.object_id, event.actor_id) == (str(document.pk), admin.pk)
    assert len(callbacks) == 1


def test_a_collections_groups_are_changed_through_the_service(client, make_user):
    from django.contrib.auth.models import Group

    coll = collection("clinic")
    team = Group.objects.create(name="clinic-team")
    client.force_login(make_user("admin"))
    response = client.post(
        f"/admin/knowledge/collection/{coll.pk}/change/",
        {
            "name": "Clinic leaflets",
            "slug": "renamed",  # read-only here: links and API clients use it
            "description": "",
            "languages": '["zh"]',
            "audience": "groups",
            "groups": [team.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    coll.refresh_from_db()
    assert coll.slug == "clinic" and coll.audience == "groups" and coll.name == "Clinic leaflets"
    assert coll.languages == ["zh"] and list(coll.groups.all()) == [team]
    event = AuditEvent.objects.get(action="knowledge.collection_update")
    fields = ["audience", "groups", "languages", "name"]
    assert event.detail == {"fields": fields, "audience": "groups"}
