"""Text clean-up shared by every parser, plus the line-joining rule for Chinese text.

Which characters are Chinese, and which language a document is in, are textkit's rules
(``textkit.CJK_RANGES``, ``textkit.language_of``); nothing here redefines them.
"""

from __future__ import annotations

import re
import unicodedata

from textkit import CJK_RANGES

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

# Text written without spaces between words: Chinese characters (textkit's class) and the CJK
# punctuation (U+3000-U+303F) and full-width forms (U+FF00-U+FFEF) set among them.
_SPACELESS = re.compile(f"[{CJK_RANGES}\u3000-\u303f\uff00-\uffef]")


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


def is_spaceless(ch: str) -> bool:
    """True for a Chinese character (``textkit.is_cjk_char``) and for CJK/full-width punctuation:
    text that takes no space at a line break."""
    return bool(_SPACELESS.match(ch))


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
            if is_spaceless(prev[-1]) or is_spaceless(line[0]):
                pass
            elif prev.endswith("-") and len(prev) > 1 and prev[-2].isalpha() and line[0].islower():
                parts[-1] = prev[:-1]
            else:
                parts.append(" ")
        parts.append(line)
    return "".join(parts)
