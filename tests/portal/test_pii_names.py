"""Place, programme and organisation names survive the question redactor; person names do not
(issue 23). Measured on tests/portal/data/pii_names_dev.json: 80 English questions, 38 names.

Span-level: a NAME finding is correct when it overlaps a gold name; a gold name is recalled when
every character of it is redacted. Before the fix (presidio's spaCy PERSON as is): precision
0.725 (37/51), recall 0.974 (37/38). After, without knowledge-base words: precision 0.950
(38/40), recall 1.000; with the list's titles and collection names as known words: 1.000 / 1.000.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import override_settings

from portal.qa.redaction import known_terms, searchable
from portal.qa.services import answer_run
from portal.safety.guard import input_check
from portal.safety.pii import known_terms_from, pii_find, redact
from tests.portal.factories import ingest

DEV = json.loads((Path(__file__).parent / "data" / "pii_names_dev.json").read_text("utf-8"))


def _scores(known: frozenset[str] = frozenset()) -> tuple[float, float]:
    correct = predicted = recalled = names = 0
    for row in DEV["rows"]:
        text = row["text"]
        gold = [(text.index(n), text.index(n) + len(n)) for n in row["names"]]
        spans = [(f.start, f.end) for f in pii_find(text, known_terms=known) if f.kind == "NAME"]
        predicted += len(spans)
        correct += sum(any(s < ge and gs < e for gs, ge in gold) for s, e in spans)
        names += len(gold)
        recalled += sum(
            all(any(s <= c < e for s, e in spans) for c in range(gs, ge)) for gs, ge in gold
        )
    return correct / max(predicted, 1), recalled / names


def test_the_dev_list_is_big_enough_and_labelled():
    assert len(DEV["rows"]) >= 60
    assert sum(len(r["names"]) for r in DEV["rows"]) >= 25
    for row in DEV["rows"]:
        assert all(name in row["text"] for name in row["names"])


@pytest.fixture
def rules_only(settings):
    """These lists measure the rules' place signs (presidio + spaCy); the learned tagger beside
    them is measured by `evaluate pii` on the labelled sets (test_name_tagger.py)."""
    settings.SAFETY_PII_TAGGER = False


def test_names_are_redacted_and_places_kept_on_the_dev_list(rules_only):
    precision, recall = _scores()
    assert recall == 1.0 and precision >= 0.95, (precision, recall)


def test_knowledge_base_words_are_never_taken_for_names(rules_only):
    known = known_terms_from(DEV["kb_titles"] + DEV["kb_collections"])
    precision, recall = _scores(known)
    assert precision == 1.0 and recall == 1.0, (precision, recall)
    question = "Where is the nearest passport agency to Riverton?"
    assert redact(question) != question  # the model alone calls Riverton a person here
    assert pii_find(question, known_terms=known) == []


@pytest.mark.parametrize(
    "question",
    [
        "How do I get a Riverton parking permit?",
        "Where can I apply for Meals on Wheels in Schenectady?",
        "Is the Plattsburgh DMV closed on Columbus Day?",
        "Does the Beacon senior center help with Medicare Part D?",
    ],
)
def test_place_names_the_model_calls_people_are_kept(question):
    assert redact(question) == question


@pytest.mark.parametrize(
    ("question", "redacted"),
    [
        ("My sister Olivia lives in Schenectady.", "My sister <NAME> lives in Schenectady."),
        ("Can the Garcia household get SNAP?", "Can the <NAME> household get SNAP?"),
        (
            "My father, George Papadopoulos, lives in Jamestown.",
            "My father, <NAME>, lives in Jamestown.",
        ),
    ],
)
def test_people_stay_redacted_next_to_places(question, redacted, rules_only):
    assert redact(question) == redacted


def test_the_threshold_setting_decides_how_much_place_evidence_drops_a_name(settings, rules_only):
    question = "How do I get a Riverton parking permit?"
    settings.SAFETY_PII_NAME_SCORE = 0.4  # one sign halves 0.85 to 0.425: still a name
    assert redact(question) == "How do I get a <NAME> parking permit?"


def test_the_engine_keeps_place_names_in_the_stored_and_searched_question(db, monkeypatch):
    from portal.qa.engine import answer as engine

    ingest(
        "# Riverton parking permit\n\nA yearly permit costs $40 at city hall.",
        filename="permit.md",
        title="Riverton parking permit",
    )
    assert "riverton" in known_terms()
    searched: list[str] = []
    real = engine.passages_search
    monkeypatch.setattr(
        engine, "passages_search", lambda **kw: searched.append(kw["question"]) or real(**kw)
    )
    outcome = answer_run(question="Where is the nearest passport agency to Riverton, Tom Baker?")
    # Stored as asked, less the person; retrieval reads the same words without the placeholder.
    assert outcome.answer.question == "Where is the nearest passport agency to Riverton, <NAME>?"
    assert searched[0] == "Where is the nearest passport agency to Riverton, ?"


def test_the_guard_passes_known_words_through(db):  # the guard reads the lexicon
    question = "Where is the nearest passport agency to Riverton?"
    known = known_terms_from(["Riverton parking permit"])
    # spaCy calls the town a person; with the name tagger's veto off only the knowledge base's
    # words keep it.
    with override_settings(SAFETY_PII_TAGGER_VETO="0"):
        assert "<NAME>" in input_check(question).redacted_text
        assert input_check(question, known_terms=known).redacted_text == question


def test_retrieval_text_drops_placeholders_only():
    assert searchable("Call <PHONE> about <NAME>'s SNAP card") == "Call about 's SNAP card"
    assert searchable("<NAME>") == "<NAME>"
