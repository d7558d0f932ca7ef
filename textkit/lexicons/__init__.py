"""Word lists as data: one entry a line in ``<name>.txt`` (or ``term<TAB>value`` in ``<name>.tsv``)
next to this file, so a list can be read, reviewed and extended without reading regexes.

File format:

- ``#`` starts a comment (whole line or the rest of one); blank lines are skipped;
- a line starting with ``!`` is an exception: text that holds an entry but does not mean it
  ("not only" in only_en.txt, 是否 in negation_zh.txt). ``load`` leaves exceptions out and
  ``exceptions`` returns them; ``mentions`` removes them from the text before it searches;
- ``{n}`` in an entry (the bound_*.txt files) marks where a number stands; ``textkit.qualifiers``
  reads those, ``phrase_pattern`` refuses them.

Matching: an entry of ASCII text is a whole word or phrase, case-insensitive, any run of spaces
between its words ("in  general" = "in general"); an entry holding other characters (Chinese) is
a substring, since Chinese has no spaces to mark a word. Where entries overlap, the longest one
at a place is taken (未成年人 before 成年人, "non-resident" before "resident").

The files are plain package data read from this folder; they travel with the checkout and with
the Docker image (which copies the repository).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _path(name: str) -> Path:
    for suffix in (".txt", ".tsv"):
        path = HERE / f"{name}{suffix}"
        if path.is_file():
            return path
    raise LookupError(f"no lexicon named {name!r} in {HERE}")


@cache
def _lines(name: str) -> tuple[str, ...]:
    out = []
    for raw in _path(name).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return tuple(out)


@cache
def table(name: str) -> dict[str, str]:
    """``term -> value`` of a ``.tsv`` lexicon (``subjects``: term -> canonical group)."""
    found: dict[str, str] = {}
    for line in _lines(name):
        term, _, value = line.partition("\t")
        found[term.strip()] = value.strip()
    return found


@cache
def load(name: str) -> frozenset[str]:
    """The entries of lexicon ``name`` (for a ``.tsv``, its terms), exceptions left out."""
    return frozenset(
        line.split("\t", 1)[0].strip() for line in _lines(name) if not line.startswith("!")
    )


@cache
def exceptions(name: str) -> frozenset[str]:
    """The ``!`` entries of lexicon ``name``: phrases that hold an entry without meaning it."""
    return frozenset(line[1:].strip() for line in _lines(name) if line.startswith("!"))


def _entry_pattern(entry: str) -> str:
    if "{n}" in entry:
        raise ValueError(f"{entry!r} is a bound template; textkit.qualifiers reads those")
    body = r"\s+".join(re.escape(word) for word in entry.split())
    if entry.isascii():
        return rf"(?<![a-z0-9]){body}(?![a-z0-9])"
    return body


def compile_phrases(entries: Iterable[str]) -> re.Pattern[str]:
    """A pattern matching any of ``entries`` (see the module doc), longest first. An empty list
    gives a pattern that never matches."""
    ordered = sorted(set(entries), key=lambda e: (-len(e), e))
    if not ordered:
        return re.compile(r"(?!)")
    return re.compile("|".join(_entry_pattern(e) for e in ordered), re.IGNORECASE)


@cache
def phrase_pattern(name: str) -> re.Pattern[str]:
    """A pattern matching any entry of lexicon ``name``: ASCII entries as whole words, others as
    substrings, case-insensitive, the longest entry at a place first."""
    return compile_phrases(load(name))


@cache
def _exception_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    return compile_phrases(e for name in names for e in exceptions(name) | _limits(name))


def _limits(name: str) -> frozenset[str]:
    # negation_*.txt: phrases that state limits ("no more than", 不超过) are not negations.
    return load("negation_limits") if name.startswith("negation_") else frozenset()


def mentions(name: str, text: str) -> bool:
    """Whether ``text`` holds an entry of ``name`` once its exceptions are taken out (for the
    negation lexicons also the limits of negation_limits.txt)."""
    cleaned = _exception_pattern((name,)).sub(" ", text)
    return phrase_pattern(name).search(cleaned) is not None


def normalize_apostrophes(text: str) -> str:
    """Curly apostrophes made straight, so "don’t" matches the entry "don't"."""
    return text.replace("\u2019", "'").replace("\u2018", "'")
