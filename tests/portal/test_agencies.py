"""Refusal guidance names the kind of agency the question is about (portal/qa/agencies.py), in
the asker's language, and falls back to the generic contact text when none is close."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser

from portal.knowledge.retrieval import passages_search
from portal.knowledge.services import collection_get_or_create
from portal.qa import agencies, guidance
from portal.qa.services import answer_run
from tests.portal.factories import ingest

SSA_CREDITS = """# Social Security Credits and Benefit Eligibility

## How many credits you need

The number of work credits you need for disability benefits depends on your age when you become
disabled. Generally, you need 40 credits, 20 of which were earned in the last 10 years ending
with the year you become disabled.

## Retirement

If you were born in 1929 or later, you need 40 credits to qualify for retirement benefits.
"""

US_QUESTION_ZH = "我在美国打工，想知道社会保障卡丢了要去哪里补办？"


@pytest.fixture
def us_pages(db):
    coll = collection_get_or_create(
        slug="public-services", audience="public", languages=["en"], jurisdiction="us"
    )
    ingest(SSA_CREDITS, filename="ssa-credits.md", coll=coll, title="Social Security Credits")
    return coll


def test_a_chinese_question_about_a_us_programme_is_not_sent_to_12345(us_pages):
    found = passages_search(question=US_QUESTION_ZH, user=AnonymousUser(), k=8)
    signals = agencies.agency_signals(question=US_QUESTION_ZH, passages=found)
    place = {a.kind: float(p) for a, p in zip(signals.agencies, signals.jurisdiction, strict=True)}
    assert place["us.social_security"] > 0 and place["cn.household_registration"] == 0

    text = guidance.no_support(found, language="zh", question=US_QUESTION_ZH)

    assert "12345" not in text
    assert "美国社会保障局" in text and "1-800-772-1213" in text


def test_the_refusal_of_the_whole_pipeline_names_the_agency(us_pages):
    outcome = answer_run(question=US_QUESTION_ZH, language="zh")

    assert outcome.status == "refused"
    assert "12345" not in outcome.guidance and "美国社会保障局" in outcome.guidance
    assert outcome.answer.guidance == outcome.guidance


def test_a_social_insurance_question_goes_to_human_resources_and_social_security(db):
    text = guidance.no_support([], language="zh", question="社保断缴了怎么补交？")

    assert "人力资源和社会保障部门" in text and "12333" in text
    assert "12345" not in text


def test_a_personal_medical_question_in_english_goes_to_a_doctor_or_pharmacist(db):
    question = "Can I take ibuprofen with my blood pressure pills?"

    choice = agencies.agency_choose(question=question)

    assert choice.agency is not None and choice.agency.kind == "clinician"
    assert guidance.contact("en", question=question) == choice.agency.advice["en"]
    assert "doctor or pharmacist" in choice.agency.advice["en"]


def test_nothing_close_keeps_the_generic_text(db, settings):
    question = "Who do I call about a noisy neighbour?"
    assert agencies.agency_choose(question=question).agency is None
    assert guidance.contact("en", question=question) == settings.ANSWER_CONTACT_EN
    # No question (a reviewer's rejection of an old answer had none before) changes nothing.
    assert guidance.contact("zh") == settings.ANSWER_CONTACT_ZH


def test_the_floor_is_a_setting(db, settings):
    settings.ANSWER_AGENCY_MIN_SCORE = 2.0  # unreachable: agencies are never named
    text = guidance.no_support([], language="zh", question="社保断缴了怎么补交？")
    assert text.endswith(settings.ANSWER_CONTACT_ZH)


def test_unsafe_refusals_name_no_agency(db, settings):
    text = guidance.refused("unsafe", language="zh", question="社保断缴了怎么补交？")
    assert text.endswith(settings.ANSWER_CONTACT_ZH)


def test_a_table_without_a_language_is_refused_at_load(tmp_path):
    table = json.loads(agencies.DEFAULT_TABLE.read_text(encoding="utf-8"))
    del table["agencies"][0]["advice"]["zh"]
    path = tmp_path / "agencies.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    with pytest.raises(ValueError, match="has no advice"):
        agencies.agencies_load(path)


def test_the_shipped_table_covers_both_jurisdictions_and_the_dev_labels():
    table = agencies.agencies_load(agencies.DEFAULT_TABLE)
    assert {a.jurisdiction for a in table} == {"cn", "us", ""}
    dev = agencies.DEFAULT_TABLE.with_name("agency_dev.jsonl").read_text(encoding="utf-8")
    labels = {json.loads(line)["expected"] for line in dev.splitlines() if line.strip()}
    assert labels <= {a.kind for a in table} | {"generic"}
    assert len(dev.splitlines()) >= 40
