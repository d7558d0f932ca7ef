"""One text layer for the whole project, plain Python (no Django): which characters are Chinese,
which language a text is in, where sentences end, what the words, stems and content units are,
which numbers a text states and how its claims are qualified.

Before this package each part of the service had its own version of these rules, and they
disagreed ("糖尿病 diabetes" was Chinese to one detector and English to another; "Adults over 16
may renew" read as the month May to the fact checker). Everything that reads text goes through
here; word lists are data files in ``textkit/lexicons``.

``portal.evaluation`` judges answers independently and deliberately does not use this package.
"""

from textkit.language import Language, is_chinese, language_of
from textkit.numbers import Quantity, cn_numeral, numbers, values
from textkit.qualifiers import Qualifiers, bounds, qualifiers_of, subjects
from textkit.script import CJK_CHAR, CJK_CHARS, CJK_RANGES, CJK_RUN, cjk_count, has_cjk, is_cjk_char
from textkit.sentences import abbreviation_before, sentence_spans, split_sentences, trim_span
from textkit.tokens import abbreviates, content_units, stem, terms, words

__all__ = [
    "CJK_CHAR",
    "CJK_CHARS",
    "CJK_RANGES",
    "CJK_RUN",
    "Language",
    "Qualifiers",
    "Quantity",
    "abbreviates",
    "abbreviation_before",
    "bounds",
    "cjk_count",
    "cn_numeral",
    "content_units",
    "has_cjk",
    "is_chinese",
    "is_cjk_char",
    "language_of",
    "numbers",
    "qualifiers_of",
    "sentence_spans",
    "split_sentences",
    "stem",
    "subjects",
    "terms",
    "trim_span",
    "values",
    "words",
]
