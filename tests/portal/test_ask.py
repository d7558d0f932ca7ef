"""The citizen's ask page: the form, the no-JavaScript path, and what is audited."""

from portal.audit.models import AuditEvent
from tests.portal.factories import PASSPORT_MD, ingest


def test_ask_page_answers_with_the_passage_and_its_source(client, db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    question = {"q": "Must children apply in person for a passport?"}
    response = client.post("/", question, follow=True)  # the form posts: no question in the URL
    body = response.content.decode()
    assert response.status_code == 200
    assert "Children under 16 must apply in person" in body
    assert "Passport renewal" in body
    assert "AI-generated" in body


def test_questions_are_audited_without_their_text(client, db):
    ingest(PASSPORT_MD, filename="passport.md")
    client.post("/", {"q": "my phone is 13812345678, can I renew by mail?"})
    event = AuditEvent.objects.get(action="qa.ask")
    assert "13812345678" not in str(event.detail) and event.actor_role == "citizen"
    assert event.object_type == "answer"


def test_empty_question_shows_the_form(client, db):
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200 and 'name="q"' in body
    assert "qa/ask.js" in body  # the streaming script
