"""The extractive backend quotes passage sentences verbatim with their markers, or says nothing."""

from __future__ import annotations

import re

import pytest

from llm_backend.base import GenerationRequest
from llm_backend.extractive import ExtractiveBackend
from llm_backend.factory import backend_from_config
from llm_backend.grammars import conforms

PASSPORT = (
    (
        "1",
        "Adults may renew by mail if the passport was issued within the last 15 years, when "
        "they were 16 or older, and it is undamaged. Use form DS-82.",
    ),
    ("2", "Mail renewal takes 6-8 weeks. Expedited service takes 2-3 weeks and costs $60 extra."),
    ("3", "Children under 16 must apply in person with both parents. Bring a birth certificate."),
)
PASSPORT_ZH = (
    ("1", "成年人可以通过邮寄方式续办护照。续办需要填写申请表。"),
    ("2", "邮寄续办一般需要6至8周。加急服务需要2至3周，另收费60美元。"),
    ("3", "16岁以下儿童必须由父母双方陪同当面申请。"),
)
_MARKERS = re.compile(r"((?:\[\d+\])+)")


def _answer(question: str, passages=PASSPORT, language: str = "en", **config) -> str:
    backend = ExtractiveBackend(**config)
    text, usage = backend.generate(
        GenerationRequest(messages=[], question=question, passages=passages, language=language)
    )
    assert usage.finish_reason == "stop"
    return text


def _quotes(text: str) -> list[tuple[str, list[str]]]:
    """(quoted sentence, its labels) pairs from an extractive answer."""
    pieces = _MARKERS.split(text)
    return [
        (pieces[i].strip(), re.findall(r"\[(\d+)\]", pieces[i + 1]))
        for i in range(0, len(pieces) - 1, 2)
    ]


def test_best_sentence_is_quoted_verbatim_with_its_marker_after_the_punctuation():
    text = _answer("Can I renew my passport by mail?")
    assert text == (
        "Adults may renew by mail if the passport was issued within the last 15 years, when "
        "they were 16 or older, and it is undamaged. [1]"
    )
    assert conforms(text, ["1", "2", "3"], max_sentences=3)


def test_every_quote_is_a_sentence_of_the_passage_it_cites():
    for question in ("How long does mail renewal take?", "How much does expedited service cost?"):
        text = _answer(question)
        quotes = _quotes(text)
        assert quotes, question
        for sentence, labels in quotes:
            assert all(sentence in dict(PASSPORT)[label] for label in labels)
    assert _answer("How much does expedited service cost?") == (
        "Expedited service takes 2-3 weeks and costs $60 extra. [2]"
    )


def test_unrelated_question_gets_an_empty_stream_so_the_pipeline_refuses():
    assert _answer("How do I get a fishing licence?") == ""
    assert _answer("What is the fee for a fishing licence?") == ""
    assert _answer("如何申请驾照？", PASSPORT_ZH, "zh") == ""
    assert _answer("Can I renew by mail?", passages=()) == ""


def test_chinese_question_quotes_chinese_sentences_without_spaces():
    text = _answer("护照可以邮寄续办吗？", PASSPORT_ZH, "zh")
    assert text.startswith("成年人可以通过邮寄方式续办护照。[1]")
    assert " " not in text
    assert _answer("加急需要多久？", PASSPORT_ZH, "zh") == "加急服务需要2至3周，另收费60美元。[2]"
    for sentence, labels in _quotes(text):
        assert all(sentence in dict(PASSPORT_ZH)[label] for label in labels)


def test_at_most_max_sentences_and_repeated_sentences_cite_every_passage_holding_them():
    overlapping = (
        ("1", "Mail renewal takes 6-8 weeks. Renewal by mail needs form DS-82."),
        ("2", "Mail renewal takes 6-8 weeks. Renewal forms are free."),
        ("3", "Renewal by mail is for adults. Mail renewal fees are $130."),
    )
    text = _answer("How long does mail renewal take?", overlapping, max_sentences=2)
    quotes = _quotes(text)
    assert quotes[0] == ("Mail renewal takes 6-8 weeks.", ["1", "2"])
    assert len(quotes) <= 2


