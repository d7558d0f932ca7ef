"""Text normalization and decoding for the guards (pure Python, no Django).

Attackers hide instructions from keyword rules with full-width letters, zero-width characters,
leetspeak, spaced-out letters, base64, hex, URL/unicode escapes, rot13 or reversed text. The guard
checks the folded text and every decoded variant, so a rule written once covers each disguise.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

from textkit import has_cjk, language_of

_ZERO_WIDTH = re.compile("[\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SPACE = re.compile(r"\s+")
_LATIN = re.compile(r"[A-Za-z]")
# Leetspeak is only undone inside tokens that mix letters with digits/symbols, so "400 mg" and
# "2024" keep their numbers.
_LEET_TOKEN = re.compile(r"\b(?=[a-z0-9@$|!]*[a-z])(?=[a-z0-9@$|!]*[0-9@$|!])[a-z0-9@$|!]{2,30}\b")
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "|": "l",
        "!": "i",
        "8": "b",
        "9": "g",
    }
)
# "i g n o r e" / "i.g.n.o.r.e" / "i-g-n-o-r-e": four or more single letters with one separator.
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_BASE64_URL = re.compile(r"(?<![A-Za-z0-9\-_=])[A-Za-z0-9\-_]{16,}={0,2}(?![A-Za-z0-9\-_=])")
_HEX_RUN = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}[ :]?){8,}(?![0-9a-fA-F])")
_HEX_ESC = re.compile(r"(?:\\x[0-9a-fA-F]{2}){4,}")
_UNI_ESC = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}|&#x?[0-9a-fA-F]+;){3,}")
_PCT = re.compile(r"(?:%[0-9a-fA-F]{2}){3,}")
_REVERSE_HINT = re.compile(r"revers|backward|倒序|倒着|反过来|逆序", re.I)
_ROT_HINT = re.compile(r"rot-?13|caesar|凯撒", re.I)
# Frequent English words: rot13 text is taken as a variant when decoding it reveals more of them.
_COMMON = frozenset(
    "the a an to of and you your how make is are i me my in for with what tell all ignore "
    "previous instructions system prompt rules do now can this that it be from".split()
)
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Views:
    """A text seen several ways: ``folded`` always, ``decoded`` as (how, text) pairs."""

    original: str
    folded: str
    decoded: tuple[tuple[str, str], ...]

    def all_texts(self) -> list[tuple[str, str]]:
        return [("plain", self.folded), *self.decoded]


def fold(text: str) -> str:
    """NFKC (full-width to ASCII, compatibility forms), no zero-width/bidi marks, lower case."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    return _SPACE.sub(" ", text).strip().lower()


def language_detect(text: str) -> str:
    """ "zh" or "en" by the project's one rule (``textkit.language_of``: Chinese characters
    counted in pairs against Latin words), so the safety notice and the answer agree."""
    return language_of(text)


def _printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    good = sum(1 for ch in text if ch.isprintable() or ch in "\n\t")
    return good / len(text)


def _accept(decoded: str) -> str | None:
    decoded = decoded.strip()
    if len(decoded) < 4 or _printable_ratio(decoded) < 0.95:
        return None
    # Decoded bytes must look like language: letters or Chinese, not binary that happens to decode.
    if not (_LATIN.search(decoded) or has_cjk(decoded)):
        return None
    return fold(decoded)


def _b64(blob: str, *, urlsafe: bool) -> str | None:
    padded = blob + "=" * (-len(blob) % 4)
    try:
        raw = (base64.urlsafe_b64decode if urlsafe else base64.b64decode)(padded)
        return _accept(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _hex(blob: str) -> str | None:
    digits = re.sub(r"[^0-9a-fA-F]", "", blob)
    if len(digits) % 2:
        return None
    try:
        return _accept(bytes.fromhex(digits).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def _common_words(text: str) -> int:
    return sum(1 for w in _WORD.findall(text) if w in _COMMON)


def deleet(text: str) -> str:
    leet_tokens = len(_LEET_TOKEN.findall(text))
    text = _LEET_TOKEN.sub(lambda m: m.group(0).translate(_LEET), text)
    if leet_tokens >= 3:
        # Heavy leetspeak: lone "1" / "4" / "0" are words too ("h0w d0 1 m4k3" -> "how do i make").
        text = re.sub(r"(?<![\w.,])[0134](?![\w.,%])", lambda m: m.group(0).translate(_LEET), text)
    return _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)


def views(text: str) -> Views:
    """Fold ``text`` and decode whatever looks encoded; cheap when nothing does."""
    folded = fold(text)
    out: list[tuple[str, str]] = []
    seen = {folded}

    def add(kind: str, value: str | None) -> None:
        if value and value not in seen:
            seen.add(value)
            out.append((kind, value))

    add("leetspeak", deleet(folded))
    raw = unicodedata.normalize("NFKC", _ZERO_WIDTH.sub("", text))
    for blob in _BASE64.findall(raw):
        add("base64", _b64(blob, urlsafe=False))
    for blob in _BASE64_URL.findall(raw):
        if "-" in blob or "_" in blob:
            add("base64", _b64(blob, urlsafe=True))
    for blob in _HEX_RUN.findall(raw):
        add("hex", _hex(blob))
    for blob in _HEX_ESC.findall(raw):
        add("hex", _hex(blob.replace("\\x", "")))
    if _UNI_ESC.search(raw):
        add("unicode_escape", _accept(_unescape(raw)))
    if False:  # replaced by _unescape, kept no fallback
        try:
            unescaped = (
                codecs.decode(
                    re.sub(
                        r"&#x([0-9a-fA-F]+);",
                        lambda m: chr(int(m.group(1), 16)),
                        re.sub(r"&#([0-9]+);", lambda m: chr(int(m.group(1))), raw),
                    ),
                    "unicode_escape",
                )
                if "\\" in raw
                else re.sub(
                    r"&#x?([0-9a-fA-F]+);",
                    lambda m: chr(int(m.group(1), 16 if "x" in m.group(0).lower() else 10)),
                    raw,
                )
            )
            add("unicode_escape", _accept(unescaped))
        except (UnicodeDecodeError, ValueError, OverflowError):
            pass
    if _PCT.search(raw):
        add("url_escape", _accept(unquote(raw)))
    if _LATIN.search(folded):
        rotated = codecs.encode(folded, "rot13")
        if _ROT_HINT.search(folded) or _common_words(rotated) >= max(3, 2 * _common_words(folded)):
            add("rot13", rotated)
    if _REVERSE_HINT.search(folded) or (
        _LATIN.search(folded) and _common_words(folded[::-1]) > 2 * _common_words(folded) + 2
    ):
        add("reversed", folded[::-1])
    # A decoded payload may itself be leetspeak or spaced out.
    for kind, value in list(out):
        if kind != "leetspeak":
            add(f"{kind}+leetspeak", deleet(value))
    return Views(original=text, folded=folded, decoded=tuple(out))


def _unescape(raw: str) -> str:
    """Undo \\uXXXX, \\UXXXXXXXX, &#N; and &#xN; escapes, leaving other text as it is."""

    def one(m: re.Match) -> str:
        token = m.group(0)
        try:
            if token.startswith("&#x") or token.startswith("&#X"):
                return chr(int(token[3:-1], 16))
            if token.startswith("&#"):
                return chr(int(token[2:-1]))
            return chr(int(token[2:], 16))
        except (ValueError, OverflowError):
            return token

    return re.sub(r"\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}|&#[xX][0-9a-fA-F]+;|&#[0-9]+;", one, raw)
