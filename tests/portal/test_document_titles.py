"""Titles from the document itself, editable by admins; uploads whose extension contradicts
their content are refused (issue 23)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.api.services import api_token_create
from portal.audit.models import AuditEvent
from portal.knowledge.models import Document, DocumentVersion
from portal.knowledge.pipeline import ingestion_run
from portal.knowledge.services import (
    DocumentTitleError,
    document_title_update,
    document_upload,
)
from tests.portal.factories import collection, ingest

PERMIT_MD = """# Riverton Parking Permits

## Who may apply

Residents of Riverton with a registered vehicle may apply for a yearly permit. It costs $40.
"""
PERMIT_V2 = PERMIT_MD.replace("# Riverton Parking Permits", "# Riverton Parking Permits 2026")
PAGE_AS_DOCX = b"<!doctype html><html><body><h1>Notice</h1><p>Not a Word file.</p></body></html>"


@pytest.fixture
def admin_auth(make_user) -> dict:
    secret = api_token_create(owner=make_user("admin"), name="svc").secret
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_an_untitled_upload_takes_the_documents_own_title_after_parsing(db):
    result, outcome = ingest(PERMIT_MD, filename="riverton_parking_permit.md")
    # The upload only had the file name to go by; parsing found the document's title.
    assert result.version.document.title == "riverton parking permit"
    assert outcome.status == "done"
    document = Document.objects.get(pk=result.version.document_id)
    assert document.title == "Riverton Parking Permits"
    job = result.version.job
    job.refresh_from_db()
    assert any("title taken from the document" in line["message"] for line in job.log)


def test_a_title_the_uploader_gave_is_kept(db):
    result, _ = ingest(PERMIT_MD, filename="permit.md", title="Parking permits (Riverton)")
    assert Document.objects.get(pk=result.version.document_id).title == (
        "Parking permits (Riverton)"
    )


def test_the_same_file_name_adds_a_version_and_follows_the_newest_title(db):
    first, _ = ingest(PERMIT_MD, filename="riverton_parking_permit.md")
    second, _ = ingest(PERMIT_V2, filename="riverton_parking_permit.md")
    # Still one document, though its title is no longer the file name's.
    assert second.version.document_id == first.version.document_id
    assert second.version.number == 2
    document = Document.objects.get(pk=first.version.document_id)
    assert document.title == "Riverton Parking Permits 2026"


def test_an_admins_title_survives_new_versions(db, make_user):
    admin = make_user("admin")
    first, _ = ingest(PERMIT_MD, filename="riverton_parking_permit.md")
    document = Document.objects.get(pk=first.version.document_id)
    document_title_update(document=document, title="  Parking in  Riverton ", user=admin)
    assert document.title == "Parking in Riverton"
    event = AuditEvent.objects.get(action="knowledge.document_title_update")
    assert event.object_id == str(document.pk) and event.detail == {
        "collection_id": document.collection_id
    }
    assert "Riverton" not in str(event.detail)  # titles stay out of the trail
    result = document_upload(
        collection=document.collection,
        data=PERMIT_V2.encode(),
        filename="riverton_parking_permit_2026.md",
        document=document,
        enqueue=False,
    )
    ingestion_run(job_id=result.job.pk)
    document.refresh_from_db()
    assert document.title == "Parking in Riverton"


def test_a_declared_title_another_document_has_leaves_the_file_name_title(db):
    ingest("# Other\n\nText about fees.", filename="other.md", title="Riverton Parking Permits")
    result, outcome = ingest(PERMIT_MD, filename="permit.md")
    assert outcome.status == "done"
    assert Document.objects.get(pk=result.version.document_id).title == "permit"


def test_title_update_refuses_blank_and_taken_titles(db):
    a, _ = ingest(PERMIT_MD, filename="a.md", title="A")
    ingest("# B\n\nOther text.", filename="b.md", title="B")
    document = Document.objects.get(pk=a.version.document_id)
    with pytest.raises(DocumentTitleError):
        document_title_update(document=document, title="   ")
    with pytest.raises(DocumentTitleError):
        document_title_update(document=document, title="B")
    assert Document.objects.get(pk=document.pk).title == "A"
    assert not AuditEvent.objects.filter(action="knowledge.document_title_update").exists()


def test_admin_renames_a_document_on_its_page(client, make_user):
    client.force_login(make_user("admin"))
    result, _ = ingest(PERMIT_MD, filename="permit.md")
    pk = result.version.document_id
    page = client.get(f"/knowledge/{pk}/").content.decode()
    assert f'action="/knowledge/{pk}/title"' in page and 'value="Riverton Parking Permits"' in page
    response = client.post(f"/knowledge/{pk}/title", {"title": "Riverton permits"})
    assert response.status_code == 302
    assert Document.objects.get(pk=pk).title == "Riverton permits"
    assert AuditEvent.objects.filter(
        action="knowledge.document_title_update", object_id=str(pk)
    ).exists()
    ingest("# B\n\nOther text.", filename="b.md", title="Taken")
    refused = client.post(f"/knowledge/{pk}/title", {"title": "Taken"}, follow=True)
    assert "already has this title" in refused.content.decode()
    assert Document.objects.get(pk=pk).title == "Riverton permits"


def test_only_knowledge_managers_rename(client, make_user):
    result, _ = ingest(PERMIT_MD, filename="permit.md")
    pk = result.version.document_id
    client.force_login(make_user("reviewer"))
    assert client.post(f"/knowledge/{pk}/title", {"title": "X"}).status_code == 403
    assert Document.objects.get(pk=pk).title == "Riverton Parking Permits"


def test_api_patch_renames_and_says_why_it_cannot(client, admin_auth):
    auth = admin_auth
    result, _ = ingest(PERMIT_MD, filename="permit.md")
    pk = result.version.document_id
    renamed = client.patch(
        f"/api/v1/documents/{pk}", {"title": "Permits"}, content_type="application/json", **auth
    )
    assert renamed.status_code == 200 and renamed.json()["title"] == "Permits"
    assert AuditEvent.objects.filter(action="knowledge.document_title_update").count() == 1
    ingest("# B\n\nOther text.", filename="b.md", title="Taken")
    clash = client.patch(
        f"/api/v1/documents/{pk}", {"title": "Taken"}, content_type="application/json", **auth
    )
    assert clash.status_code == 409 and "already has this title" in clash.json()["detail"]
    empty = client.patch(
        f"/api/v1/documents/{pk}", {"title": ""}, content_type="application/json", **auth
    )
    assert empty.status_code == 422
    assert (
        client.patch(
            "/api/v1/documents/999999", {"title": "X"}, content_type="application/json", **auth
        ).status_code
        == 404
    )


def test_a_mismatched_file_is_refused_and_the_others_of_the_upload_are_queued(
    client, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("admin"))
    coll = collection()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/knowledge/",
            {
                "collection": coll.pk,
                "files": [
                    SimpleUploadedFile("notice.docx", PAGE_AS_DOCX),
                    SimpleUploadedFile("permit.md", PERMIT_MD.encode()),
                ],
            },
            follow=True,
        )
    body = response.content.decode()
    assert "notice.docx: The file is named .docx but its content is HTML" in body
    assert "permit.md: queued for ingestion." in body
    assert list(DocumentVersion.objects.values_list("original_filename", flat=True)) == [
        "permit.md"
    ]
    refused = AuditEvent.objects.get(action="knowledge.upload", outcome="failed")
    assert refused.detail == {"error_code": "type_mismatch"}


def test_the_api_upload_reports_the_mismatch_per_file(client, admin_auth):
    collection()
    auth = admin_auth
    bad, good = io.BytesIO(PAGE_AS_DOCX), io.BytesIO(PERMIT_MD.encode())
    bad.name, good.name = "notice.docx", "permit.md"
    results = client.post(
        "/api/v1/documents", {"collection": "public-services", "files": [bad, good]}, **auth
    ).json()["results"]
    assert [r["ok"] for r in results] == [False, True]
    assert results[0]["error_code"] == "type_mismatch" and ".docx" in results[0]["error"]


def test_a_title_the_uploader_gave_is_kept_even_when_it_matches_the_file_name(db):
    # The evaluation titles documents by their ids and names the files after them: a title given
    # at upload is chosen, whatever it looks like, and the content's heading does not replace it.
    result, _ = ingest(PERMIT_MD, filename="permit.md", title="permit")
    document = Document.objects.get(pk=result.version.document_id)
    assert document.title == "permit" and document.title_chosen


def test_an_admin_keeping_the_derived_title_makes_it_chosen(db):
    result, _ = ingest(PERMIT_MD, filename="riverton_parking_permit.md")
    document = Document.objects.get(pk=result.version.document_id)
    assert document.title == "Riverton Parking Permits" and not document.title_chosen
    document_title_update(document=document, title="Riverton Parking Permits")
    ingest(PERMIT_V2, filename="riverton_parking_permit.md")
    document.refresh_from_db()
    assert document.title == "Riverton Parking Permits" and document.title_chosen
