"""The answer engine's guarantees: routed before released, rows always end, audit and rate
limits inside the service, one claim loop for every kind of text."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.urls import resolve, reverse

from llm_backend.base import GenerationRequest
from portal.audit.models import AuditEvent
from portal.qa.engine import answer as engine
from portal.qa.engine.claims import ANSWER, EDIT, ClaimPass
from portal.qa.models import Answer, AnswerStatus
from portal.qa.services import Asker, RateLimited, answer_run, answer_stream
from portal.qa.verify import PassageEvidence, Problem, VerifierConfig
from portal.review.selectors import review_queue
from portal.review.services import review_approve, review_reject
from portal.safety.lexicon import lexicon_forget
from portal.safety.models import SensitiveTerm
from portal.safety.services import term_save
from tests.portal.factories import PASSPORT_MD, ingest
from tests.portal.test_qa_pipeline import ScriptedModel

QUESTION = "How long does passport renewal by mail take?"


@pytest.fixture
def passport(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")


def _faithful(request: GenerationRequest) -> str:
    label = next(lbl for lbl, text in request.passages if "6 to 8 weeks" in text)
    return f"Mail renewal takes 6 to 8 weeks [{label}]."


@pytest.fixture
def model(monkeypatch):
    scripted = ScriptedModel(_faithful)
    monkeypatch.setattr(engine, "generation_backend", lambda: scripted)
    return scripted


def test_sentences_are_released_only_after_the_route_is_known(passport, model):
    events = list(answer_stream(question=QUESTION))
    kinds = [e["event"] for e in events]
    # Given a publishable answer, when it streams, then progress carries no text and every
    # sentence comes after the last progress event, right before done.
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert "progress" in kinds
    first_sentence = kinds.index("sentence")
    assert "progress" not in kinds[first_sentence:]
    assert all("text" not in e for e in events if e["event"] == "progress")
    assert events[-1]["status"] == "answered"


@pytest.fixture
def fresh_lexicon():
    yield
    lexicon_forget()  # the term's row is rolled back; the compiled lexicon must not outlive it


def test_a_held_answer_never_shows_a_sentence_on_the_stream(
    passport, model, django_capture_on_commit_callbacks, fresh_lexicon
):
    with django_capture_on_commit_callbacks(execute=True):  # every process recompiles on commit
        term_save(
            term=SensitiveTerm(
                term="passport renewal", category="test", language="en", action="hold"
            )
        )
    events = list(answer_stream(question=QUESTION))
    assert events[-1]["status"] == "held"
    assert [e for e in events if e["event"] == "sentence"] == []
    assert events[-1]["sentences"] == [] and events[-1]["citations"] == {}
    # The reviewer still sees what was drafted and verified.
    held = Answer.objects.get(public_id=events[-1]["answer_id"])
    assert held.sentences and held.status == AnswerStatus.HELD


@pytest.fixture
def held_term(django_capture_on_commit_callbacks, fresh_lexicon):
    """A lexicon term that holds every answer to QUESTION for review."""
    with django_capture_on_commit_callbacks(execute=True):
        term_save(
            term=SensitiveTerm(
                term="passport renewal", category="test", language="en", action="hold"
            )
        )


def test_asking_a_held_question_again_joins_its_review_item(passport, model, held_term, make_user):
    first = Answer.objects.get(public_id=list(answer_stream(question=QUESTION))[-1]["answer_id"])
    second = Answer.objects.get(public_id=list(answer_stream(question=QUESTION))[-1]["answer_id"])
    other = answer_run(question="Can children renew passports by mail?").answer
    assert first.status == second.status == AnswerStatus.HELD
    assert first.same_as is None and second.same_as == first
    queue = review_queue()
    assert [item.answer for item in queue if item.answer.question == QUESTION] == [first]
    assert next(item for item in queue if item.answer == first).asked_again == 1
    assert other.same_as is None

    review_approve(answer=first, reviewer=make_user("reviewer"))
    second.refresh_from_db()
    # The second asker's come-back link shows the reviewer's decision, with the same citations.
    assert second.status == AnswerStatus.ANSWERED and second.published_at is not None
    assert second.published_text == first.published_text
    assert sorted(c.label for c in second.citations.all()) == sorted(
        c.label for c in first.citations.all()
    )
    # A question asked after the decision starts a new review item.
    third = Answer.objects.get(public_id=list(answer_stream(question=QUESTION))[-1]["answer_id"])
    assert third.status == AnswerStatus.HELD and third.same_as is None


def test_rejecting_a_held_question_rejects_its_repeats(passport, model, held_term, make_user):
    ids = [list(answer_stream(question=QUESTION))[-1]["answer_id"] for _ in range(3)]
    first, *repeats = (Answer.objects.get(public_id=i) for i in ids)
    assert all(r.same_as == first for r in repeats)
    review_reject(answer=first, reviewer=make_user("reviewer"), reason="outdated")
    first.refresh_from_db()
    for repeat in repeats:
        repeat.refresh_from_db()
        assert repeat.status == AnswerStatus.REJECTED and repeat.guidance == first.guidance
        assert repeat.published_text == first.published_text
    assert not [item for item in review_queue() if item.answer.question == QUESTION]


def test_an_abandoned_stream_finalises_its_row(passport, model):
    stream = answer_stream(question=QUESTION)
    start = next(stream)
    assert start["event"] == "start"
    assert Answer.objects.get(public_id=start["answer_id"]).status == AnswerStatus.PENDING
    stream.close()  # the reader closed the page
    answer = Answer.objects.get(public_id=start["answer_id"])
    assert answer.status == AnswerStatus.ABANDONED
    assert AuditEvent.objects.filter(
        action="qa.ask", object_id=str(answer.pk), detail__status="abandoned"
    ).exists()


def test_a_failing_step_marks_the_row_failed(passport, monkeypatch):
    def broken(**_kw):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(engine, "passages_search", broken)
    with pytest.raises(RuntimeError):
        answer_run(question=QUESTION)
    assert Answer.objects.get().status == AnswerStatus.FAILED


def test_every_surface_is_audited_by_the_service(passport, model):
    outcome = answer_run(question=QUESTION)  # manage.py ask and evaluation come this way
    event = AuditEvent.objects.get(action="qa.ask", object_id=str(outcome.answer.pk))
    assert event.detail["via"] == "command" and event.detail["status"] == "answered"


def test_token_use_is_recorded_on_the_answer(passport, model):
    outcome = answer_run(question=QUESTION)
    assert outcome.answer.completion_tokens > 0
    assert outcome.answer.backend == "scripted"


def test_the_rate_limit_is_counted_in_the_service_for_every_route(
    passport, model, settings, client
):
    settings.RATE_LIMIT_ASK_PER_MINUTE = 1
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 0
    cache.clear()
    asker = Asker(user=None, request=None, via="api", rate_limited=True)
    answer_run(question=QUESTION, asker=asker)
    with pytest.raises(RateLimited):
        answer_run(question=QUESTION, asker=asker)
    # The no-JavaScript page (its form posts to itself) shares the same budget as the stream
    # and the API.
    cache.clear()
    assert client.post(reverse("qa:ask"), {"q": QUESTION}).status_code == 302
    assert client.post(reverse("qa:ask"), {"q": QUESTION}).status_code == 429
    stream = reverse("api-v1:ask_stream")
    body = {"question": QUESTION}
    assert client.post(stream, body, content_type="application/json").status_code == 429


def test_one_claim_loop_strips_glued_titles_and_guards_edits_too(db):
    evidence = {
        "1": PassageEvidence.of(
            "1", "Mail renewal takes 6 to 8 weeks.", document_title="Passport renewal"
        )
    }
    claims = ClaimPass(
        question=QUESTION,
        evidence=evidence,
        language="en",
        policy=EDIT,
        verifier=VerifierConfig(),
    )
    (verdict,) = claims.check_text("Passport renewal: Mail renewal takes 6 to 8 weeks [1].")
    assert verdict.supported and verdict.text == "Mail renewal takes 6 to 8 weeks."
    # A person's unsupported edit is judged as written: never swapped for a quote.
    (wrong,) = claims.check_text("Mail renewal takes 2 weeks [1].")
    assert not wrong.supported and Problem.NUMBER_MISSING.name in wrong.codes
    assert [p.text for p in claims.published] == ["Mail renewal takes 6 to 8 weeks."]


def test_the_answer_policy_quotes_where_an_edit_would_not(db):
    evidence = {"1": PassageEvidence.of("1", "Mail renewal takes 6 to 8 weeks.")}
    claims = ClaimPass(
        question=QUESTION, evidence=evidence, language="en", policy=ANSWER,
        verifier=VerifierConfig(),
    )  # fmt: skip
    claims.check_text("Mail renewal takes 2 weeks [1].")
    assert [(p.text, p.quoted) for p in claims.published] == [
        ("Mail renewal takes 6 to 8 weeks.", True)
    ]


def test_a_reader_who_leaves_the_page_ends_the_answer_row(passport, model, rf):
    # Given the event stream the page reads (the async view itself, as ASGI runs it)
    path = reverse("api-v1:ask_stream")
    request = rf.post(path, {"question": QUESTION}, content_type="application/json")
    request.user = AnonymousUser()

    async def read_first_then_leave() -> str:
        response = await resolve(path).func(request)
        chunks = aiter(response.streaming_content)
        first = (await anext(chunks)).decode()
        # When the connection drops, the server stops reading and closes the stream.
        await chunks.aclose()
        return first

    assert async_to_sync(read_first_then_leave)().startswith("event: start")
    # Then the row is finalised, not left pending
    assert Answer.objects.get().status == AnswerStatus.ABANDONED


def test_a_supported_sentence_that_does_not_answer_gives_way_to_one_that_does(db):
    from portal.qa.verify.answering import answer_probability

    passage = (
        "Children under 16 must apply in person with both parents. Mail renewal takes 6 to 8 weeks."
    )
    evidence = {"1": PassageEvidence.of("1", passage, document_title="Passport renewal")}
    beside = "Children under 16 must apply in person with both parents."
    answers = "Mail renewal takes 6 to 8 weeks."
    low, high = answer_probability(QUESTION, beside), answer_probability(QUESTION, answers)
    assert low < high  # the scorer's order; the floor is set between the two
    floor = (low + high) / 2

    def claims(policy, min_answer_score):
        return ClaimPass(question=QUESTION, evidence=evidence, language="en", policy=policy,
                         verifier=VerifierConfig(), min_answer_score=min_answer_score)  # fmt: skip

    answer = claims(ANSWER, floor)
    (verdict,) = answer.check_text(f"{beside} [1]")
    # True but beside the question: not published, the answering sentence is quoted instead,
    # and routing still counts it as supported.
    assert Problem.OFF_TARGET.name in verdict.codes
    assert [(p.text, p.quoted) for p in answer.published] == [(answers, True)]
    assert answer.resolved == [True] and answer.removed == 0
    # With the floor off, or under a policy that does not check (a person's edit), it stands.
    off = claims(ANSWER, 0.0)
    off.check_text(f"{beside} [1]")
    assert [p.text for p in off.published] == [beside]
    edit = claims(EDIT, floor)
    edit.check_text(f"{beside} [1]")
    assert [p.text for p in edit.published] == [beside]
    # A floor above every sentence publishes nothing, not even a quote.
    strict = claims(ANSWER, min(0.99, high + 0.01))
    strict.check_text(f"{beside} [1]")
    assert strict.published == []


@pytest.mark.parametrize(
    ("drafted", "published"),
    [
        # spaces the model dropped when it copied come back from the passage
        (
            "Your record doesn't have the number of credits needed.They can get benefits.",
            "Your record doesn't have the number of credits needed. They can get benefits.",
        ),
        (
            "You must be a U.S.citizen residing in one of the fifty states.",
            "You must be a U.S. citizen residing in one of the fifty states.",
        ),
        # a heading line swallowed in front is dropped
        (
            "Renew by mail WARNING: Your new ID will show 'NOT FOR FEDERAL PURPOSES'.",
            "WARNING: Your new ID will show 'NOT FOR FEDERAL PURPOSES'.",
        ),
    ],
)
def test_a_copied_sentence_is_published_in_the_passages_own_spacing(db, drafted, published):
    passage = (
        "Your record doesn't have the number of credits needed. They can get benefits.\n"
        "You must be a U.S. citizen residing in one of the fifty states.\n"
        "Renew by mail\n"
        "WARNING: Your new ID will show 'NOT FOR FEDERAL PURPOSES'."
    )
    evidence = {"1": PassageEvidence.of("1", passage, document_title="Renewal")}
    claims = ClaimPass(question="Can I renew by mail?", evidence=evidence, language="en",
                       policy=EDIT, verifier=VerifierConfig())  # fmt: skip
    (verdict,) = claims.check_text(f"{drafted} [1]")
    assert verdict.supported, verdict.problems
    assert [p.text for p in claims.published] == [published]


def test_a_yes_no_question_gets_the_sentence_that_answers_it_first(db):
    from portal.qa.verify.answering import answer_probability

    passage = (
        "Expedited service takes 2 to 3 weeks and costs $60. "
        "Adults may renew their passport by mail if it was issued within the last 15 years."
    )
    evidence = {"1": PassageEvidence.of("1", passage, document_title="Passport renewal")}
    first, second = passage.split(". ", 1)
    first += "."

    def ordered(question: str) -> list[str]:
        claims = ClaimPass(question=question, evidence=evidence, language="en", policy=EDIT,
                           verifier=VerifierConfig())  # fmt: skip
        claims.check_text(f"{first} [1] {second} [1]")
        assert len(claims.published) == 2, [v.problems for v in claims.verdicts]
        claims.conclusion_first()
        return [p.text for p in claims.published]

    yes_no = "Can adults renew their passport by mail?"
    assert answer_probability(yes_no, second) > answer_probability(yes_no, first)
    assert ordered(yes_no) == [second, first]
    # A wh-question reads in the drafted order.
    assert ordered("How do adults renew their passport by mail?") == [first, second]


def test_the_sentence_that_answers_best_leads_when_it_outranks_the_models_first(db):
    from portal.qa.verify.answering import answer_probability

    passages = {
        "1": "Children under 16 must apply in person with both parents.",
        "2": "Adults may renew by mail. Mail renewal takes 6 to 8 weeks.",
    }
    evidence = {lbl: PassageEvidence.of(lbl, text) for lbl, text in passages.items()}
    drafted, answers = passages["1"], "Mail renewal takes 6 to 8 weeks."
    assert answer_probability(QUESTION, answers) > answer_probability(QUESTION, drafted)

    def claims(policy):
        claims = ClaimPass(question=QUESTION, evidence=evidence, language="en", policy=policy,
                           verifier=VerifierConfig())  # fmt: skip
        claims.check_text(f"{drafted} [1]")
        claims.lead_with_best_quote()
        return claims

    answer = claims(ANSWER)
    assert [(p.text, p.citations, p.quoted) for p in answer.published] == [
        (answers, ["2"], True),
        (drafted, ["1"], False),
    ]
    assert answer.lead_verdicts == [1] and answer.verdicts[1].supported
    # A person's edit is never overruled by a quote.
    assert [p.text for p in claims(EDIT).published] == [drafted]
