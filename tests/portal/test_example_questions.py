"""The reader's first screen (issue 23 part 7): example questions admins edit per collection,
shown in the reader's language first; and a refusal whose closest sources link to their pages,
only those the reader may see."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import override_settings

from portal.audit.models import AuditEvent
from portal.knowledge.management.commands import load_demo
from portal.knowledge.models import Audience, Collection
from portal.knowledge.services import collection_update
from portal.qa.services import answer_run
from tests.portal.factories import PASSPORT_MD, collection, ingest

EXAMPLES = [
    "How long does passport renewal by mail take?",
    "护照续签需要多长时间？",
    "Can a child renew a passport by mail?",
    "儿童可以邮寄办理护照吗？",
]


@pytest.fixture
def public_services(db):
    coll = collection("public-services")
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal", coll=coll)
    return coll


def _examples(body: str) -> list[str]:
    items = body.split('class="examples"')[1].split("</ul>")[0].split("<li>")[1:]
    return [item.split(">", 1)[1].split("</a>")[0] for item in items]


# -- admins edit them, and the edit is audited ----------------------------------------------------


def test_an_admin_edits_example_questions_one_per_line_and_the_edit_is_audited(
    client, make_user, public_services
):
    admin = make_user("admin")
    client.force_login(admin)
    url = f"/admin/knowledge/collection/{public_services.pk}/change/"
    typed = "\r\n".join([EXAMPLES[0], "", "  " + EXAMPLES[1] + "  ", EXAMPLES[0], EXAMPLES[2]])
    response = client.post(
        url,
        {
            "name": public_services.name,
            "description": "",
            "languages": "[]",
            "initial-languages": "[]",  # as the browser sends it (a callable default)
            "audience": "public",
            "example_questions": typed,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    public_services.refresh_from_db()
    # One per line; blank lines, surrounding spaces and repeats dropped; the admin's order kept.
    assert public_services.example_questions == [EXAMPLES[0], EXAMPLES[1], EXAMPLES[2]]
    event = AuditEvent.objects.filter(action="knowledge.collection_update").latest("pk")
    assert event.detail["fields"] == ["example_questions"] and event.actor_id == admin.pk
    # The form shows them again one per line, not as JSON.
    form = client.get(url).content.decode()
    assert f"{EXAMPLES[0]}\n{EXAMPLES[1]}\n{EXAMPLES[2]}</textarea>" in form

    too_long = client.post(
        url,
        {"name": "x", "languages": "[]", "audience": "public", "example_questions": "a" * 301},
    )
    assert too_long.status_code == 200 and "at most 300 characters" in too_long.content.decode()


def test_the_collections_page_creates_a_collection_with_example_questions(client, make_user, db):
    client.force_login(make_user("admin"))
    response = client.post(
        "/knowledge/collections/",
        {
            "name": "Travel",
            "slug": "travel",
            "audience": "public",
            "example_questions": f"{EXAMPLES[0]}\n{EXAMPLES[1]}\n",
        },
    )
    assert response.status_code == 302
    assert Collection.objects.get(slug="travel").example_questions == EXAMPLES[:2]


# -- the home page shows them in the reader's language first ---------------------------------------


def test_the_home_page_shows_the_collections_examples_in_the_readers_language_first(
    client, public_services
):
    public_services.example_questions = EXAMPLES
    collection_update(collection=public_services, changed=["example_questions"])
    english = _examples(client.get("/").content.decode())
    assert english == [EXAMPLES[0], EXAMPLES[2], EXAMPLES[1]]  # English first, then Chinese
    chinese_page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert _examples(chinese_page) == [EXAMPLES[1], EXAMPLES[3], EXAMPLES[0]]
    first = chinese_page.split('class="examples"')[1].split("</li>")[0]
    assert 'lang="zh-Hans"' in first and "?q=%E6%8A%A4%E7%85%A7" in first

    public_services.example_questions = []
    collection_update(collection=public_services, changed=["example_questions"])
    assert 'class="examples"' not in client.get("/").content.decode()  # none: no "For example:"


# -- load_demo fills them once, never over an admin's edit ---------------------------------------


@pytest.fixture
def small_demo(tmp_path, monkeypatch):
    """A demo folder in demo/knowledge's format: two collections, one document each."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "passport.md").write_text(PASSPORT_MD, encoding="utf-8")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "benefits.md").write_text("# Benefits\n\nPaid monthly.\n", encoding="utf-8")
    manifest = [
        {"path": "a/passport.md", "collection": "travel", "title": "Passports",
         "language": "en", "audience": "public"},
        {"path": "b/benefits.md", "collection": "benefits", "title": "Benefits",
         "language": "en", "audience": "public"},
    ]  # fmt: skip
    questions = [
        {"question": EXAMPLES[0], "language": "en", "expected_path": "a/passport.md"},
        {"question": EXAMPLES[1], "language": "zh", "expected_path": "a/passport.md"},
        {"question": "When are benefits paid?", "language": "en", "expected_path": "b/benefits.md"},
    ]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "questions.json").write_text(json.dumps(questions), encoding="utf-8")
    monkeypatch.setattr(load_demo, "DEMO_DIR", tmp_path)
    return tmp_path


