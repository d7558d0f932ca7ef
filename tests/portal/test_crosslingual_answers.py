"""Chinese questions over English sources: answered and verified in the sources' language,
translated back only where the translation keeps the original's numbers and conditions.

The model is the edge (a scripted stand-in translates and drafts); what is under test is the
engine's crossing and the alignment check, which are the product's own code.
"""

from __future__ import annotations

import pytest

from llm_backend.base import GenerationRequest
from portal.qa.engine import answer as engine
from portal.qa.models import Answer
from portal.qa.services import answer_run
from portal.qa.translation import alignment_problems, passages_language, sentence_translate
from tests.portal.factories import PASSPORT_MD, ingest
from tests.portal.test_qa_pipeline import ScriptedModel

ASKED = "邮寄续办护照需要多长时间？"
TRANSLATED = "How long does passport renewal by mail take?"


def _translator(answer_zh: str):
    """A model that translates when asked to (the translator's system prompt) and otherwise
    drafts a faithful cited answer from the passage that states the mail renewal time."""

    def draft(request: GenerationRequest) -> str:
        system = request.messages[0]["content"]
        if system.startswith("You are a translator"):
            text = request.messages[-1]["content"]
            return TRANSLATED if text == ASKED else answer_zh
        label = next(lbl for lbl, text in request.passages if "6 to 8 weeks" in text)
        return f"Mail renewal takes 6 to 8 weeks [{label}]."

    return draft


@pytest.fixture
def passport(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")


@pytest.fixture
def scripted(monkeypatch):
    def use(answer_zh: str) -> ScriptedModel:
        model = ScriptedModel(_translator(answer_zh))
        monkeypatch.setattr(engine, "generation_backend", lambda: model)
        return model

    return use


def test_chinese_question_over_english_sources_is_answered_in_chinese(passport, scripted):
    model = scripted("邮寄续办需要6至8周。")
    outcome = answer_run(question=ASKED)
    assert outcome.status == "answered", outcome.guidance
    # The model's sentence (a quote the answer scorer ranks higher may lead it).
    sentence = next(s for s in outcome.sentences if not s["quoted"])
    # The verified claim is the English sentence; the reader reads its aligned translation.
    assert sentence["text"] == "Mail renewal takes 6 to 8 weeks."
    assert sentence["translation"] == "邮寄续办需要6至8周。"
    assert sentence["translation_problems"] == []
    answer = Answer.objects.get(pk=outcome.answer.pk)
    assert answer.language == "zh" and answer.question == ASKED
    assert answer.question_translated == TRANSLATED
    assert "邮寄续办需要6至8周。 (Mail renewal takes 6 to 8 weeks.) [" in answer.published_text
    assert {"translate_question", "translate_answer"} <= set(answer.timings)
    # The answer prompt was written in English around the translated question.
    prompt = next(r for r in model.requests if r.passages)
    assert prompt.language == "en" and TRANSLATED in prompt.messages[-1]["content"]


def test_translation_that_changes_a_number_is_withheld(passport, scripted):
    scripted("邮寄续办需要6至10周。")
    outcome = answer_run(question=ASKED)
    assert outcome.status == "answered"
    sentence = next(s for s in outcome.sentences if not s["quoted"])
    assert sentence["translation"] is None
    assert sentence["translation_problems"] == ["numbers"]
    assert "6至10周" not in outcome.answer.published_text
    assert "Mail renewal takes 6 to 8 weeks. [" in outcome.answer.published_text


def test_without_a_model_nothing_is_translated(passport):
    # The extractive backend cannot translate: the question stays as asked (and, having no
    # English words, finds no lexical support), and no row claims a translation.
    outcome = answer_run(question=ASKED)
    assert outcome.answer.question_translated == ""
    assert all("translation" not in s for s in outcome.sentences)


@pytest.mark.parametrize(
    ("original", "translated", "problems"),
    [
        ("Mail renewal takes 6 to 8 weeks.", "邮寄续办需要六至八周。", ()),
        ("Children under 16 must apply in person.", "未满16周岁的儿童必须亲自申请。", ()),
        ("Children under 16 must apply in person.", "16岁以上的儿童必须亲自申请。", ("bounds",)),
        ("You may not renew by mail.", "您可以邮寄续办。", ("negation",)),
        ("Only residents can apply.", "居民可以申请。", ("only",)),
        ("Expedited service costs $60.", "加急服务费用为50美元。", ("numbers",)),
        # Chinese has no article: "an" permit is 一份, but "the" copy is not one copy.
        ("You must bring an International Driving Permit.", "您必须携带一份国际驾照。", ()),
        ("Bring two copies.", "携带一份。", ("numbers",)),
        ("Bring the copy.", "携带一份。", ("numbers",)),
    ],
)
def test_alignment_compares_numbers_negation_only_and_bounds(original, translated, problems):
    assert alignment_problems(original, translated) == problems


def test_a_translation_in_the_wrong_language_counts_as_none():
    echo = ScriptedModel(lambda request: request.messages[-1]["content"])  # echoes the input
    done = sentence_translate("Mail renewal takes 6 to 8 weeks.", source="en", target="zh",
                              backend=echo)  # fmt: skip
    assert not done.aligned and done.problems == ("untranslated",)


def test_the_sources_language_is_the_majority_of_the_passages():
    assert (
        passages_language(["Mail renewal takes weeks.", "续办需要六周。", "Fees apply."], "zh")
        == "en"
    )
    assert passages_language([], "zh") == "zh"


def test_the_output_guard_does_not_look_up_a_translations_instruction_by_its_words(db):
    from portal.safety.services import output_check

    passages = {"1": "Select the Update Contact Information button to change your address."}
    sentences = [
        ("Select the Update Contact Information button to change your address.", ["1"]),
        ("点击“更新联系信息”按钮即可更改地址。", ["1"]),
    ]

    def blocked(translated):
        return output_check(question="怎么改地址？", sentences=sentences, passages=passages,
                            language="en", canary="", translated=translated,
                            ).blocked_sentence_indexes  # fmt: skip

    # Read as a sentence of its own, the Chinese imperative is not in the English passage...
    assert 1 in blocked(frozenset())
    # ...read as the aligned translation of sentence 0 (which passed), it is not held for that.
    assert blocked(frozenset({1})) == ()
