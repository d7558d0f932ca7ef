"""Cutting drafts into sentences and reading their citation markers (portal/qa/sentences.py)."""

from __future__ import annotations

from portal.qa.sentences import SentenceStream, split_sentences
from portal.qa.verify import PassageEvidence


def test_split_reads_markers_before_and_after_the_terminator_and_fullwidth_brackets():
    sentences = split_sentences(
        "Adults may renew by mail [1]. It takes 6-8 weeks. [2][3] "
        "成年人可以邮寄【4】。Dose 2.5 mg [1]"
    )
    assert [(s.text, s.labels) for s in sentences] == [
        ("Adults may renew by mail.", ("1",)),
        ("It takes 6-8 weeks.", ("2", "3")),
        ("成年人可以邮寄。", ("4",)),
        ("Dose 2.5 mg", ("1",)),
    ]


def test_streaming_split_releases_a_sentence_only_when_its_markers_are_complete():
    text = "Adults may renew by mail. [1] It takes 2.5 weeks [2]. Last one [3]"
    stream = SentenceStream()
    released: list[tuple[str, tuple[str, ...]]] = []
    for i in range(0, len(text), 2):  # two characters at a time, like tokens
        for s in stream.feed(text[i : i + 2]):
            released.append((s.text, s.labels))
    assert released == [("Adults may renew by mail.", ("1",)), ("It takes 2.5 weeks.", ("2",))]
    assert [(s.text, s.labels) for s in stream.close()] == [("Last one", ("3",))]


def test_dotted_acronyms_do_not_end_a_sentence_in_drafts_or_passages():
    """ "Are a U.S. citizen ..." was quoted from "citizen residing in ...": a fragment."""
    drafted = split_sentences("You must be a U.S. citizen residing in one of the fifty states [1].")
    assert [s.text for s in drafted] == [
        "You must be a U.S. citizen residing in one of the fifty states."
    ]
    evidence = PassageEvidence.of(
        "1", "You can apply online if you: Are a U.S. citizen residing in one of the 50 states."
    )
    assert evidence.sentences == [evidence.text]
