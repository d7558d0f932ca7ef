"""Usefulness grading (portal/evaluation/usefulness.py): does the answer state what was asked?"""

from __future__ import annotations

from portal.evaluation.answers import _units
from portal.evaluation.usefulness import (
    Usefulness,
    on_target,
    question_language,
    states_reference,
    states_span,
)

SPAN = "You need 40 credits, which is about 10 years of work, to get retirement benefits."


def test_an_answer_states_a_span_when_it_holds_half_its_content_words():
    assert states_span((SPAN,), "You need 40 credits (about 10 years of work).", _units)
    assert not states_span((SPAN,), "Survivors may qualify with fewer credits.", _units)


def test_a_long_reference_is_stated_by_enough_of_its_words():
    reference = "根据民法典规定，借款人可以提前返还借款，利息按照实际借款的期间计算。" * 3
    assert states_reference(
        reference, "借款人可以提前返还借款，利息按照实际借款的期间计算。", _units
    )
    assert not states_reference(reference, "合同应当采用书面形式。", _units)


def test_a_true_sentence_about_something_else_is_off_target():
    question = "How many Social Security credits do I need to get retirement benefits?"
    survivors = "Survivors' benefits may be paid with credits for one and one-half year's work."
    assert not on_target(survivors, question=question, gold_texts=[SPAN], units=_units)
    assert on_target("You need 40 credits.", question=question, gold_texts=[SPAN], units=_units)


def test_rates_are_per_language_and_overall():
    tally = Usefulness()
    tally.add(language="en", gradable=True, answered=True, all_supported=True, states=True,
              sentences_on_target=[True])  # fmt: skip
    tally.add(language="zh", gradable=True, answered=True, all_supported=True, states=False,
              sentences_on_target=[False, True])  # fmt: skip
    tally.add(language="zh", gradable=True, answered=False, all_supported=True, states=False,
              sentences_on_target=[])  # fmt: skip
    overall, per_language = tally.report()
    assert overall["useful_answer_rate"] == round(1 / 3, 4)
    assert overall["wrong_answer_rate"] == 0.5
    assert overall["off_target_rate"] == round(1 / 3, 4)
    assert per_language["en"]["useful_answer_rate"] == 1.0
    assert per_language["zh"]["useful_answer_rate"] == 0.0


def test_the_grader_tells_languages_apart_on_its_own():
    assert question_language("医保怎么报销？") == "zh"
    assert question_language("How do I renew my passport?") == "en"


def test_unclean_published_text_is_counted_by_kind():
    from portal.evaluation.answers import unclean_kinds

    sentences = [
        {"text": "You need 40 credits."},
        {"text": "t this checklist"},
        {"text": "- proof of age\n- a birth certificate"},
        {"text": "Documents needed.They must be originals."},
        {"text": "Be a U.S.citizen."},
        {"text": "You need 40 credits."},
        {"text": "，那您可以在网上申请。"},
        {"text": "Be a U.S. citizen.", "translation": "须为美国公民。"},
    ]
    assert sorted(unclean_kinds(sentences)) == sorted(
        ["fragment", "run_on", "leading_mark", "glued", "glued", "duplicate", "leading_mark"]
    )
    assert unclean_kinds([{"text": "Mail renewal takes 6 to 8 weeks."}]) == []
