"""The citizen's ask page: passages with their sources, and an honest note about answers."""

from portal.audit.models import AuditEvent
from tests.portal.factories import PASSPORT_MD, ingest


def test_ask_page_shows_matching_passages_and_says_answers_are_not_generated(client, db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    response = client.get("/", {"q": "Can my 12-year-old renew a passport by mail?"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Written answers are not available yet" in body
    assert "Children under 16 must apply in person" in body
    assert "Passport renewal" in body


def test_ask_api_returns_passages_with_citation_fields(client, db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    data = client.get("/api/ask", {"q": "how long does mail renewal take"}).json()
    assert data["mode"] == "passages_only"
    first = data["passages"][0]
    assert {"chunk_id", "document", "version", "section", "effective_from"} <= set(first)


def test_questions_are_audited_without_their_text(client, db):
    ingest(PASSPORT_MD, filename="passport.md")
    client.get("/", {"q": "my phone is 13812345678, can I renew by mail?"})
    event = AuditEvent.objects.get(action="qa.ask")
    assert "13812345678" not in str(event.detail) and event.actor_role == "citizen"


def test_empty_question_shows_the_form(client, db):
    response = client.get("/")
    assert response.status_code == 200 and 'name="q"' in response.content.decode()
