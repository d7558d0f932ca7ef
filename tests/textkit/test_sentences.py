"""Sentence boundaries: abbreviations, decimals, initials, Chinese terminators, line breaks."""

from __future__ import annotations

from textkit import sentence_spans, split_sentences


def test_english_abbreviations_decimals_and_initials_do_not_end_a_sentence():
    # Given English prose with U.S., e.g., Dr., an initial and a decimal, when it is split,
    # then only the real sentence ends cut it.
    text = (
        "Are you a U.S. citizen? Take 2.5 mg daily, e.g. with food. "
        "Dr. Smith and J. Lee agree! Yes."
    )
    assert split_sentences(text) == [
        "Are you a U.S. citizen?",
        "Take 2.5 mg daily, e.g. with food.",
        "Dr. Smith and J. Lee agree!",
        "Yes.",
    ]


def test_chinese_terminators_and_line_breaks_end_sentences():
    # Given Chinese text with 。？；, a closing quote and list lines, when it is split, then each
    # terminator and each line break ends a sentence, the quote staying with its sentence.
    text = "成年人可以邮寄续办护照。加急需要多久？“请携带身份证。”第二条\n申请表；照片两张"
    assert split_sentences(text) == [
        "成年人可以邮寄续办护照。",
        "加急需要多久？",
        "“请携带身份证。”",
        "第二条",
        "申请表；",
        "照片两张",
    ]


def test_spans_are_exact_slices_without_surrounding_space():
    # Given a text with leading space and a list, when spans are taken, then each is an exact,
    # trimmed slice of the original.
    text = "  Bring:\n- a photo\n- the form.  "
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["Bring:", "- a photo", "- the form."]
