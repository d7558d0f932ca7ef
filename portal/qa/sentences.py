"""Cutting drafts into sentences and reading their citation markers, whole or while streaming.

A draft cites with numbered markers: "Adults may renew by mail [1]." or "... by mail. [1][3]".
Markers directly before or after a sentence's final punctuation belong to that sentence. Full-width
brackets (【1】, ［1］) that Chinese output sometimes uses are read the same way.

The streaming splitter releases a sentence only once it is certainly finished (its terminator and
any markers after it have arrived), so the verifier never judges half a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from textkit import abbreviation_before

_MARKER = re.compile(r"\s*[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]")
# A sentence ends at CJK terminators, at . ! ? followed by a space/end (not "2.5" or "e.g."),
# or at a line break. Markers after the terminator are part of the sentence.
_TERMINATOR = re.compile(r"[。！？；!?]|\.(?=\s|$|[\[【［])|\n+")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "dr.", "mr.", "mrs.", "ms.", "no.", "vs.", "approx.")


@dataclass(frozen=True)
class DraftSentence:
    text: str  # the sentence without its citation markers, stripped
    labels: tuple[str, ...]  # cited passage labels in order of appearance, deduplicated
    raw: str  # exactly as drafted, markers included

    @property
    def cited(self) -> bool:
        return bool(self.labels)


def _labels(raw: str) -> tuple[str, ...]:
    found: list[str] = []
    for match in _MARKER.finditer(raw):
        for label in re.split(r"\s*[,，、]\s*", match.group(1)):
            if label not in found:
                found.append(label)
    return tuple(found)


def strip_markers(text: str) -> str:
    # The marker pattern takes the space before it, so "mail [1]." becomes "mail." and the rest
    # of the sentence stays exactly as written (quotes must remain verbatim).
    return _MARKER.sub("", text).strip()


def _sentence(raw: str) -> DraftSentence | None:
    text = strip_markers(raw)
    labels = _labels(raw)
    if not re.search(r"\w", text):
        # Punctuation alone is dropped; markers alone are kept so they can join the sentence before.
        return DraftSentence(text="", labels=labels, raw=raw.strip()) if labels else None
    return DraftSentence(text=text, labels=labels, raw=raw.strip())


def _is_abbreviation(buffer: str, end: int) -> bool:
    tail = buffer[max(0, end - 8) : end + 1].lower()
    # Also ingestion's list ("U.S.", initials): "Are a U.S. citizen ..." is one sentence, in a
    # draft as in the passage it came from.
    return any(tail.endswith(a) for a in _ABBREVIATIONS) or abbreviation_before(
        buffer[max(0, end - 40) : end]
    )


def _boundaries(buffer: str, *, final: bool) -> Iterator[int]:
    """Offsets just after each certainly-complete sentence (terminator plus trailing markers)."""
    for match in _TERMINATOR.finditer(buffer):
        end = match.end()
        if match.group().startswith(".") and _is_abbreviation(buffer, match.start()):
            continue
        while (marker := _MARKER.match(buffer, end)) is not None:
            end = marker.end()
        rest = buffer[end:]
        if not final and not rest.strip():
            # Nothing after it yet: a marker or more of a number ("2." -> "2.5") may still come.
            return
        if not final and rest.lstrip()[:1] in "[【［" and _MARKER.match(rest) is None:
            return  # a marker has started but is not complete yet
        yield end


def split_sentences(text: str) -> list[DraftSentence]:
    sentences: list[DraftSentence] = []
    start = 0
    for end in _boundaries(text, final=True):
        if end <= start:
            continue
        if (s := _sentence(text[start:end])) is not None:
            sentences.append(s)
        start = end
    if (s := _sentence(text[start:])) is not None:
        sentences.append(s)
    return _attach_orphan_markers(sentences)


def _attach_orphan_markers(sentences: list[DraftSentence]) -> list[DraftSentence]:
    # A line holding only "[2]" (the marker on its own line) cites the sentence before it.
    out: list[DraftSentence] = []
    for s in sentences:
        if not s.text and out:
            prev = out[-1]
            out[-1] = DraftSentence(
                prev.text, tuple(dict.fromkeys(prev.labels + s.labels)), prev.raw
            )
        elif s.text:
            out.append(s)
    return out


class SentenceStream:
    """Feed text deltas; get back the sentences that are complete so far."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, delta: str) -> list[DraftSentence]:
        self._buffer += delta
        out: list[DraftSentence] = []
        start = 0
        for end in _boundaries(self._buffer, final=False):
            if (s := _sentence(self._buffer[start:end])) is not None:
                out.append(s)
            start = end
        self._buffer = self._buffer[start:]
        return out

    def close(self) -> list[DraftSentence]:
        rest, self._buffer = self._buffer, ""
        return split_sentences(rest)
