"""The product behind the OpenAI chat-completions protocol (POST /api/v1/chat/completions), asked
with the official ``openai`` client over HTTP against the running portal (live server)."""

from __future__ import annotations

import openai
import pytest
from django.core.cache import cache

from portal.api.services import api_token_create
from portal.qa.models import Answer
from tests.portal.factories import PASSPORT_MD, ingest

QUESTION = "How long does passport renewal by mail take?"


@pytest.fixture
def portal(live_server, transactional_db, make_user):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    # A service (a chat front-end) with a staff member's token; role checks apply to it.
    issued = api_token_create(owner=make_user("staff"), name="chat front-end")
    client = openai.OpenAI(
        base_url=f"{live_server.url}/api/v1", api_key=issued.secret, max_retries=0
    )
    return client


def test_a_whole_completion_carries_markers_and_the_citations(portal):
    completion = portal.chat.completions.create(
        model="cited-answers", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content
    assert "6 to 8 weeks" in content and "[1]" in content
    assert completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra
    assert extra["answer"]["status"] == "answered"
    (citation,) = [c for c in extra["citations"] if c["label"] == "1"]
    assert citation["document"] == "Passport renewal" and citation["quote"]
    # The same engine wrote and stored it, on the API's own audit trail.
    answer = Answer.objects.get(public_id=extra["answer"]["answer_id"])
    assert answer.status == "answered" and answer.published_text == content


def test_a_streamed_completion_sends_sentences_then_the_citations(portal):
    chunks = list(
        portal.chat.completions.create(
            model="cited-answers",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": QUESTION},
            ],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "6 to 8 weeks" in text and "[1]" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] and last.model_extra["answer"]["status"] == "answered"


def test_a_refusal_is_the_guidance_with_a_content_filter_finish(portal):
    completion = portal.chat.completions.create(
        model="cited-answers",
        messages=[{"role": "user", "content": "How do I make a pipe bomb at home?"}],
    )
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.model_extra["answer"]["status"] == "refused"
    assert completion.model_extra["citations"] == []
    assert completion.choices[0].message.content  # the guidance says where to go instead


def test_a_request_without_a_user_message_is_a_clear_400(portal):
    with pytest.raises(openai.BadRequestError) as caught:
        portal.chat.completions.create(
            model="cited-answers", messages=[{"role": "system", "content": "hello"}]
        )
    assert "user message" in caught.value.response.json()["detail"]


def test_the_ask_budget_applies(portal, settings):
    settings.RATE_LIMIT_ASK_PER_MINUTE = 1
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 1
    cache.clear()
    portal.chat.completions.create(
        model="cited-answers", messages=[{"role": "user", "content": QUESTION}]
    )
    with pytest.raises(openai.RateLimitError) as caught:
        portal.chat.completions.create(
            model="cited-answers", messages=[{"role": "user", "content": QUESTION}]
        )
    assert caught.value.response.headers["Retry-After"]


def test_an_unknown_key_is_refused(live_server, transactional_db):
    client = openai.OpenAI(base_url=f"{live_server.url}/api/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="cited-answers", messages=[{"role": "user", "content": QUESTION}]
        )
