"""The /api/v1/ API: token and session authentication, CSRF, the schema and docs page, and each
endpoint against the same services as the portal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

from portal.api.models import ApiToken
from portal.api.services import api_token_create, api_token_revoke
from portal.audit.models import AuditEvent
from portal.knowledge.models import Audience, Document
from portal.qa.models import Answer, AnswerStatus
from portal.qa.services import answer_run
from tests.portal.factories import PASSPORT_MD, STAFF_MD, collection, ingest
from tests.streams import stream_bytes

QUESTION = "How long does passport renewal by mail take?"


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    ingest(
        STAFF_MD,
        filename="triage.md",
        coll=collection("internal", audience=Audience.STAFF),
        title="Internal triage protocol",
    )


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _sse(body: bytes) -> list[dict]:
    events = []
    for block in body.decode().split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data:
            events.append(json.loads(data[0]))
    return events


# -- schema and docs ------------------------------------------------------------------------------


def test_openapi_schema_lists_every_endpoint(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    paths = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    expected = {
        ("/api/v1/ask", "post"),
        ("/api/v1/ask/stream", "post"),
        ("/api/v1/answers/{answer_id}", "get"),
        ("/api/v1/collections", "get"),
        ("/api/v1/documents", "get"),
        ("/api/v1/documents", "post"),
        ("/api/v1/documents/{document_id}", "get"),
        ("/api/v1/documents/{document_id}", "delete"),
        ("/api/v1/documents/{document_id}/versions", "get"),
        ("/api/v1/jobs", "get"),
        ("/api/v1/jobs/{job_id}", "get"),
        ("/api/v1/review/queue", "get"),
        ("/api/v1/review/{answer_id}/approve", "post"),
        ("/api/v1/review/{answer_id}/edit", "post"),
        ("/api/v1/review/{answer_id}/reject", "post"),
        ("/api/v1/audit/export", "get"),
        ("/api/v1/drafting/templates", "get"),
        ("/api/v1/drafts", "get"),
        ("/api/v1/drafts", "post"),
        ("/api/v1/drafts/{draft_id}", "get"),
        ("/api/v1/drafts/{draft_id}", "patch"),
        ("/api/v1/drafts/{draft_id}/export.docx", "get"),
    }
    assert expected <= paths, expected - paths
    schemes = schema["components"]["securitySchemes"].values()
    assert {"type": "http", "scheme": "bearer"} in list(schemes)
    stream = schema["paths"]["/api/v1/ask/stream"]["post"]["responses"]["200"]
    assert "text/event-stream" in stream["content"]


def test_docs_page_needs_no_internet(client, db):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    body = page.content.decode()
    assert "cdn." not in body and "https://" not in body
    assert "/static/ninja/swagger-ui-bundle.js" in body
    assert finders.find("ninja/swagger-ui-bundle.js")  # shipped in the wheel, collectstatic'd
    assert "script-src 'self'" in page["Content-Security-Policy"]


# -- tokens ----------------------------------------------------------------------------------


def test_token_command_prints_the_token_once_and_stores_only_its_hash(make_user):
    admin = make_user("admin", username="ops")
    out = io.StringIO()
    call_command("api_token", "create", "ops", "--name", "nightly export", stdout=out)
    secret = out.getvalue().strip()
    token = ApiToken.objects.get(owner=admin)
    assert secret.startswith("ca_") and len(secret) > 40
    assert token.name == "nightly export" and token.prefix == secret[:12]
    assert secret not in token.token_hash
    assert AuditEvent.objects.filter(action="api.token_create").exists()
    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert token.prefix in listing.getvalue() and secret not in listing.getvalue()


def test_token_acts_as_its_owner_until_revoked(client, knowledge, make_user):
    admin = make_user("admin")
    issued = api_token_create(owner=admin, name="svc")
    response = client.get("/api/v1/documents", **bearer(issued.secret))
    assert response.status_code == 200
    assert {d["title"] for d in response.json()} >= {"Passport renewal"}
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None

    api_token_revoke(token=issued.token)
    assert client.get("/api/v1/documents", **bearer(issued.secret)).status_code == 401


def test_a_bad_token_is_refused_even_on_public_routes(client, db):
    assert client.get("/api/v1/collections", **bearer("ca_not-a-token")).status_code == 401
    assert client.get("/api/v1/collections", HTTP_AUTHORIZATION="Basic abc").status_code == 401
    assert client.get("/api/v1/collections").status_code == 200  # no credentials: a citizen


def test_a_token_has_its_owners_permissions_only(client, knowledge, make_user):
    staff_token = api_token_create(owner=make_user("staff"), name="svc").secret
    assert client.get("/api/v1/documents", **bearer(staff_token)).status_code == 403
    assert client.get("/api/v1/audit/export", **bearer(staff_token)).status_code == 403
    slugs = {c["slug"] for c in client.get("/api/v1/collections", **bearer(staff_token)).json()}
    assert slugs == {"public-services", "internal"}


def test_token_for_an_inactive_user_is_refused(client, db, make_user):
    user = make_user("admin")
    secret = api_token_create(owner=user, name="svc").secret
    user.is_active = False
    user.save()
    assert client.get("/api/v1/documents", **bearer(secret)).status_code == 401


# -- session and CSRF ------------------------------------------------------------------------------


def test_session_callers_must_send_the_csrf_token_on_unsafe_methods(knowledge, make_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("staff"))
    assert browser.get("/api/v1/collections").status_code == 200  # safe methods need none
    body = {"question": QUESTION}
    refused = browser.post("/api/v1/ask", body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    browser.get("/")  # any page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    allowed = browser.post(
        "/api/v1/ask", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert allowed.status_code == 200 and allowed.json()["status"] == "answered"


def test_token_callers_need_no_csrf_token(knowledge, make_user):
    service = Client(enforce_csrf_checks=True)
    secret = api_token_create(owner=make_user("staff"), name="svc").secret
    response = service.post(
        "/api/v1/ask", {"question": QUESTION}, content_type="application/json", **bearer(secret)
    )
    assert response.status_code == 200
    answer = Answer.objects.get(public_id=response.json()["answer_id"])
    assert answer.asked_by is not None and answer.asker_role == "staff"


def test_anonymous_citizens_ask_without_a_session(knowledge):
    citizen = Client(enforce_csrf_checks=True)
    response = citizen.post("/api/v1/ask", {"question": QUESTION}, content_type="application/json")
    assert response.status_code == 200


# -- asking --------------------------------------------------------------------------------------


def test_ask_returns_a_cited_answer_readable_at_its_status_url(client, knowledge):
    data = client.post(
        "/api/v1/ask", {"question": QUESTION}, content_type="application/json"
    ).json()
    assert data["status"] == "answered" and data["ai_generated"] is True
    label = data["sentences"][0]["citations"][0]
    assert data["citations"][label]["document"] == "Passport renewal"
    again = client.get(f"/api/v1/answers/{data['answer_id']}").json()
    assert again == data
    event = AuditEvent.objects.filter(action="qa.ask").latest("seq")
    assert event.detail["via"] == "api"
    assert client.get("/api/v1/answers/00000000-0000-0000-0000-000000000000").status_code == 404


def test_ask_validates_its_input(client, db):
    assert client.post("/api/v1/ask", {}, content_type="application/json").status_code == 422
    long = {"question": "x" * 5000}
    assert client.post("/api/v1/ask", long, content_type="application/json").status_code == 422


def test_ask_stream_sends_verified_sentences_then_done(client, knowledge):
    response = client.post(
        "/api/v1/ask/stream", {"question": QUESTION}, content_type="application/json"
    )
    assert response["Content-Type"].startswith("text/event-stream")
    events = _sse(stream_bytes(response))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.index("sentence") < kinds.index("done")
    assert events[-1]["status"] == "answered" and events[-1]["citations"]


def test_citizens_never_get_staff_passages(client, knowledge):
    slugs = {c["slug"] for c in client.get("/api/v1/collections").json()}
    assert slugs == {"public-services"}
    data = client.post(
        "/api/v1/ask",
        {"question": "When do caseworkers escalate an appeal?", "collections": ["internal"]},
        content_type="application/json",
    ).json()
    assert data["status"] == "refused" and data["citations"] == {}


# -- documents -----------------------------------------------------------------------------------


def test_document_upload_status_versions_and_delete(client, knowledge, make_user, settings):
    secret = api_token_create(owner=make_user("admin"), name="svc").secret
    auth = bearer(secret)
    upload = io.BytesIO(b"# Fees\n\nA fee of $10 applies.")
    upload.name = "fees.md"
    second = client.post(
        "/api/v1/documents",
        {"collection": "public-services", "files": [upload], "effective_from": "2026-01-01"},
        **auth,
    )
    new = second.json()["results"][0]
    assert second.status_code == 201 and new["filename"] == "fees.md"

    same = io.BytesIO(b"# Fees\n\nA fee of $10 applies.")
    same.name = "fees.md"
    dup = client.post(
        "/api/v1/documents", {"collection": "public-services", "files": [same]}, **auth
    ).json()["results"][0]
    assert dup["ok"] and dup["job_id"] is None and dup["duplicate_of_document_id"]

    settings.UPLOAD_MAX_BYTES = 1024
    big = io.BytesIO(b"x" * 4096)
    big.name = "big.txt"
    too_big = client.post(
        "/api/v1/documents", {"collection": "public-services", "files": [big]}, **auth
    ).json()["results"][0]
    assert not too_big["ok"] and too_big["error_code"] == "too_large"

    missing = client.post("/api/v1/documents", {"collection": "nope", "files": [big]}, **auth)
    assert missing.status_code == 400

    doc_id = new["document_id"]
    status = client.get(f"/api/v1/documents/{doc_id}", **auth).json()
    assert status["versions"][0]["job"]["status"] == "queued"
    assert status["versions"][0]["effective_from"] == "2026-01-01"
    job = client.get(f"/api/v1/jobs/{new['job_id']}", **auth).json()
    assert job["status"] == "queued" and job["progress_done"] == 0
    versions = client.get(f"/api/v1/documents/{doc_id}/versions", **auth).json()
    assert [v["number"] for v in versions] == [1]

    assert client.delete(f"/api/v1/documents/{doc_id}", **auth).status_code == 204
    assert Document.objects.get(pk=doc_id).deleted_at is not None
    assert client.delete(f"/api/v1/documents/{doc_id}", **auth).status_code == 404
    listed = client.get("/api/v1/documents", **auth).json()
    assert doc_id not in {d["id"] for d in listed}
    assert AuditEvent.objects.filter(action="knowledge.delete", object_id=str(doc_id)).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_upload_through_the_api_reaches_done(client, celery_worker_process, make_user):
    from tests.conftest import wait_for

    collection()
    secret = api_token_create(owner=make_user("admin"), name="svc").secret
    upload = io.BytesIO(PASSPORT_MD.encode())
    upload.name = "passport.md"
    response = client.post(
        "/api/v1/documents",
        {"collection": "public-services", "files": [upload]},
        **bearer(secret),
    )
    assert response.status_code == 201
    doc_id = response.json()["results"][0]["document_id"]

    def done():
        version = client.get(f"/api/v1/documents/{doc_id}", **bearer(secret)).json()["versions"][0]
        job = version["job"]
        return version if job["status"] in ("done", "failed") else None

    version = wait_for(done, timeout=90, what="ingestion through the worker")
    assert version["job"]["status"] == "done", version["job"]["error_message"]
    assert version["status"] == "done" and version["live"]
    assert version["job"]["progress_done"] == version["job"]["progress_total"] > 0


# -- review --------------------------------------------------------------------------------------


def _held() -> Answer:
    answer = answer_run(question=QUESTION).answer
    answer.status = AnswerStatus.HELD  # as the router does for a held category
    answer.save(update_fields=["status"])
    return answer


def test_review_queue_and_actions(client, knowledge, make_user):
    first, second, third = _held(), _held(), _held()
    client.force_login(make_user("reviewer"))
    queue = client.get("/api/v1/review/queue").json()
    assert {q["answer_id"] for q in queue} == {str(a.public_id) for a in (first, second, third)}

    approved = client.post(f"/api/v1/review/{first.public_id}/approve")
    assert approved.json() == {"answer_id": str(first.public_id), "status": "answered"}
    again = client.post(f"/api/v1/review/{first.public_id}/approve")
    assert again.status_code == 409

    bad = client.post(
        f"/api/v1/review/{second.public_id}/edit",
        {"text": "Mail renewal takes 2 weeks [1]."},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["saved"] is False
    assert "number not in the cited passage: 2" in bad.json()["checks"][0]["problems"]
    good = client.post(
        f"/api/v1/review/{second.public_id}/edit",
        {"text": "Renewal by mail takes 6 to 8 weeks [1].", "reason": "shorter"},
        content_type="application/json",
    )
    assert good.status_code == 200 and good.json()["status"] == "answered"

    no_reason = client.post(
        f"/api/v1/review/{third.public_id}/reject", {}, content_type="application/json"
    )
    assert no_reason.status_code == 422
    rejected = client.post(
        f"/api/v1/review/{third.public_id}/reject",
        {"reason": "outdated"},
        content_type="application/json",
    )
    assert rejected.json()["status"] == "rejected"
    assert client.get("/api/v1/review/queue").json() == []
    nobody = "00000000-0000-0000-0000-000000000000"
    assert client.post(f"/api/v1/review/{nobody}/approve").status_code == 404


# -- audit export --------------------------------------------------------------------------------


def test_audit_export_streams_csv_and_jsonl_and_is_audited(client, knowledge, make_user):
    client.force_login(make_user("admin"))
    csv_response = client.get("/api/v1/audit/export", {"format": "csv", "action": "knowledge."})
    assert csv_response["Content-Type"].startswith("text/csv")
    lines = b"".join(csv_response.streaming_content).decode().splitlines()
    assert lines[0].startswith("seq,") and len(lines) > 1
    assert all("knowledge." in line for line in lines[1:])
    jsonl = client.get("/api/v1/audit/export", {"format": "jsonl"})
    rows = [json.loads(line) for line in b"".join(jsonl.streaming_content).splitlines()]
    assert rows and {"action", "hash"} <= set(rows[0])
    exports = AuditEvent.objects.filter(action="audit.export")
    assert exports.count() == 2 and exports.first().detail["via"] == "api"
    assert client.get("/api/v1/audit/export", {"format": "xml"}).status_code == 422
    assert client.get("/api/v1/audit/export", {"since": "not-a-date"}).status_code == 400


def test_readme_documents_the_api(db):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "## API" in readme and "/api/v1/docs" in readme


# -- limits and query counts ---------------------------------------------------------------------


def test_api_questions_share_the_ask_budget(client, knowledge, settings):
    from django.core.cache import cache

    settings.RATE_LIMIT_ASK_PER_MINUTE = 2
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 10
    cache.clear()
    try:
        body = {"question": QUESTION}
        statuses = [
            client.post("/api/v1/ask", body, content_type="application/json").status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        refused = client.post("/api/v1/ask/stream", body, content_type="application/json")
        assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    finally:
        cache.clear()


def test_document_list_queries_do_not_grow_with_documents(client, knowledge, make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(make_user("admin"))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/documents").status_code == 200
        return len(queries)

    before = count()
    for n in range(3):
        ingest(f"# Notice {n}\n\nOffice {n} opens at 9 am.", filename=f"n{n}.md")
    assert count() == before
