"""The stream plumbing (locking, early close, stop strings) and passage sentence splitting."""

from __future__ import annotations

import threading

import pytest

from llm_backend.base import GenerationStream, Usage, stop_at_strings
from llm_backend.text import is_cjk, is_heading, split_sentences


def _run(deltas: list[str], stops: tuple[str, ...]) -> tuple[list[str], Usage]:
    usage = Usage()
    return list(stop_at_strings(iter(deltas), stops, usage)), usage


def test_stop_string_split_across_deltas_is_never_emitted():
    out, usage = _run(["Answer one.", " ##", "# more text"], ("###",))
    assert "".join(out) == "Answer one. "
    assert usage.finish_reason == "stop"


def test_held_back_prefix_is_released_when_it_is_not_a_stop():
    out, usage = _run(["price 5 #", "1 only"], ("##",))
    assert "".join(out) == "price 5 #1 only"
    assert usage.finish_reason is None


def test_stream_holds_the_lock_while_generating_and_releases_it_on_close():
    lock = threading.Lock()
    closed = []

    def produce(usage: Usage):
        try:
            yield "a"
            yield "b"
            usage.completion_tokens = 2
        finally:
            closed.append(True)

    stream = GenerationStream(produce, lock=lock)
    assert not lock.locked()  # nothing taken before the first next()
    assert next(stream) == "a"
    assert lock.locked()
    stream.close()
    assert not lock.locked()
    assert closed == [True]  # the producer's cleanup ran: an engine would stop here
    assert stream.usage.finish_reason == "closed"
    assert stream.usage.first_token_s is not None


def test_exhausted_stream_fills_timings_and_releases_the_lock():
    lock = threading.Lock()

    def produce(usage: Usage):
        yield "x"
        yield ""  # empty deltas are skipped, not surfaced
        yield "y"
        usage.finish_reason = "stop"

    with GenerationStream(produce, lock=lock) as stream:
        assert list(stream) == ["x", "y"]
    assert not lock.locked()
    assert stream.usage.total_s >= stream.usage.first_token_s >= 0
    assert stream.usage.prefill_s == stream.usage.first_token_s  # no engine timer here


def test_english_sentences_keep_decimals_abbreviations_and_initials():
    text = "Take 2.5 mg daily, e.g. with food. Dr. Smith and J. Lee agree! Is it safe? Yes."
    assert split_sentences(text) == [
        "Take 2.5 mg daily, e.g. with food.",
        "Dr. Smith and J. Lee agree!",
        "Is it safe?",
        "Yes.",
    ]


def test_chinese_sentences_split_on_full_width_terminators_and_lines():
    text = "成年人可以邮寄续办护照。加急需要多久？“请携带身份证。”第二条\n申请表；照片两张"
    assert split_sentences(text) == [
        "成年人可以邮寄续办护照。",
        "加急需要多久？",
        "“请携带身份证。”",
        "第二条",
        "申请表；",
        "照片两张",
    ]
    assert is_cjk("加急服务需要2至3周，另收费60美元。")
    assert not is_cjk("Mail renewal takes 6-8 weeks.")


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("A child with a disability", True),
        ("Reduced fee or 'No Fee' non-driver IDs", True),
        ("辅助检查", True),
        ("（1）病史摘要", False),  # a figure: numbered, so read as data, not as a title
        ("You can renew online.", False),
        ("- Have a valid Social Security number", False),
        ("血糖： 16.7mmol/L", False),
        ("下肢皮肤红疹，水疱", False),
        ("Applicants who were never issued a card must apply in person at an office", False),
    ],
)
def test_heading_lines_are_told_from_statements_list_items_and_data(line, heading):
    assert is_heading(line) is heading
