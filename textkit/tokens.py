"""Words, stems and content units: the one tokenizer of the project.

``words`` is the keyword tokenizer BM25 indexes with (moved here from ``ingestion.tokenize``,
same output). Chinese runs are cut with jieba's search mode (which also emits the shorter words
inside long ones, so "医疗保险" matches "保险") and, in addition, into overlapping character pairs
marked with a leading "_" ("_医疗", "_疗保", ...). The pairs match where jieba cuts a colloquial
question and a formal text differently; on the STARD dev split they lifted BM25 recall@10 from
0.465 to 0.477. Latin runs are split on non-word characters, lower-cased, stripped of stop words
(lexicons/stopwords_en.txt) and of plural/possessive endings.

Stored chunk tokens come from ``words``; after changing it (or the stop word files),
``manage.py rebuild_index`` re-tokenizes every chunk.

``stem``, ``terms`` and ``content_units`` build on ``words`` for matching meaning rather than
keywords: English Snowball stems (as search engines stem English) so "changed" meets "changes",
and, for Chinese, characters and character pairs, because word segmentation of a paraphrase is
unstable.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from functools import lru_cache
from pathlib import Path

import snowballstemmer

from textkit import lexicons
from textkit.script import CJK_RUN, is_cjk_char

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_jieba_lock = threading.Lock()
_jieba = None
_stemmer = threading.local()  # Snowball stemmers keep state between calls: one per thread


def _jieba_tokenizer():
    """jieba loads its dictionary on first use (~2 s) and caches it; the cache goes to
    ~/.cache/jieba rather than the system temp folder, which may be read-only or shared."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            cache_dir = Path.home() / ".cache" / "jieba"
            cache_dir.mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(cache_dir)
            jieba.initialize()
            _jieba = jieba
        return _jieba


def _latin(word: str) -> str:
    # Plural and possessive endings only: a light touch that keeps BM25's tokens readable. Real
    # stemming is ``stem``, applied where meaning is matched.
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _latin_tokens(segment: str) -> list[str]:
    stop = lexicons.load("stopwords_en")
    return [_latin(w) for w in _WORD.findall(segment) if w not in stop]


def words(text: str) -> list[str]:
    """BM25 keyword tokens: jieba words and "_"-marked character pairs for Chinese runs,
    lower-cased Latin words and numbers (stop words dropped, plurals folded) for the rest."""
    tokens: list[str] = []
    position = 0
    lowered = text.lower()
    cjk_stop = lexicons.load("stopwords_zh")
    for match in CJK_RUN.finditer(lowered):
        tokens.extend(_latin_tokens(lowered[position : match.start()]))
        jieba = _jieba_tokenizer()
        run = match.group()
        tokens.extend(t for t in jieba.cut_for_search(run) if t.strip() and t not in cjk_stop)
        tokens.extend("_" + run[i : i + 2] for i in range(len(run) - 1))
        position = match.end()
    tokens.extend(_latin_tokens(lowered[position:]))
    return tokens


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English Snowball stem of a Latin word ("changed" -> "chang"); Chinese words, pairs
    and anything not purely alphabetic ("u.s", "16") stay as they are."""
    if not word.isascii() or not word.isalpha():
        return word
    if not hasattr(_stemmer, "english"):
        _stemmer.english = snowballstemmer.stemmer("english")
    return _stemmer.english.stemWord(word)


def terms(text: str) -> list[str]:
    """Stems of the content words of ``text``, in order: ``words`` without the "_" character
    pairs (a recall device for BM25, not words) and without stop words (checked again after the
    plural fold: "others" -> "other")."""
    stop = lexicons.load("stopwords_en") | lexicons.load("stopwords_zh")
    return [stem(w) for w in words(text) if not w.startswith("_") and w not in stop]


@lru_cache(maxsize=1)
def _generic_stems() -> frozenset[str]:
    generic = lexicons.load("generic_en")
    return frozenset(generic | {stem(w) for w in generic})


def content_units(text: str) -> set[str]:
    """What the verifier compares between a sentence and a passage:

    - English: Snowball stems of content words (two letters or more, stop words and the frame
      words of generic_en.txt left out), so "renewal"/"renewing" and "applied"/"applies" meet;
    - Chinese: each character prefixed "c:" (function characters of function_zh.txt left out)
      and each pair of adjacent characters within a run prefixed "b:". Pairs do not straddle
      punctuation or Latin text: "续办护照。加急" has no pair "照加", which no paraphrase repeats.

    Numbers stay as units ("16"); compare values with ``textkit.numbers``.
    """
    units: set[str] = set()
    generic = _generic_stems()
    for word in words(text):
        if word.startswith("_") or CJK_RUN.search(word) or len(word) < 2:
            continue
        stemmed = stem(word)
        if word not in generic and stemmed not in generic:
            units.add(stemmed)
    function = lexicons.load("function_zh")
    for run in CJK_RUN.findall(text):
        units.update(f"c:{c}" for c in run if c not in function)
        units.update(f"b:{a}{b}" for a, b in itertools.pairwise(run))
    return units


def abbreviates(short: str, word: str) -> bool:
    """Is Chinese ``short`` a short form of ``word``, as the public says what statutes spell out?

    - 2-3 characters: an abbreviation (缩略语): ``word`` is longer, starts with the same character
      and holds the short form's characters in order (社保 -> 社会保险, 医保 -> 医疗保险,
      失业金 -> 失业保险金, 残联 -> 残疾人联合会);
    - 1 character: the everyday verb of a two-character compound it begins (丢 -> 丢失,
      领 -> 领取, 换 -> 换领).

    Callers apply it only to question terms the texts never use, so a word that is there is
    always matched as itself first."""
    if not short or not all(is_cjk_char(ch) for ch in short + word) or word[0] != short[0]:
        return False
    if len(short) == 1:
        return len(word) == 2
    if len(short) > 3 or len(word) <= len(short):
        return False
    rest = iter(word[1:])
    return all(ch in rest for ch in short[1:])
