"""The answer-sentence scorer (portal/qa/verify/answering.py) and its dev fit."""

from __future__ import annotations

from pathlib import Path

from portal.evaluation.answering import answering_fit, answering_rows
from portal.evaluation.datasets import CorpusDoc, EvalQuestion, EvalSet
from portal.qa.verify import PassageEvidence, quote_for
from portal.qa.verify.answering import (
    AnswerFeatures,
    CoverageOnly,
    answer_features,
    answering_load,
    sentences_ranked,
)

RENEWAL = PassageEvidence.of(
    "1",
    "Adults may renew their passport by mail if it is undamaged. "
    "Renewal by mail takes 6 to 8 weeks. "
    "Expedited service is available for an extra fee.",
)


def test_a_question_asking_for_a_figure_prefers_the_sentence_that_gives_one():
    features = answer_features("How long does renewal by mail take?", "It takes 6 to 8 weeks.")
    assert features.figure_match == 1.0 and features.figure_missing == 0.0
    ranked = sentences_ranked("How long does passport renewal by mail take?", RENEWAL.sentences)
    assert RENEWAL.sentences[ranked[0][1]] == "Renewal by mail takes 6 to 8 weeks."


def test_the_quote_is_the_candidate_the_scorer_ranks_first():
    question = "How long does passport renewal by mail take?"
    quote = quote_for(question, RENEWAL, exclude=set(), min_overlap=0.2)
    assert quote == "Renewal by mail takes 6 to 8 weeks."
    # Excluded (already published) sentences are never quoted again; below the overlap floor
    # nothing is.
    assert quote_for(question, RENEWAL, exclude={quote}, min_overlap=0.2) != quote
    assert quote_for("Who signs the form?", RENEWAL, exclude=set(), min_overlap=0.5) is None


def test_the_shipped_model_is_fitted_and_a_missing_file_falls_back_to_coverage(tmp_path: Path):
    model = answering_load()
    assert model.version.startswith("answering-lr-")
    assert isinstance(answering_load(str(tmp_path / "none.json")), CoverageOnly)


def test_the_fit_reads_gold_spans_from_dev_and_refuses_test():
    text = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(30))
    docs = [CorpusDoc("d", "d", text)]
    questions = [
        EvalQuestion(str(i), f"What does topic {i} say?", gold_doc_ids=("d",),
                     gold_spans=(f"Sentence number {i} talks about topic {i}.",))
        for i in range(30)
    ]  # fmt: skip
    rows = answering_rows(EvalSet("toy", "dev", docs, questions), limit=30, weigher=None)
    assert sum(r["gold"] for r in rows) == 30
    assert all(len(r["features"]) == len(AnswerFeatures.NAMES) for r in rows)
    model, figures = answering_fit(rows)
    assert figures["questions"] == 30 and model["features"] == list(AnswerFeatures.NAMES)
    try:
        answering_rows(EvalSet("toy", "test", docs, questions), limit=1, weigher=None)
    except ValueError as exc:
        assert "dev" in str(exc)
    else:
        raise AssertionError("a test split must be refused")


def test_the_kind_of_answer_asked_for_is_a_feature():
    # A duration asked, a duration given; a place asked, none given.
    given = answer_features("How long does renewal by mail take?", "It takes 6 to 8 weeks.")
    assert (given.type_match, given.type_missing) == (1.0, 0.0)
    missing = answer_features("Where do I renew my card?", "Renewal takes 6 to 8 weeks.")
    assert (missing.type_match, missing.type_missing) == (0.0, 1.0)
    chinese = answer_features("办理需要多长时间？", "一般需要15个工作日。")
    assert chinese.type_match == 1.0
    untyped = answer_features("Tell me about renewal.", "Renewal takes 6 to 8 weeks.")
    assert (untyped.type_match, untyped.type_missing) == (0.0, 0.0)


def test_a_sentence_under_a_heading_that_asks_the_question_is_marked_as_such():
    question = "Will I get a refund when I surrender my plates?"
    heading = "Will I receive a refund when I surrender my plates?"
    under = answer_features(question, "It depends.", previous=heading)
    assert under.after_heading >= 0.5
    # The same line before, but a statement rather than a heading or question: no mark.
    assert (
        answer_features(question, "It depends.", previous="You surrender plates.").after_heading
        == 0.0
    )
    evidence = PassageEvidence.of(
        "1", "Refunds\nWill I receive a refund when I surrender my plates?\nIt depends."
    )
    assert evidence.line_before("It depends.") == (
        "Will I receive a refund when I surrender my plates?"
    )
    assert evidence.line_before("Refunds") == ""
