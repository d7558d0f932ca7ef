"""Passages as evidence: cut into sentences once per answer, each with its content units.

A claim rests on a *window*: one statement of its passage, or two adjacent ones. Questions in a
passage (a study's title "Does X lower Y?") are left out of every window: they support nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import textkit
from llm_backend.text import title_lines


def word_units(text: str) -> frozenset[str]:
    """Content units without the numbers: numbers are compared by value (``NUMBER_MISSING``), so
    "six to eight weeks" and "6-8 weeks" cover each other's words."""
    quantities = textkit.numbers(text)
    for quantity in sorted(quantities, key=lambda q: q.start, reverse=True):
        text = text[: quantity.start] + " " + text[quantity.end :]
    return frozenset(textkit.content_units(text))


# A Chinese yes/no question may close with 。 after its particle ("可以在网上申诉吗。").
_QUESTION_PARTICLES = ("吗", "呢")


def is_question(sentence: str) -> bool:
    stripped = sentence.rstrip()
    if stripped.endswith(("?", "？")):
        return True
    return stripped.rstrip("。.！!").endswith(_QUESTION_PARTICLES)


@dataclass(frozen=True)
class Window:
    label: str
    text: str
    units: frozenset[str]


@dataclass
class PassageEvidence:
    """A passage the model was given, under the label it was given."""

    label: str
    text: str
    sentences: list[str] = field(default_factory=list)
    units: list[frozenset[str]] = field(default_factory=list)
    # Groups its document is about though this passage may not name them (a case record's
    # patient, named in one section only): see ``DOCUMENT_GROUP_TERMS``.
    implied: frozenset[str] = frozenset()
    titles: frozenset[str] = frozenset()  # lines that name a section rather than say anything
    language: str = "en"

    @classmethod
    def of(
        cls,
        label: str,
        text: str,
        implied: frozenset[str] = frozenset(),
        *,
        document_title: str = "",
    ) -> PassageEvidence:
        sentences = textkit.split_sentences(text) or [text]
        units = [word_units(s) for s in sentences]
        # The document's name counts as a title too: the prompt shows it on the passage's fence.
        titles = set(title_lines(text))
        if document_title.strip():
            titles.add(document_title.strip())
        return cls(
            label,
            text,
            sentences,
            units,
            frozenset(implied),
            frozenset(titles),
            textkit.language_of(text),
        )

    def line_before(self, span: str) -> str:
        """The passage sentence just before the first one ``span`` holds ("" if none)."""
        for i, sentence in enumerate(self.sentences):
            if sentence and sentence in span:
                return self.sentences[i - 1] if i else ""
        return ""

    def windows(self) -> list[Window]:
        statement = [not is_question(s) for s in self.sentences]
        out = [
            Window(self.label, s, u)
            for s, u, ok in zip(self.sentences, self.units, statement, strict=True)
            if ok
        ]
        for i in range(len(self.sentences) - 1):
            if statement[i] and statement[i + 1]:
                out.append(
                    Window(
                        self.label,
                        f"{self.sentences[i]} {self.sentences[i + 1]}",
                        self.units[i] | self.units[i + 1],
                    )
                )
        return out

    @property
    def stated(self) -> frozenset[str]:
        """Every unit its statements hold (questions and titles do not state anything)."""
        return frozenset().union(
            *(u for s, u in zip(self.sentences, self.units, strict=True) if not is_question(s))
        )


# Groups a whole document can be about without every passage naming them. A case record says
# "周XX，男，34岁" in one section and "患者左侧卧位" in another: "患者便血1周" does not narrow the
# rule to a new group, it names the record's subject. Only "patient": a policy page that names
# children somewhere does not make every passage of it about children.
DOCUMENT_GROUP_TERMS = {"patient": ("患者", "病人", "patient")}


def without_document_groups(text: str, implied: frozenset[str]) -> str:
    """``text`` without the Chinese words naming groups its document implies."""
    for group in implied & DOCUMENT_GROUP_TERMS.keys():
        for term in DOCUMENT_GROUP_TERMS[group]:
            if not term.isascii():
                text = text.replace(term, "")
    return text
