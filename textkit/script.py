"""Which characters are Chinese: the one definition every text rule in the project shares.

Before this module the tokenizer, the sentence splitter, the verifier and the safety layer each
had their own range, so a character could be Chinese to one and punctuation to another. The class
covers the CJK Unified Ideographs (U+4E00-U+9FFF), extension A (U+3400-U+4DBF), the compatibility
ideographs (U+F900-U+FAFF) and extension B (U+20000-U+2A6DF, rare characters in names and old
texts). Chinese punctuation (U+3000-U+303F) and full-width forms (U+FF00-U+FFEF) are not
characters of a word and are left out on purpose.
"""

from __future__ import annotations

import re

# The ranges alone, to combine into a larger class: f"[{CJK_RANGES}0-9]".
CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df"
# The character class as a regex string: re.compile(CJK_CHARS + "+") finds runs.
CJK_CHARS = f"[{CJK_RANGES}]"
CJK_CHAR = re.compile(CJK_CHARS)
CJK_RUN = re.compile(CJK_CHARS + "+")


def is_cjk_char(c: str) -> bool:
    """Whether the single character ``c`` is a Chinese character (not punctuation)."""
    return len(c) == 1 and CJK_CHAR.match(c) is not None


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains at least one Chinese character."""
    return CJK_CHAR.search(text) is not None


def cjk_count(text: str) -> int:
    """How many Chinese characters ``text`` holds."""
    return len(CJK_CHAR.findall(text))
