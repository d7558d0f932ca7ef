"""The admin's knowledge tools (issue 23 part 4): a version's passages, the retrieval test, the
feedback page, and the evaluation run `make run` seeds."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from portal.accounts.selectors import RoleViewer
from portal.audit.models import AuditEvent
from portal.evaluation.models import EvaluationRun
from portal.feedback.models import Feedback
from portal.knowledge.indexing import keyword_index_loaded
from portal.knowledge.models import Audience, Chunk
from portal.knowledge.retrieval import passages_search
from portal.knowledge.selectors import collections_visible_to, groups_mentioned
from portal.qa import answerability
from portal.qa.conf import AnswerConfig
from portal.qa.engine.relevance import passages_relevant
from portal.qa.models import Answer
from portal.qa.services import answer_run
from portal.qa.verify import DOCUMENT_GROUP_TERMS
from tests.portal.factories import PASSPORT_MD, STAFF_MD, collection, ingest
from tests.portal.test_planted import DOC as PLANTED_DOC
from tests.portal.test_planted import PLANTED_EN

QUESTION = "How long does passport renewal by mail take?"
TOOL_PAGES = ("/knowledge/retrieval-test/",)


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    staff = collection("internal", Audience.STAFF)
    ingest(STAFF_MD, filename="triage.md", coll=staff, title="Internal triage protocol")
    ingest("Benefits are paid monthly to each claimant.", filename="benefits.txt")


@pytest.fixture
def budget(settings):
    settings.RATE_LIMIT_ASK_PER_MINUTE = 30
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 60
    cache.clear()  # this test's Redis db: no counts left from other tests
    yield settings
    cache.clear()


# -- who may open the new pages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "hit_test", "feedback", "chunks"),
    [
        (None, 302, 302, 302),
        ("staff", 403, 403, 403),
        ("reviewer", 403, 200, 403),
        ("admin", 200, 200, 200),
    ],
)
def test_role_matrix_of_the_new_pages(
    client, make_user, knowledge, budget, role, hit_test, feedback, chunks
):
    if role:
        client.force_login(make_user(role))
    version_id = Chunk.objects.first().version_id
    assert client.get("/knowledge/retrieval-test/").status_code == hit_test
    assert client.get("/feedback/").status_code == feedback
    assert client.get(f"/knowledge/versions/{version_id}/chunks/").status_code == chunks
    api = client.post(
        "/api/v1/retrieval-test", {"question": QUESTION}, content_type="application/json"
    )
    assert api.status_code == {None: 401, "admin": 200}.get(role, 403)


# -- a version's passages ----------------------------------------------------------------------


def test_chunk_page_lists_passages_with_sections_pages_and_planted_flags(client, make_user, db):
    result, _ = ingest(PLANTED_DOC, filename="passport.md", title="Passport renewal")
    ingest(PASSPORT_MD, filename="passport-long.md", title="Passports")
    client.force_login(make_user("admin"))
    detail = client.get(f"/knowledge/{result.version.document_id}/").content.decode()
    url = f"/knowledge/versions/{result.version.pk}/chunks/"
    assert f'href="{url}"' in detail  # reached from the document page
    body = client.get(url).content.decode()
    chunks = list(Chunk.objects.filter(version=result.version).order_by("position"))
    assert body.count('class="card chunk') == len(chunks)
    assert "Passport renewal" in body  # the section path
    flagged = next(c for c in chunks if c.planted)
    assert f'id="chunk-{flagged.position}"' in body and 'data-planted="true"' in body
    assert "<mark" in body and "renewals-help@example.net" in body.split("<mark", 1)[1]
    assert PLANTED_EN.split(":")[0] in body


def test_chunk_page_is_paginated(client, make_user, db, settings):
    from portal.knowledge import views

    sections = "\n\n".join(
        f"## Section {i}\n\n" + " ".join([f"Paragraph {i} says something distinct."] * 40)
        for i in range(8)
    )
    result, _ = ingest(f"# Long guide\n\n{sections}\n", filename="long.md")
    n = Chunk.objects.filter(version=result.version).count()
    assert n > 3
    client.force_login(make_user("admin"))
    url = f"/knowledge/versions/{result.version.pk}/chunks/"
    per_page, views.CHUNKS_PER_PAGE = views.CHUNKS_PER_PAGE, 2
    try:
        first = client.get(url).content.decode()
        last = client.get(url, {"page": 999}).content.decode()
    finally:
        views.CHUNKS_PER_PAGE = per_page
    assert first.count('class="card chunk') == 2 and "?page=2" in first
    assert f"Page {(n + 1) // 2} / {(n + 1) // 2}" in last


# -- the retrieval test ------------------------------------------------------------------------


def test_retrieval_test_returns_the_ranking_and_gate_the_engine_gets(
    client, make_user, knowledge, budget
):
    client.force_login(make_user("admin"))
    answers_before = Answer.objects.count()
    response = client.post(
        "/api/v1/retrieval-test",
        {"question": QUESTION, "role": "citizen"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    config = AnswerConfig.from_settings()
    expected = passages_search(question=QUESTION, user=AnonymousUser(), k=config.passages)
    assert [p["chunk_id"] for p in data["passages"]] == [p.chunk_id for p in expected]
    assert [p["rank"] for p in data["passages"]] == list(range(1, len(expected) + 1))
    implied = groups_mentioned(
        versions={(p.document_id, p.version) for p in expected}, terms=DOCUMENT_GROUP_TERMS
    )
    kept = passages_relevant(
        QUESTION,
        expected,
        implied,
        language="en",
        config=config.relevance,
        weights=answerability.term_weights(QUESTION, keyword_index_loaded()),
    )
    assert [p["chunk_id"] for p in data["passages"] if p["gate"]["kept"]] == [
        p.chunk_id for p in kept
    ]
    assert data["passed"] is True and data["outcome"] == "passed"
    top = data["passages"][0]
    assert top["document"] == "Passport renewal" and top["gate"]["reason"] == "close_and_covered"
    # Each retriever's own rank and score, as that retriever alone ranks the passage.
    dense = passages_search(question=QUESTION, user=AnonymousUser(), k=50, retriever="dense")
    assert top["dense"]["rank"] == 1 + [p.chunk_id for p in dense].index(top["chunk_id"])
    assert top["keyword"] is not None and top["keyword"]["score"] > 0
    assert data["thresholds"]["min_dense"] == config.relevance.min_dense
    # A test, not an answer: no Answer row, and one audit event naming the role.
    assert Answer.objects.count() == answers_before
    event = AuditEvent.objects.get(action="knowledge.retrieval_test")
    assert event.object_id == "citizen" and event.detail["outcome"] == "passed"
    assert QUESTION not in str(event.detail)


def test_retrieval_test_sees_only_what_the_chosen_role_may_see(
    client, make_user, knowledge, budget
):
    client.force_login(make_user("admin"))
    question = "When do caseworkers escalate an appeal?"

    def titles(role: str, **extra) -> set[str]:
        body = {"question": question, "role": role, **extra}
        data = client.post("/api/v1/retrieval-test", body, content_type="application/json").json()
        return {p["document"] for p in data["passages"]}

    assert "Internal triage protocol" not in titles("citizen")
    assert "Internal triage protocol" in titles("staff")
    # A named-group collection: only its members' test finds it.
    team = Group.objects.create(name="clinic-team")
    clinic = collection("clinic", Audience.GROUPS)
    clinic.groups.add(team)
    clinic_md = "# Clinic escalation\n\nClinic appeals escalate to the clinic lead."
    ingest(clinic_md, filename="clinic.md", coll=clinic, title="Clinic escalation")
    assert not any("Clinic" in t for t in titles("citizen"))
    assert any("Clinic" in t for t in titles("citizen", group="clinic-team"))
    assert (
        client.post(
            "/api/v1/retrieval-test",
            {"question": question, "role": "citizen", "group": "nobody"},
            content_type="application/json",
        ).status_code
        == 404
    )


def test_role_viewer_sees_exactly_what_a_user_of_that_role_sees(make_user, knowledge):
    for role in ("staff", "reviewer", "admin"):
        user = make_user(role, username=f"real-{role}")
        assert set(collections_visible_to(RoleViewer(role))) == set(collections_visible_to(user))
    assert set(collections_visible_to(RoleViewer("citizen"))) == set(
        collections_visible_to(AnonymousUser())
    )
    with pytest.raises(ValueError):
        RoleViewer("superuser")


def test_retrieval_test_page_explains_a_refusal(client, make_user, knowledge, budget):
    client.force_login(make_user("admin"))
    response = client.post(
        "/knowledge/retrieval-test/",
        {"question": "What is the airspeed of an unladen swallow?", "role": "citizen"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-outcome="no_relevant"' in body
    assert "no retrieved passage is close enough" in body
    assert "How the relevance check decides" in body and 'id="hits"' in body
    assert Answer.objects.count() == 0


def test_retrieval_test_is_rate_limited_on_its_own_budget(client, make_user, knowledge, settings):
    settings.RATE_LIMIT_ASK_PER_MINUTE = 2
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 10
    cache.clear()
    client.force_login(make_user("admin"))
    posts = [
        client.post("/knowledge/retrieval-test/", {"question": QUESTION, "role": "staff"})
        for _ in range(3)
    ]
    assert [p.status_code for p in posts] == [200, 200, 429]
    assert 1 <= int(posts[2]["Retry-After"]) <= 60
    assert "Too many questions" in posts[2].content.decode()
    api = client.post(
        "/api/v1/retrieval-test", {"question": QUESTION}, content_type="application/json"
    )
    assert api.status_code == 429  # the page and the API share one budget
    # ...which is not the ask budget: asking still works.
    assert client.post("/api/v1/ask", {"question": QUESTION}, content_type="application/json")
    assert AuditEvent.objects.filter(action="knowledge.retrieval_test").count() == 2
    cache.clear()


# -- the feedback page ---------------------------------------------------------------------------


@pytest.fixture
def feedback_rows(db, knowledge):
    first = answer_run(question=QUESTION).answer
    second = answer_run(question="Are benefits paid monthly?").answer
    rows = [
        Feedback.objects.create(answer=first, reader_key="a", helpful=True),
        Feedback.objects.create(
            answer=first, reader_key="b", helpful=False, reason="unclear", comment="too long"
        ),
        Feedback.objects.create(
            answer=second, reader_key="c", helpful=False, reason="incorrect", comment="wrong sum"
        ),
    ]
    # The oldest one was sent ten days ago.
    Feedback.objects.filter(pk=rows[2].pk).update(created_at=timezone.now() - dt.timedelta(days=10))
    return first, second


def test_feedback_page_lists_feedback_with_links_and_filters(client, make_user, feedback_rows):
    first, second = feedback_rows
    client.force_login(make_user("reviewer"))
    body = client.get("/feedback/").content.decode()
    assert body.count("<tr data-helpful=") == 3
    assert f'href="/a/{first.public_id}/"' in body and f'href="/a/{second.public_id}/"' in body
    assert "Hard to understand" in body and "wrong sum" in body
    # The link works for the reviewer.
    assert client.get(f"/a/{second.public_id}/").status_code == 200

    def rows(**params) -> str:
        return client.get("/feedback/", params).content.decode()

    helpful = rows(helpful="yes")
    assert helpful.count("<tr data-helpful=") == 1 and 'data-helpful="true"' in helpful
    assert rows(helpful="no").count('<tr data-helpful="false"') == 2
    only_incorrect = rows(reason="incorrect")
    assert only_incorrect.count("<tr data-helpful=") == 1 and "wrong sum" in only_incorrect
    recent = rows(since=(timezone.localdate() - dt.timedelta(days=2)).isoformat())
    assert recent.count("<tr data-helpful=") == 2 and "wrong sum" not in recent
    old = rows(until=(timezone.localdate() - dt.timedelta(days=5)).isoformat())
    assert old.count("<tr data-helpful=") == 1 and "wrong sum" in old
    assert "No feedback matches" in rows(helpful="yes", reason="incorrect")


def test_feedback_page_is_paginated_and_keeps_filters(client, make_user, feedback_rows):
    from portal.feedback import views

    client.force_login(make_user("admin"))
    size, views.PAGE_SIZE = views.PAGE_SIZE, 1
    try:
        body = client.get("/feedback/", {"helpful": "no"}).content.decode()
    finally:
        views.PAGE_SIZE = size
    assert body.count("<tr data-helpful=") == 1
    assert "?helpful=no&amp;page=2" in body and "Page 1 / 2" in body


# -- the evaluation run `make run` seeds -----------------------------------------------------


SEED_CORPUS = [
    {"doc_id": "public-services/passport.md", "title": "Passport renewal", "text": PASSPORT_MD,
     "collection": "public-services", "language": "en"},
    {"doc_id": "internal/triage.md", "title": "Internal triage protocol", "text": STAFF_MD,
     "collection": "internal", "language": "en"},
]  # fmt: skip
SEED_QUESTIONS = [
    {"id": "q1", "question": QUESTION, "gold_doc_ids": ["public-services/passport.md"]},
    {"id": "q2", "question": "Do children under 16 apply in person?",
     "gold_doc_ids": ["public-services/passport.md"]},
    {"id": "q3", "question": "When do caseworkers escalate an appeal?", "role": "staff",
     "gold_doc_ids": ["internal/triage.md"]},
    {"id": "q4", "question": "What is the airspeed of a swallow?", "expect": "refuse"},
]  # fmt: skip


@pytest.fixture
def demo_loaded(db, tmp_path, monkeypatch):
    """A small demo set in the demo set's format, its documents loaded as load_demo would
    (titled and collected as the corpus says)."""
    import json

    from portal.evaluation import seed

    for name, rows in (("corpus.jsonl", SEED_CORPUS), ("questions.jsonl", SEED_QUESTIONS)):
        lines = [json.dumps(row) for row in rows]
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(seed, "DEMO_SET", tmp_path)
    audiences = {"public-services": Audience.PUBLIC, "internal": Audience.STAFF}
    for doc in SEED_CORPUS:
        coll = collection(doc["collection"], audiences[doc["collection"]])
        ingest(doc["text"], filename=doc["doc_id"].split("/")[1], coll=coll, title=doc["title"])
    return tmp_path


def test_the_real_demo_set_names_demo_documents_by_path():
    """The seed reads portal/evaluation/data/demo_questions: its corpus rows carry the titles
    and collections load_demo gives the demo documents, which the seed matches on."""
    import json

    from portal.evaluation.seed import DEMO_SET

    manifest = json.loads(
        (DEMO_SET.parents[3] / "demo" / "knowledge" / "manifest.json").read_text(encoding="utf-8")
    )
    by_path = {e["path"]: (e["title"], e["collection"]) for e in manifest}
    rows = [json.loads(line) for line in (DEMO_SET / "corpus.jsonl").read_text().splitlines()]
    assert rows and all(by_path[r["doc_id"]] == (r["title"], r["collection"]) for r in rows)


def test_seed_stores_one_run_on_the_demo_knowledge_and_only_once(client, make_user, demo_loaded):
    out = StringIO()
    call_command("evaluate_seed", stdout=out)
    run = EvaluationRun.objects.get()
    assert run.kind == "retrieval" and run.dataset == demo_loaded.name and run.split == "dev"
    # The answerable questions, each searched as its role (the staff question finds its
    # staff-only document).
    assert run.n_questions == 3 and {"bm25", "dense", "hybrid"} <= set(run.report["retrievers"])
    assert run.report["retrievers"]["hybrid"]["recall@10"] == 1.0
    assert bytes(run.plot_png).startswith(b"\x89PNG")
    assert "demo questions" in out.getvalue()
    call_command("evaluate_seed", stdout=StringIO())
    assert EvaluationRun.objects.count() == 1
    client.force_login(make_user("admin"))
    page = client.get("/evaluation/").content.decode()
    assert f"{demo_loaded.name} / dev" in page and 'id="no-runs"' not in page


def test_seed_does_nothing_without_demo_knowledge_and_the_empty_page_names_it(
    client, make_user, db
):
    call_command("evaluate_seed", stdout=StringIO())
    assert not EvaluationRun.objects.exists()
    client.force_login(make_user("admin"))
    page = client.get("/evaluation/").content.decode()
    assert 'id="no-runs"' in page and "manage.py evaluate_seed" in page
