"""Near words: a Chinese question term the passage lacks, met by a passage word of the same
meaning in the product's sentence embedding (社保 / 社会保险, 工资 / 劳动报酬, 派出所 / 公安机关).

The relevance gate's coverage counts a term only where the passage has it (answerability.py); a
citizen's words are rarely the statute's. The multilingual encoder the product already loads puts
such pairs close (cosine 0.6-0.9 on a hand check), but topical neighbours close too (派出所 /
身份证 0.59), so a near word earns part of the term's weight only (``ANSWER_TERM_NEAR_CREDIT``) and
only above a floor (``ANSWER_TERM_NEAR_FLOOR``). Off by default (``ANSWER_TERM_NEAR``): on
cn_law and STARD dev it traded withheld-source refusals for answers no better than the coverage
floor does (docs/decisions.md).

Only Chinese terms: English terms meet on Snowball stems, and the dev evidence is Chinese. Word
vectors are cached per process (a passage's words recur from question to question), so a warm
gate embeds only words it has not met.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from ingestion.embedding import load_embedder
from portal.qa.bridges import content_word
from textkit import is_cjk_char

_CACHE_SIZE = 200_000
_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_lock = threading.Lock()


def matchable(word: str) -> bool:
    """A Chinese content word (``bridges.content_word``: two characters or more, no number)."""
    return content_word(word) and all(is_cjk_char(c) for c in word)


def word_vectors(spec: str, words: list[str]) -> np.ndarray:
    """Unit vectors of ``words`` from the embedder ``spec``, cached per process."""
    if not words:
        return np.zeros((0, 0), dtype=np.float32)
    found: dict[str, np.ndarray] = {}
    with _lock:
        for word in words:
            hit = _cache.get((spec, word))
            if hit is not None:
                _cache.move_to_end((spec, word))
                found[word] = hit
    missing = [w for w in dict.fromkeys(words) if w not in found]
    if missing:
        fresh = load_embedder(spec).embed(missing)
        with _lock:
            for word, vector in zip(missing, fresh, strict=True):
                found[word] = vector
                _cache[(spec, word)] = vector
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return np.vstack([found[w] for w in words])


def near_terms(spec: str, terms: Iterable[str], words: Iterable[str], floor: float) -> set[str]:
    """The ``terms`` that some word of ``words`` meets at cosine >= ``floor``."""
    terms = [t for t in dict.fromkeys(terms) if matchable(t)]
    words = [w for w in dict.fromkeys(words) if matchable(w)]
    if not terms or not words:
        return set()
    sims = word_vectors(spec, terms) @ word_vectors(spec, words).T
    return {t for t, row in zip(terms, sims, strict=True) if float(row.max()) >= floor}
