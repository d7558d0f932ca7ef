"""Reader feedback on answers: anonymous and signed-in readers, CSRF, one revisable vote each."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from portal.audit.models import AuditEvent
from portal.feedback.models import Feedback
from portal.feedback.selectors import feedback_summary
from portal.qa.services import answer_run
from tests.portal.factories import PASSPORT_MD, ingest

QUESTION = "How long does passport renewal by mail take?"


@pytest.fixture
def answer(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    return answer_run(question=QUESTION).answer


def test_answer_page_shows_the_feedback_form(client, answer):
    body = client.get(f"/a/{answer.public_id}/").content.decode()
    assert f'action="/feedback/{answer.public_id}/"' in body
    assert "Was this answer helpful?" in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_anonymous_reader_sends_not_helpful_with_a_reason_and_sees_thanks(client, answer):
    response = client.post(
        f"/feedback/{answer.public_id}/",
        {"helpful": "no", "reason": "unclear", "comment": "Call me on 13812345678 please"},
    )
    assert response.status_code == 302 and response["Location"] == f"/a/{answer.public_id}/"
    row = Feedback.objects.get(answer=answer)
    assert row.helpful is False and row.reason == "unclear"
    # Free text is stored with personal data redacted.
    assert "13812345678" not in row.comment and row.comment
    assert "Thank you" in client.get(response["Location"]).content.decode()
    event = AuditEvent.objects.filter(action="feedback.submit").latest("seq")
    assert event.detail["helpful"] is False and "comment" not in event.detail


def test_a_reader_revises_their_vote_instead_of_adding_one(client, answer):
    url = f"/feedback/{answer.public_id}/"
    client.post(url, {"helpful": "no", "reason": "incorrect"})
    client.post(url, {"helpful": "yes", "reason": "incorrect"})
    row = Feedback.objects.get(answer=answer)
    assert row.helpful is True and row.reason == ""  # a reason only qualifies "not helpful"
    Client().post(url, {"helpful": "no"})  # another reader (another session)
    assert Feedback.objects.filter(answer=answer).count() == 2
    assert feedback_summary(answer_id=answer.pk) == {"helpful": 1, "not_helpful": 1}


def test_json_clients_get_json_and_bad_input_is_rejected(client, answer):
    url = f"/feedback/{answer.public_id}/"
    ok = client.post(url, {"helpful": "yes"}, HTTP_ACCEPT="application/json")
    assert ok.status_code == 200 and ok.json()["ok"] is True
    bad = client.post(url, {"helpful": "maybe"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and "helpful" in bad.json()["errors"]
    assert client.post(url, {"helpful": "no", "reason": "nonsense"}).status_code == 302
    assert Feedback.objects.get(answer=answer).helpful is True


def test_feedback_needs_a_csrf_token(answer):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"/feedback/{answer.public_id}/", {"helpful": "yes"})
    assert response.status_code == 403
    assert not Feedback.objects.exists()


def test_feedback_on_an_answer_the_reader_cannot_see_is_404(client, answer, make_user):
    staff = make_user("staff", username="asker")
    private = answer_run(question=QUESTION, user=staff).answer
    assert client.post(f"/feedback/{private.public_id}/", {"helpful": "yes"}).status_code == 404
    assert client.get(f"/feedback/{answer.public_id}/").status_code == 405


def test_feedback_is_rate_limited_per_reader(client, answer, settings):
    settings.RATE_LIMIT_ASK_PER_MINUTE = 2
    cache.clear()  # this test's Redis db: no counts left from other tests
    url = f"/feedback/{answer.public_id}/"
    assert client.post(url, {"helpful": "yes"}).status_code == 302
    assert client.post(url, {"helpful": "no"}).status_code == 302
    limited = client.post(url, {"helpful": "yes"})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert Feedback.objects.get(answer=answer).helpful is False