def test_load_demo_fills_example_questions_only_where_empty(db, small_demo, capsys):
    # An admin chose the benefits collection's examples before the demo was loaded.
    Collection.objects.create(
        slug="benefits", name="Benefits", example_questions=["Ours: how are benefits paid?"]
    )
    call_command("load_demo")
    travel = Collection.objects.get(slug="travel")
    assert travel.example_questions == [EXAMPLES[0], EXAMPLES[1]]
    assert Collection.objects.get(slug="benefits").example_questions == [
        "Ours: how are benefits paid?"
    ]
    # An admin's later edit survives the next load (`make run` loads the demo every start).
    travel.example_questions = [EXAMPLES[2]]
    collection_update(collection=travel, changed=["example_questions"])
    call_command("load_demo")
    assert Collection.objects.get(slug="travel").example_questions == [EXAMPLES[2]]
    assert "0 new" in capsys.readouterr().out


# -- a refusal links the closest sources it names, those the reader may see ----------------------

NOTHING_RELEVANT = override_settings(
    ANSWER_MIN_DENSE_RELEVANCE=2.0,
    ANSWER_MIN_LEXICAL_RELEVANCE=2.0,
    ANSWER_SOLE_QUESTION_COVERAGE=2.0,
)
FEES_MD = """# Passport fees

## Renewal by mail

Renewing an adult passport by mail costs $130. Mail renewal forms are checked within weeks.
"""


@pytest.fixture
def two_collections(db):
    services = collection("public-services")
    travel = collection("travel")
    renewal, _ = ingest(
        PASSPORT_MD, filename="passport.md", title="Passport renewal", coll=services
    )
    fees, _ = ingest(FEES_MD, filename="fees.md", title="Passport fees", coll=travel)
    return travel, renewal.version.document_id, fees.version.document_id


@NOTHING_RELEVANT
def test_a_refusal_links_the_closest_sources_it_names(client, two_collections):
    _, renewal, fees = two_collections
    outcome = answer_run(question="How long does passport renewal by mail take?")
    assert outcome.status == "refused" and outcome.refusal_reason == "no_support"
    named = {s["document_id"]: s["title"] for s in outcome.answer.closest_sources}
    assert named == {renewal: "Passport renewal", fees: "Passport fees"}
    assert outcome.events[-1]["closest_sources"] == outcome.answer.closest_sources  # the stream
    page = client.get(f"/a/{outcome.answer.public_id}/").content.decode()
    refusal = page.split('<p class="refusal">')[1].split("</p>")[0]
    assert "do not answer this question" in refusal
    for document_id, title in named.items():
        assert f'<a href="/documents/{document_id}/" class="closest-source">{title}</a>' in refusal


@NOTHING_RELEVANT
def test_a_refusal_links_only_the_sources_the_reader_may_still_see(
    client, make_user, two_collections
):
    travel, renewal, fees = two_collections
    answer = answer_run(question="How long does passport renewal by mail take?").answer
    assert {s["document_id"] for s in answer.closest_sources} == {renewal, fees}
    travel.audience = Audience.STAFF  # turned staff-only after the refusal was written
    collection_update(collection=travel, changed=["audience"])

    page = client.get(f"/a/{answer.public_id}/").content.decode()
    refusal = page.split('<p class="refusal">')[1].split("</p>")[0]
    assert f'href="/documents/{renewal}/"' in refusal
    assert f'href="/documents/{fees}/"' not in refusal  # the words stay as written, unlinked
    api = client.get(f"/api/v1/answers/{answer.public_id}").json()
    assert [s["document_id"] for s in api["closest_sources"]] == [renewal]

    client.force_login(make_user("staff"))
    staff_page = client.get(f"/a/{answer.public_id}/").content.decode()
    assert f'href="/documents/{fees}/"' in staff_page.split('<p class="refusal">')[1]
