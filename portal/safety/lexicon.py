"""Sensitive-term matching with an Aho-Corasick automaton (pyahocorasick), linear in the text.

The automaton is compiled once per process and tagged with the newest LexiconVersion id. At most
every SAFETY_LEXICON_CHECK_S seconds a process asks the database for that id (one indexed query)
and recompiles when an admin's edit produced a newer version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from portal.safety.normalize import fold


@dataclass(frozen=True)
class TermInfo:
    term: str
    category: str
    language: str
    action: str


@dataclass(frozen=True)
class LexiconHit:
    term: str
    category: str
    action: str
    start: int
    end: int


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


class CompiledLexicon:
    """An immutable automaton over folded terms; ``match`` is safe to call from many threads."""

    def __init__(self, terms: Iterable[TermInfo], version: int = 0) -> None:
        self.version = version
        self._automaton = ahocorasick.Automaton()
        count = 0
        for info in terms:
            key = fold(info.term)
            if not key:
                continue
            existing = self._automaton.get(key, None)
            # Two rows folding to the same key: keep the stricter action.
            if existing is None or _SEVERITY[info.action] > _SEVERITY[existing[1].action]:
                self._automaton.add_word(key, (len(key), info))
                count += existing is None
        self.size = count
        if count:
            self._automaton.make_automaton()

    def match(self, folded_text: str) -> list[LexiconHit]:
        """Hits in ``folded_text`` (already passed through normalize.fold)."""
        if not self.size:
            return []
        hits = []
        for end, (length, info) in self._automaton.iter(folded_text):
            start = end - length + 1
            # ASCII terms match whole words only ("kill" must not fire inside "skill").
            if (
                _is_word_char(folded_text[start])
                and start > 0
                and _is_word_char(folded_text[start - 1])
            ):
                continue
            if (
                _is_word_char(folded_text[end])
                and end + 1 < len(folded_text)
                and _is_word_char(folded_text[end + 1])
            ):
                continue
            hits.append(LexiconHit(info.term, info.category, info.action, start, end + 1))
        return hits


_SEVERITY = {"flag": 0, "caution": 1, "hold": 2, "refuse": 3}

_lock = threading.Lock()
_current: CompiledLexicon | None = None
_checked_at = 0.0


def _latest_version_id() -> int:
    from portal.safety.models import LexiconVersion

    return LexiconVersion.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _load(version: int) -> CompiledLexicon:
    from portal.safety.models import SensitiveTerm

    rows = SensitiveTerm.objects.filter(enabled=True).values_list(
        "term", "category", "language", "action"
    )
    return CompiledLexicon((TermInfo(*row) for row in rows.iterator(chunk_size=5000)), version)


def lexicon_current(*, check_interval_s: float | None = None) -> CompiledLexicon:
    """The process's compiled lexicon, recompiled when the database holds a newer version."""
    global _current, _checked_at
    from django.conf import settings

    interval = settings.SAFETY_LEXICON_CHECK_S if check_interval_s is None else check_interval_s
    now = time.monotonic()
    if _current is not None and now - _checked_at < interval:
        return _current
    with _lock:
        if _current is not None and time.monotonic() - _checked_at < interval:
            return _current
        latest = _latest_version_id()
        if _current is None or _current.version != latest:
            _current = _load(latest)
        _checked_at = time.monotonic()
        return _current


def lexicon_forget() -> None:
    """Drop the cached automaton (tests; a process that just edited the lexicon)."""
    global _current, _checked_at
    with _lock:
        _current = None
        _checked_at = 0.0