def test_unterminated_quotes_end_with_a_line_break_so_sentences_stay_apart():
    passages = (("1", "Renewal fee: $130 for adults\nRenewal fee for expedited service: $190"),)
    text = _answer("What is the renewal fee?", passages, relative_min=0.1)
    assert text == "Renewal fee: $130 for adults [1]\nRenewal fee for expedited service: $190 [1]"


def test_headings_are_never_quoted_but_list_items_and_data_lines_are():
    passages = (
        (
            "1",
            "A child with a disability\n\nThere is no online application for a child with a "
            "disability yet.\n- Apply for a child with a disability at an office\n"
            "Child disability report: 20 pages",
        ),
    )
    quotes = [q for q, _ in _quotes(_answer("Can a child with a disability apply?", passages))]
    assert "A child with a disability" not in quotes
    assert quotes and all(q.startswith(("There is", "- Apply", "Child disability")) for q in quotes)


def test_a_long_title_standing_alone_is_never_quoted():
    record = "食管疾病 案例分析-胃食管反流病\n\n病人反酸、烧心30年，服用奥美拉唑症状可缓解。"
    question = "胃食管反流病病人反酸、烧心多少年？服用奥美拉唑症状可缓解吗？"
    text = _answer(question, (("1", record),), language="zh")
    assert "案例分析" not in text and "反酸" in text


def test_sentences_that_look_like_citations_are_never_quoted():
    passages = (("1", "Mail renewal takes 6-8 weeks [3]. Mail renewal is slow in summer."),)
    # The sentence this question is about carries "[3]": it is skipped, not misquoted as [1].
    assert _answer("Does mail renewal take 6-8 weeks?", passages) == ""
    assert _answer("Is mail renewal slow in summer?", passages) == (
        "Mail renewal is slow in summer. [1]"
    )


def test_dense_similarity_lets_a_paraphrase_through():
    # A toy embedding that knows "cost" and "fee" mean the same thing: the dense path must pick
    # the sentence that shares no keyword with the question.
    def embed(texts: list[str]) -> list[list[float]]:
        return [
            [float("fee" in t.lower() or "cost" in t.lower()), float("week" in t.lower()), 0.1]
            for t in texts
        ]

    passages = (("1", "Mail renewal takes 6-8 weeks."), ("2", "The fee is $130 for adults."))
    assert _answer("What does it cost?", passages) == ""
    assert _answer("What does it cost?", passages, embed=embed, dense_min=0.9) == (
        "The fee is $130 for adults. [2]"
    )


def test_factory_builds_it_with_settings():
    backend = backend_from_config({"kind": "extractive", "max_sentences": 1, "min_coverage": 0.9})
    assert backend.kind == "extractive" and backend.model_id == "extractive-v1"
    assert backend.adapter_id is None
    text, _ = backend.generate(
        GenerationRequest(
            messages=[], question="How long does mail renewal take?", passages=PASSPORT
        )
    )
    assert text == ""  # 0.9 of the question is more than any sentence covers
    with pytest.raises(ValueError):
        ExtractiveBackend(max_sentences=0)


def test_a_chinese_short_form_is_covered_by_the_word_it_abbreviates_or_the_documents_title():
    # 社会保险法's transfer articles say 养老保险 and 转移, never 社保: the law's title names it.
    passages = (
        ("1", "个人跨统筹地区就业的，其基本养老保险关系随本人转移，缴费年限累计计算。"),
        ("2", "居民身份证丢失的，应当申请补领。"),
    )
    titles = (("1", "中华人民共和国社会保险法"), ("2", "中华人民共和国居民身份证法"))
    backend = ExtractiveBackend()

    without = backend.select("社保怎么转移？", passages)
    transfer = backend.select("社保怎么转移？", passages, titles=titles)
    lost = backend.select("身份证丢了怎么办？", passages)  # 丢 -> 丢失, in the sentence itself

    assert without == []
    assert [q.labels for q in transfer] == [("1",)]
    assert [q.text for q in lost] == ["居民身份证丢失的，应当申请补领。"]
