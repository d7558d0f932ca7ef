"""DOCX export of a draft: citations as real Word footnotes, the AI-generated label twice.

python-docx has no footnote API, so the footnotes part is written here: ``word/footnotes.xml``
with the two separator footnotes Word expects (ids -1 and 0) and one footnote per citation
reference, related to the document part with the footnotes relationship; each reference in the
body is a ``w:footnoteReference`` run. Word, LibreOffice and python-docx's own reader open it.
A numbered "Sources" list at the end repeats the sources for readers whose viewer hides notes.

The "AI-generated" label is in the core properties (comments, keywords, category) and visibly at
the top of the first page; sentences staff edited that failed verification are highlighted.

Text typed in is normalised at the edge (portal/core/text_input.py), but drafts stored before that,
template texts and passages from ingested documents may still hold characters XML 1.0 cannot
contain (a vertical tab pasted from Word), on which lxml raises and the export failed with a 500:
every string goes through ``xml_safe`` on its way into the document.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from lxml import etree

from portal.core.text_input import xml_safe
from portal.drafting.models import Draft, SentenceState

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
AI_KEYWORDS = "AI-generated; draft; cited sources"
AI_CATEGORY = "AI-generated draft"
_LABEL = {
    "en": "AI-generated draft. Every statement cites an official source; check each one before "
    "sending.",
    "zh": "AI生成的草稿。每项陈述均注明官方来源；发送前请逐一核对。",
}
_UNVERIFIED = {
    "en": "Highlighted sentences were edited and are not supported by their cited source.",
    "zh": "高亮的句子经过编辑，其引用来源不能支持。",
}
_SOURCES = {"en": "Sources", "zh": "资料来源"}
QUOTE_CHARS = 300


def source_line(passage: dict, language: str) -> str:
    """The source as a reader cites it: title, version, section, page, effective date."""
    zh = language == "zh"
    parts = [passage["document_title"]]
    if passage.get("version"):
        parts.append(f"第{passage['version']}版" if zh else f"version {passage['version']}")
    if passage.get("section"):
        parts.append(" › ".join(passage["section"]))
    if passage.get("page"):
        parts.append(f"第{passage['page']}页" if zh else f"page {passage['page']}")
    if passage.get("effective_from"):
        eff = passage["effective_from"]
        parts.append(f"自{eff}起施行" if zh else f"in effect from {eff}")
    return ("，" if zh else ", ").join(parts)


def _footnote_text(sentence: dict, passage: dict, language: str) -> str:
    quote = (sentence.get("quote") or passage["text"]).strip()
    if len(quote) > QUOTE_CHARS:
        quote = quote[:QUOTE_CHARS].rstrip() + "…"
    return f"{source_line(passage, language)}: “{quote}”"


class _Footnotes:
    """Builds word/footnotes.xml as references are added to the body."""

    def __init__(self) -> None:
        self.root = etree.Element(qn("w:footnotes"), nsmap={"w": W})
        for note_id, kind, mark in (
            (-1, "separator", "w:separator"),
            (0, "continuationSeparator", "w:continuationSeparator"),
        ):
            note = etree.SubElement(self.root, qn("w:footnote"))
            note.set(qn("w:type"), kind)
            note.set(qn("w:id"), str(note_id))
            run = etree.SubElement(etree.SubElement(note, qn("w:p")), qn("w:r"))
            etree.SubElement(run, qn(mark))
        self.count = 0

    def add(self, text: str) -> int:
        self.count += 1
        note = etree.SubElement(self.root, qn("w:footnote"))
        note.set(qn("w:id"), str(self.count))
        paragraph = etree.SubElement(note, qn("w:p"))
        mark = etree.SubElement(paragraph, qn("w:r"))
        _superscript(mark)
        etree.SubElement(mark, qn("w:footnoteRef"))
        run = etree.SubElement(paragraph, qn("w:r"))
        props = etree.SubElement(run, qn("w:rPr"))
        etree.SubElement(props, qn("w:sz")).set(qn("w:val"), "18")  # 9 pt
        body = etree.SubElement(run, qn("w:t"))
        body.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        body.text = " " + xml_safe(text)
        return self.count

    def attach(self, document) -> None:
        part = Part(
            PackURI("/word/footnotes.xml"),
            CT.WML_FOOTNOTES,
            etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True),
            document.part.package,
        )
        document.part.relate_to(part, RT.FOOTNOTES)


def _superscript(run) -> None:
    props = etree.SubElement(run, qn("w:rPr"))
    etree.SubElement(props, qn("w:vertAlign")).set(qn("w:val"), "superscript")


def _reference(paragraph, note_id: int) -> None:
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    align = OxmlElement("w:vertAlign")
    align.set(qn("w:val"), "superscript")
    props.append(align)
    run.append(props)
    ref = OxmlElement("w:footnoteReference")
    ref.set(qn("w:id"), str(note_id))
    run.append(ref)
    paragraph._p.append(run)


def draft_docx(draft: Draft, *, author: str) -> bytes:
    language = draft.language if draft.language in _LABEL else "en"
    template = draft.template
    document = Document()
    props = document.core_properties
    props.title = xml_safe(draft.title)
    props.subject = xml_safe(template.name(language))
    props.author = xml_safe(author)
    props.last_modified_by = xml_safe(author)
    # Core properties hold at most 255 characters each (python-docx enforces it).
    props.comments = xml_safe(
        f"{AI_CATEGORY} by {draft.model_id or draft.backend}: every sentence cites an official "
        "source it was verified against; check each one before sending."
    )[:255]
    props.keywords = AI_KEYWORDS
    props.category = AI_CATEGORY

    label = document.add_paragraph()
    run = label.add_run(_LABEL[language])
    run.bold = True
    run.font.size = Pt(9)
    if draft.unverified_count:
        warn = label.add_run(" " + _UNVERIFIED[language])
        warn.font.size = Pt(9)
        warn.font.highlight_color = WD_COLOR_INDEX.YELLOW

    document.add_heading(xml_safe(draft.title), level=1)
    if template.opening(language):
        document.add_paragraph(xml_safe(template.opening(language)))

    passages = {p["label"]: p for p in draft.passages}
    footnotes = _Footnotes()
    cited: list[str] = []
    body = document.add_paragraph()
    separator = "" if language == "zh" else " "
    for i, sentence in enumerate(draft.sentences):
        text = xml_safe(sentence["text"])
        run = body.add_run(text if i == 0 else separator + text)
        if sentence["state"] == SentenceState.EDITED_UNVERIFIED:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        for label_ in sentence["citations"]:
            passage = passages.get(label_)
            if passage is None:
                continue
            _reference(body, footnotes.add(_footnote_text(sentence, passage, language)))
            if label_ not in cited:
                cited.append(label_)

    if template.closing(language):
        document.add_paragraph(xml_safe(template.closing(language)))
    if cited:
        document.add_heading(_SOURCES[language], level=2)
        for number, label_ in enumerate(cited, start=1):
            line = source_line(passages[label_], language)
            document.add_paragraph(xml_safe(f"[{number}] {line}"))
    footnotes.attach(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
