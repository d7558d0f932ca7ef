"""Text clean-up shared by every parser, plus small CJK-aware helpers."""

from __future__ import annotations

import re
import unicodedata

# Zero-width characters and bidi overrides: invisible in a browser, so they
# only break search matches or hide text direction tricks in citations.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    )
)
# C0/C1 controls other than \t and \n (\r is folded into \n before this runs).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Every Unicode space except U+3000: the ideographic space is how Chinese
# documents indent and is meaningful to keep.
_SPACES = re.compile(r"[ \u00a0\u1680\u2000-\u200a\u202f\u205f]+")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_LEADING_SPACE = re.compile(r"\n[ ]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")

_CJK_CHAR = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\u3000-\u303f\uff00-\uffef]"
)
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def normalize_text(s: str) -> str:
    """Canonical form of one block's text.

    NFC rather than NFKC: NFKC would turn full-width Chinese punctuation
    (，。：) into ASCII and change what citations quote.
    """
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = s.replace("\u2028", "\n").replace("\u2029", "\n").replace("\x0c", "\n")
    s = s.translate(_INVISIBLE)
    s = _CONTROL.sub("", s)
    s = unicodedata.normalize("NFC", s)
    s = _SPACES.sub(" ", s)
    s = _TRAILING_SPACE.sub("\n", s)
    s = _LEADING_SPACE.sub("\n", s)
    s = _MANY_NEWLINES.sub("\n\n", s)
    return s.strip()


def is_cjk(ch: str) -> bool:
    """True for CJK ideographs and CJK/full-width punctuation."""
    return bool(_CJK_CHAR.match(ch))


def join_lines(lines: list[str]) -> str:
    """Rejoin hard-wrapped lines of one paragraph.

    English lines get a space (or lose a trailing hyphen when a word was split);
    a line break between two Chinese characters is dropped, because Chinese does
    not separate words with spaces and a stray space splits words for search.
    """
    parts: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if parts:
            prev = parts[-1]
            if is_cjk(prev[-1]) or is_cjk(line[0]):
                pass
            elif prev.endswith("-") and len(prev) > 1 and prev[-2].isalpha() and line[0].islower():
                parts[-1] = prev[:-1]
            else:
                parts.append(" ")
        parts.append(line)
    return "".join(parts)


def detect_language(text: str) -> str:
    """``"zh"`` when Han characters dominate, else ``"en"``.

    One Han character carries about as much as an English word (~5 letters),
    so Han characters count five times against Latin letters: a Chinese
    policy full of English acronyms stays "zh", an English guideline quoting a
    few Chinese names stays "en".
    """
    sample = text[:200_000]
    han = len(_HAN.findall(sample))
    latin = len(_LATIN_LETTER.findall(sample))
    if han == 0:
        return "en"
    return "zh" if han * 5 >= latin else "en"
