"""Dev drafts harvested from stored evaluation answers feed the verifier's fit; only dev ones."""

from __future__ import annotations

from types import SimpleNamespace

from portal.evaluation.verifier_drafts import answer_source, drafts_from_answers


def test_only_answers_over_dev_evaluation_collections_have_a_source():
    assert answer_source(["eval-doc2dial_zh-answers-d5ac77ef-dev"]) == "doc2dial_zh:dev"
    demo = ["eval-demo_questions-dev-public-services", "eval-demo_questions-dev-medical-research"]
    assert answer_source(demo) == "demo_questions:dev"
    assert answer_source(["eval-doc2dial-test"]) is None
    assert answer_source(["eval-pubmedqa-answers-0a1b-test"]) is None
    assert answer_source(["public-services"]) is None  # a citizen's answer is never training data
    assert answer_source(["eval-doc2dial-dev", "eval-policyqa-dev"]) is None  # mixed: unclear


def _answer(collections, **extra):
    fields = dict(
        public_id="a1",
        collections=collections,
        question="我的保险到期了怎么办？",
        question_translated="What should I do when my insurance ends?",
        retrieved=[{"label": "1", "chunk_id": 7}],
        verification=[
            {"text": "You must surrender your plates.", "labels": ["1"]},
            {"text": "Quoted fallback.", "labels": ["1"], "fallback": True},
        ],
        draft="You must surrender your plates [1].\n--- extractive fallback ---\nQuoted [1].",
        model_id="qwen",
        prompt_version="cited-v1",
    )
    return SimpleNamespace(**(fields | extra))


def test_harvested_rows_hold_what_the_model_wrote_for_the_question_it_was_given():
    rows = list(
        drafts_from_answers(
            [_answer(["eval-doc2dial_zh-answers-d5ac77ef-dev"]), _answer(["eval-doc2dial-test"])],
            chunk_texts=lambda ids: {7: ("Surrender your plates before you cancel.", "Plates")},
        )
    )
    assert len(rows) == 1
    [row] = rows
    assert row["source"] == "doc2dial_zh:dev" and row["language"] == "en"
    assert row["question"] == "What should I do when my insurance ends?"
    assert row["passages"] == {"1": "Surrender your plates before you cancel."}
    # The quoting fallback is not the model's writing.
    assert row["sentences"] == [{"text": "You must surrender your plates.", "labels": ["1"]}]
    assert row["draft"] == "You must surrender your plates [1]."
