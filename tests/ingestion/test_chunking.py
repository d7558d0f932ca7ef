from __future__ import annotations

import itertools

import pytest

from ingestion.chunking import chunk_document, split_sentences
from ingestion.parsers import parse_bytes
from ingestion.parsers.assemble import RawBlock, build_document
from ingestion.sniff import TEXT
from tests.ingestion import factories


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def _assert_invariants(doc, chunks, *, max_chars):
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert doc.text[c.char_start : c.char_end] == c.text
        assert 0 < len(c.text) <= max_chars
        assert c.text == c.text.strip()


def test_chinese_sentences():
    text = "第一句话。第二句话！“第三句？”他说。最后……结束；还有"
    assert _sentences(text) == [
        "第一句话。",
        "第二句话！",
        "“第三句？”",
        "他说。",
        "最后……",
        "结束；",
        "还有",
    ]


def test_english_sentences_do_not_split_on_abbreviations():
    text = (
        "Dr. Smith moved to the U.S. in 2010 and earns 3.5 times more, e.g. in the clinic. "
        "See No. 5 and Fig. 2 for details, i.e. the table. Mr. J. Smith agreed! Did he? Yes."
    )
    assert _sentences(text) == [
        "Dr. Smith moved to the U.S. in 2010 and earns 3.5 times more, e.g. in the clinic.",
        "See No. 5 and Fig. 2 for details, i.e. the table.",
        "Mr. J. Smith agreed!",
        "Did he?",
        "Yes.",
    ]


def test_sentences_split_on_line_breaks_and_keep_list_numbers():
    text = "1. Submit the form.\n2. Wait. Then call us.\n- last item"
    assert _sentences(text) == ["1. Submit the form.", "2. Wait.", "Then call us.", "- last item"]


def test_sentence_spans_are_trimmed_offsets():
    text = "  Hello there.   General Kenobi.  "
    assert split_sentences(text) == [(2, 14), (17, 32)]


def test_pdf_chunks_respect_sections_pages_and_offsets():
    doc = parse_bytes(factories.pdf_with_sections(pages=3))
    chunks = chunk_document(doc, max_chars=300, overlap_chars=80)

    _assert_invariants(doc, chunks, max_chars=300)
    assert len(chunks) > 6
    for c in chunks:
        covered = [b for b in doc.blocks if b.char_start < c.char_end and b.char_end > c.char_start]
        # A chunk never straddles two sections: every body block it touches has its heading path.
        assert {b.heading_path for b in covered if b.kind != "heading"} <= {c.heading_path}
        assert c.page_start == c.page_end == covered[0].page
    first = chunks[0]
    # The chapter heading has no text of its own, so it opens its first subsection's chunk.
    assert first.text.startswith("1 Chapter 1\n\n1.1 Eligibility\n\nPage 1 first paragraph.")
    assert first.heading_path == ("1 Chapter 1", "1.1 Eligibility")
    assert chunks[-1].page_start == 3
    assert chunks[-1].heading_path == ("3 Chapter 3", "3.1 Eligibility")


def test_overlap_is_whole_trailing_sentences_within_a_section():
    sentences = [f"Sentence number {i} is about topic {i}." for i in range(30)]
    doc = build_document(
        [RawBlock("heading", "Topic", level=1), RawBlock("paragraph", " ".join(sentences))],
        media_type=TEXT,
        title=None,
    )
    chunks = chunk_document(doc, max_chars=200, overlap_chars=80)
    _assert_invariants(doc, chunks, max_chars=200)
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.char_start < prev.char_end, "consecutive chunks overlap"
        overlap = doc.text[nxt.char_start : prev.char_end]
        assert 0 < len(overlap) <= 80
        assert overlap in sentences or overlap.split(". ")[0] + "." in sentences
        assert nxt.text.startswith("Sentence number")
    # No overlap at all when asked for none.
    flat = chunk_document(doc, max_chars=200, overlap_chars=0)
    for prev, nxt in itertools.pairwise(flat):
        assert nxt.char_start > prev.char_end


def test_no_overlap_across_sections():
    doc = build_document(
        [
            RawBlock("heading", "A", level=1),
            RawBlock("paragraph", "Alpha one. Alpha two."),
            RawBlock("heading", "B", level=1),
            RawBlock("paragraph", "Beta one. Beta two."),
        ],
        media_type=TEXT,
        title=None,
    )
    chunks = chunk_document(doc, max_chars=800, overlap_chars=120)
    assert [(c.text, c.heading_path) for c in chunks] == [
        ("A\n\nAlpha one. Alpha two.", ("A",)),
        ("B\n\nBeta one. Beta two.", ("B",)),
    ]


def test_long_chinese_sentence_splits_at_clause_boundaries():
    clause = "参保人员在定点医疗机构发生的住院费用"
    sentence = "，".join([clause] * 12) + "。"
    doc = build_document([RawBlock("paragraph", sentence)], media_type=TEXT, title=None)
    chunks = chunk_document(doc, max_chars=100, overlap_chars=0)
    _assert_invariants(doc, chunks, max_chars=100)
    assert len(chunks) > 2
    assert all(c.text.endswith(("，", "。")) for c in chunks)
    assert "".join(c.text for c in chunks) == sentence


def test_unbreakable_text_is_cut_hard_at_max_chars():
    doc = build_document([RawBlock("paragraph", "x" * 250)], media_type=TEXT, title=None)
    chunks = chunk_document(doc, max_chars=100, overlap_chars=20)
    assert [len(c.text) for c in chunks] == [100, 100, 50]
    _assert_invariants(doc, chunks, max_chars=100)


def test_chunk_page_range_spans_pages_of_covered_blocks():
    doc = build_document(
        [
            RawBlock("heading", "Dosage", level=1, page=4),
            RawBlock("paragraph", "Adults take one tablet.", page=4),
            RawBlock("paragraph", "Children take half a tablet.", page=5),
        ],
        media_type="application/pdf",
        title=None,
        page_count=5,
    )
    (chunk,) = chunk_document(doc)
    assert (chunk.page_start, chunk.page_end) == (4, 5)
    assert chunk.heading_path == ("Dosage",)


def test_chunking_is_deterministic_and_validates_arguments():
    doc = parse_bytes(factories.docx_with_headings_and_table())
    assert chunk_document(doc, max_chars=120) == chunk_document(doc, max_chars=120)
    with pytest.raises(ValueError):
        chunk_document(doc, max_chars=100, overlap_chars=-1)
    with pytest.raises(ValueError):
        chunk_document(doc, max_chars=0)
    # An overlap as large as the chunk is capped; chunking still makes progress.
    tight = chunk_document(doc, max_chars=60, overlap_chars=500)
    _assert_invariants(doc, tight, max_chars=60)
    assert tight[-1].char_end == doc.blocks[-1].char_end
