"""Numbers in text, by value: the one numeral and date parser of the project.

A fact check compares values, not spellings: "six to eight weeks" must equal "6 to 8 weeks",
"一万五千" must equal "15,000", "百分之五" must equal "5%". ``numbers`` finds each quantity with
its span; ``values`` gives the set a fact check compares.

What counts, in the order the parser claims text (an earlier reading wins where two overlap):

1. dates, only in explicit patterns: "May 5", "May 5, 2024", "5 May 2024", "the 5th of May",
   "May 2024", "2024-05-01", "05/01/2024", "2024年5月1日", "5月1日", "2024年5月", "2024年".
   Each part is its own quantity of kind "date" (month 5, day 1, year 2024), so a date written
   two ways has the same values. "may" and "march" in lower case are verbs, never months:
   "Adults over 16 may renew by mail" holds 16 and nothing else;
2. percentages: "5%", "5 percent", "百分之五" (value 5, ``percent`` set);
3. ordinals: "第十条" (10), "21st", "first" (kind "ordinal": callers decide; ``values`` leaves
   out the English words by default, see there);
4. figures: "15,000", "1.5", "5万" (50000), "3亿", "1.5 million", "两个半" (2.5);
5. Chinese numerals: "十六", "一万五千", "两千", "三点五", "二〇二四"; a lone numeral (or a
   run of units alone, 千万) only right before a measure word (lexicons/classifiers_zh.txt), so
   the 一 of 一般 / 统一 and the 三 of 三甲 are not quantities; "半年", "一半" are 0.5;
   "两三天" is the range 2-3;
6. English number words: "one" to "ninety", "twenty-one", "two hundred and five", "a thousand",
   "a dozen" (12), "twice" (2), "half" (0.5), "one and a half" (1.5); "once" only as a frequency
   ("once a day"), since it is mostly a conjunction; "one" not in "no one", "the one".

Two quantities joined by "to", "-", "–", "~", "至", "到" (or "between ... and ...") with the
first below the second become one quantity of kind "range" (``value`` low, ``high`` high):
"6 to 8", "6-8 weeks", "six to eight", "6至8", "六到八", "5%-10%". A dash chain of three or
more ("1-800-772-1213") is an identifier, not a range.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from textkit import lexicons
from textkit.script import is_cjk_char

Kind = Literal["number", "date", "range", "ordinal"]


@dataclass(frozen=True)
class Quantity:
    value: float  # the number; a range's low end
    start: int  # span in the text the number was read from
    end: int
    kind: Kind = "number"
    high: float | None = None  # a range's high end
    percent: bool = False  # written as a percentage ("5%", 百分之五)


# --- lexical tables --------------------------------------------------------------------------

_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_EN_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50,
    "hundredth": 100,
}  # fmt: skip
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_MONTH_ABBREVIATIONS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_VERB_MONTHS = frozenset({"may", "march"})  # lower case these are verbs

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip  # noqa: E501
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_SCALES = {"万": 1e4, "亿": 1e8, "千": 1e3, "百": 1e2}
_CN_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千万亿"

# --- patterns --------------------------------------------------------------------------------


def _month_alternation() -> str:
    """Month names as written: capitalised or upper case always, lower case except the verbs."""
    forms: list[str] = []
    for name in sorted(_MONTHS, key=len, reverse=True):
        forms += [name.capitalize(), name.upper()]
        if name not in _VERB_MONTHS:
            forms.append(name)
    for name in sorted(_MONTH_ABBREVIATIONS, key=len, reverse=True):
        forms += [name.capitalize() + r"\.?", name.upper() + r"\.?"]
    return "|".join(forms)


_MONTH = _month_alternation()
_DAY = r"(?:3[01]|[12]\d|0?[1-9])"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_ORD_SUFFIX = r"(?:st|nd|rd|th)"
_ENGLISH_DATE = re.compile(
    # May 5 / May 5th / May 5, 2024
    rf"\b(?P<m1>{_MONTH})\s+(?P<d1>{_DAY}){_ORD_SUFFIX}?(?![\d:])(?:,?\s+(?P<y1>{_YEAR})(?!\d))?"
    # 5 May / 5th of May / 5 May 2024
    rf"|(?<![\d.,])(?P<d2>{_DAY}){_ORD_SUFFIX}?\s+(?:of\s+)?(?P<m2>{_MONTH})(?![A-Za-z])"
    rf"(?:,?\s+(?P<y2>{_YEAR})(?!\d))?"
    # May 2024
    rf"|\b(?P<m3>{_MONTH}),?\s+(?P<y3>{_YEAR})(?!\d)"
)
_NUMERIC_DATE = re.compile(
    rf"(?<![\d.])(?P<y1>{_YEAR})[-/.](?P<m1>1[0-2]|0?[1-9])[-/.](?P<d1>{_DAY})(?![\d])"
    rf"|(?<![\d./])(?P<m2>1[0-2]|0?[1-9])/(?P<d2>{_DAY})/(?P<y2>{_YEAR})(?![\d])"
)
_CN_DIGIT_CLASS = "零〇一二两三四五六七八九"
_NOT_AFTER_NUMERAL = rf"(?<![\d{_CN_NUMERAL_CHARS}])"
_CN_YEAR = rf"\d{{4}}|[{_CN_DIGIT_CLASS}]{{4}}"
_CN_MONTH = r"1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九]"
_CN_DAY = r"3[01]|[12]\d|0?[1-9]|[二三]?十[一二三四五六七八九]?|[一二三四五六七八九]"
_CHINESE_DATE = re.compile(
    rf"{_NOT_AFTER_NUMERAL}(?:(?P<y>{_CN_YEAR})\s*年\s*)?(?P<m>{_CN_MONTH})\s*月"
    rf"(?:\s*(?P<d>{_CN_DAY})\s*[日号])?"
    rf"|{_NOT_AFTER_NUMERAL}(?P<yy>{_CN_YEAR})\s*年"
)
_CN_NUM = rf"[{_CN_NUMERAL_CHARS}]+(?:点[{_CN_DIGIT_CLASS}]+)?"
_PERCENT_ZH = re.compile(rf"百分之\s*(?P<n>\d+(?:\.\d+)?|{_CN_NUM})")
_ORDINAL = re.compile(
    rf"第\s*(?P<n>\d+|{_CN_NUM})"
    rf"|(?<![A-Za-z0-9_.])(?P<d>\d+)(?:st|nd|rd|th)\b"
)
_DIGITS = re.compile(
    r"(?<![A-Za-z0-9_.])(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d])"
    # 5万, 3亿, 2千 (not 5千克 = 5 kg), 1.5 million
    r"(?:\s*(?P<zh>万亿|千万|百万|万|亿|千(?![克米瓦卡焦帕]))"
    r"|\s+(?P<en>thousand|million|billion|trillion)\b)?",
    re.IGNORECASE,
)
_CN_RUN = re.compile(_CN_NUM)
_CN_RANGE = re.compile(rf"(?P<a>{_CN_NUM})\s*(?:到|至|~|～|-|－|—)\s*(?P<b>{_CN_NUM})")
_PERCENT_AFTER = re.compile(r"\s*(?:%|％|percent\b|per\s+cent\b)", re.IGNORECASE)
_HALF_AFTER = re.compile(r"个?半|(?:年|个月|小时|天|周|岁)半")
_HALF_ZH = re.compile(r"一半|半(?!月板)")  # 半月板 is the meniscus
_EN_TOKEN = re.compile(r"[a-z]+", re.IGNORECASE)
_ONCE = re.compile(
    r"\bonce(?=\s+(?:(?:a|an|per|every)\s+(?:day|week|month|year|quarter|fortnight|decade|"
    r"lifetime|night)\b|daily\b|weekly\b|monthly\b|yearly\b|annually\b|or\s+twice\b))",
    re.IGNORECASE,
)
_ONE_NOT_A_NUMBER_BEFORE = frozenset("no any the this that each every which some".split())
_DASHES = "-–—－"
_CONNECTOR = rf"(?:to|through|[{_DASHES}~～〜至到])"
_BETWEEN = re.compile(r"\b(?:between|from)\s+$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _classifier() -> re.Pattern[str]:
    # Optional 多/余/几/来 between numeral and measure word: 十多岁, 两千余元, 十几天.
    words = sorted(lexicons.load("classifiers_zh"), key=len, reverse=True)
    return re.compile(r"[多余几来]?(?:" + "|".join(map(re.escape, words)) + ")")


# --- Chinese numerals ------------------------------------------------------------------------


def cn_numeral(text: str) -> float | None:
    """Value of a run of Chinese numerals: 十六 -> 16, 一百五十 -> 150, 一万五千 -> 15000,
    三点五 -> 3.5, 二〇二四 -> 2024 (digits without units are read digit by digit); None for a
    run that is not a number on its own."""
    whole, _, fraction = text.partition("点")
    if fraction:
        head = cn_numeral(whole)
        if head is None or any(c not in _CN_DIGITS for c in fraction):
            return None
        return head + float("0." + "".join(str(_CN_DIGITS[c]) for c in fraction))
    if len(whole) >= 2 and all(c in _CN_DIGITS for c in whole):
        return float("".join(str(_CN_DIGITS[c]) for c in whole))
    # 亿 multiplies everything before it, 万 only what follows the last 亿: 三亿五千万 is
    # 3e8 + 5e7, 一万亿 is 1e12.
    high, mid, section, digit = 0.0, 0.0, 0.0, None
    for char in whole:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[char]
            digit = None
        elif char == "万":
            mid += (section + (digit or 0)) * 1e4
            section, digit = 0.0, None
        elif char == "亿":
            high = (high + mid + section + (digit or 0)) * 1e8
            mid, section, digit = 0.0, 0.0, None
        else:
            return None
    value = high + mid + section + (digit or 0)
    if value == 0 and not any(c in "零〇" for c in whole):
        return None
    return float(value)


def _number_text(raw: str) -> float | None:
    raw = raw.strip()
    if raw[:1].isdigit():
        return float(raw.replace(",", ""))
    return cn_numeral(raw)


# --- the parser ------------------------------------------------------------------------------


class _Claims:
    """The quantities read so far. Readers run in priority order, and a later reading may not
    overlap the text an earlier one claimed (the 5 of "May 5" is a day, not also a number)."""

    def __init__(self) -> None:
        self.atoms: list[Quantity] = []
        self._spans: list[tuple[int, int]] = []  # sorted, non-overlapping

    def take(self, start: int, end: int, *atoms: Quantity) -> bool:
        i = bisect.bisect_left(self._spans, (start, end))
        if i > 0 and self._spans[i - 1][1] > start:
            return False
        if i < len(self._spans) and self._spans[i][0] < end:
            return False
        self._spans.insert(i, (start, end))
        self.atoms.extend(atoms)
        return True


def _part(value: float, span: tuple[int, int]) -> Quantity:
    return Quantity(value, span[0], span[1], "date")


def _dates(text: str, claims: _Claims) -> None:
    for m in _NUMERIC_DATE.finditer(text):
        groups = ("y1", "m1", "d1", "y2", "m2", "d2")
        claims.take(*m.span(), *(_part(float(m[g]), m.span(g)) for g in groups if m[g]))
    for m in _CHINESE_DATE.finditer(text):
        parts = [(_number_text(m[g]), m.span(g)) for g in ("y", "m", "d", "yy") if m[g]]
        if all(value is not None for value, _ in parts):
            claims.take(*m.span(), *(_part(v, span) for v, span in parts if v is not None))
    for m in _ENGLISH_DATE.finditer(text):
        parts = []
        for g in ("m1", "d1", "y1", "d2", "m2", "y2", "m3", "y3"):
            if m[g]:
                word = m[g].rstrip(".").lower()
                month = _MONTHS.get(word) or _MONTH_ABBREVIATIONS.get(word)
                parts.append(_part(float(month or word), m.span(g)))
        claims.take(*m.span(), *parts)


def _percents_zh(text: str, claims: _Claims) -> None:
    for m in _PERCENT_ZH.finditer(text):
        value = _number_text(m["n"])
        if value is not None:
            claims.take(*m.span(), Quantity(value, m.start(), m.end(), percent=True))


def _ordinals(text: str, claims: _Claims) -> None:
    for m in _ORDINAL.finditer(text):
        value = _number_text(m["n"] or m["d"])
        if value is not None:
            claims.take(*m.span(), Quantity(value, m.start(), m.end(), "ordinal"))


def _with_suffixes(text: str, q: Quantity) -> Quantity:
    """Extend a number over a following half (两个半 2.5, 一年半 1.5) and percent ("5%")."""
    if text[q.end : q.end + 1] in "个半年月小天周岁":
        half = _HALF_AFTER.match(text, q.end)
        if half:
            q = replace(q, value=q.value + 0.5, end=half.end())
    percent = _PERCENT_AFTER.match(text, q.end)
    if percent:
        q = replace(q, end=percent.end(), percent=True)
    return q


def _figures(text: str, claims: _Claims) -> None:
    for m in _DIGITS.finditer(text):
        value = float(m["n"].replace(",", ""))
        for char in m["zh"] or "":
            value *= _CN_SCALES[char]
        if m["en"]:
            value *= _EN_SCALES[m["en"].lower()]
        q = _with_suffixes(text, Quantity(value, m.start(), m.end()))
        claims.take(q.start, q.end, q)


def _chinese_numerals(text: str, claims: _Claims) -> None:
    classifier = _classifier()
    # 六到八周, 六到八: a range, when what follows it is a measure word or no Chinese at all
    # (统一到三甲 is not "one to three").
    in_range = {
        m.start(g)
        for m in _CN_RANGE.finditer(text)
        if classifier.match(text, m.end()) or not is_cjk_char(text[m.end() : m.end() + 1])
        for g in ("a", "b")
    }
    masked = [m.span() for m in lexicons.phrase_pattern("not_numbers_zh").finditer(text)]
    for m in _CN_RUN.finditer(text):
        run, start = m.group(), m.start()
        if any(a <= start < b for a, b in masked):
            continue  # 十二指肠 (the duodenum)
        if run.endswith("千") and text[m.end() : m.end() + 1] in ("克", "米", "瓦", "卡"):
            run = run[:-1]  # 五千克 is 5 kilograms, not 5000 grams
        if not run:
            continue
        end = start + len(run)
        integer = run.split("点", 1)[0]
        # Only a numeral with both digits and units (十六, 一万五千, 三点五) is a number on
        # its own. One digit, digits alone or units alone must stand before a measure word
        # (三岁, 两三天, 千万元) or in a range (六到八): in 一般, 统一三甲, 千万不要 they are
        # parts of words.
        has_digit = any(c in _CN_DIGITS for c in integer)
        has_unit = any(c in "十百千万亿" for c in integer)
        word_part = not (has_digit and has_unit) or integer[0] in "百千万亿"
        standalone = "点" in run or start in in_range or classifier.match(text, end)
        if word_part and not standalone:
            continue
        pair = [float(_CN_DIGITS.get(c, -1)) for c in run] if len(run) == 2 else []
        if pair and pair[0] >= 0 and pair[1] == pair[0] + 1:
            # 两三天, 七八个: "two or three", a range
            claims.take(start, end, Quantity(pair[0], start, end, "range", pair[1]))
            continue
        value = cn_numeral(run)
        if value is not None:
            q = _with_suffixes(text, Quantity(value, start, end))
            claims.take(q.start, q.end, q)
    for m in _HALF_ZH.finditer(text):
        counted = classifier.match(text, m.end()) or text.startswith("数", m.end())
        if m.group() == "半" and not counted:
            continue  # 半岛, 半身不遂: not half of anything counted
        claims.take(*m.span(), Quantity(0.5, m.start(), m.end()))


def _english_words(text: str, claims: _Claims) -> None:
    for m in _ONCE.finditer(text):
        claims.take(*m.span(), Quantity(1.0, m.start(), m.end()))
    tokens = [(t.group().lower(), t.start(), t.end()) for t in _EN_TOKEN.finditer(text)]
    i = 0
    while i < len(tokens):
        word, start, end = tokens[i]
        if word in _EN_ORDINALS:
            claims.take(start, end, Quantity(float(_EN_ORDINALS[word]), start, end, "ordinal"))
            i += 1
        elif word in ("twice", "thrice"):
            claims.take(start, end, Quantity(2.0 if word == "twice" else 3.0, start, end))
            i += 1
        elif (parsed := _number_words(text, tokens, i)) is not None:
            q, i = parsed
            q = _with_suffixes(text, q)
            claims.take(q.start, q.end, q)
        else:
            i += 1


def _adjacent(text: str, a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    # Words of one number are apart by spaces or one hyphen ("twenty-one", "two hundred").
    return re.fullmatch(r"\s+|\s*-\s*", text[a[2] : b[1]]) is not None


def _number_words(
    text: str, tokens: list[tuple[str, int, int]], i: int
) -> tuple[Quantity, int] | None:
    """The number phrase starting at token ``i`` ("one", "twenty-one", "two hundred and five",
    "a thousand", "a dozen", "one and a half", "half", "twenty-first") and the index of the
    token after it; None where no number starts."""
    first, start, _ = tokens[i]
    if first == "half":
        return Quantity(0.5, start, tokens[i][2]), i + 1
    if first == "a":
        if i + 1 >= len(tokens) or tokens[i + 1][0] not in ("hundred", "dozen", *_EN_SCALES):
            return None
    elif first not in _EN_UNITS and first not in _EN_TENS:
        return None
    if first == "one" and _one_is_a_pronoun(text, tokens, i):
        return None
    total, current, last = 0.0, 0.0, "a" if first == "a" else None
    end, kind = tokens[i][2], "number"
    k = i + 1 if first == "a" else i
    while k < len(tokens):
        word = tokens[k][0]
        if k > i and not _adjacent(text, tokens[k - 1], tokens[k]):
            break
        if word == "and" and last in ("hundred", "scale") and k + 1 < len(tokens):
            following = tokens[k + 1][0]
            if following in _EN_UNITS or following in _EN_TENS:  # two hundred and five
                k += 1
                continue
        if word in _EN_UNITS:
            small = _EN_UNITS[word] < 10
            if last not in (None, "hundred", "scale") and not (last == "tens" and small):
                break
            current += _EN_UNITS[word]
            last = "unit" if small else "teen"
        elif word in _EN_TENS:
            if last not in (None, "hundred", "scale"):
                break
            current += _EN_TENS[word]
            last = "tens"
        elif word == "hundred":
            if last not in ("a", "unit", "teen"):
                break
            current = (current or 1) * 100
            last = "hundred"
        elif word in _EN_SCALES:
            if last not in ("a", "unit", "teen", "tens", "hundred"):
                break
            total += (current or 1) * _EN_SCALES[word]
            current, last = 0.0, "scale"
        elif word == "dozen":
            if last not in ("a", "unit", "teen", "tens"):
                break
            current = (current or 1) * 12
            last = "dozen"
        elif word in _EN_ORDINALS and last == "tens" and _EN_ORDINALS[word] < 10:
            current += _EN_ORDINALS[word]  # twenty-first
            kind, end, k = "ordinal", tokens[k][2], k + 1
            break
        else:
            break
        end = tokens[k][2]
        k += 1
    if last in (None, "a"):
        return None
    value = total + current
    half = re.match(r"\s+and\s+a\s+half\b", text[end:], re.IGNORECASE)
    if half and kind == "number":
        value, end = value + 0.5, end + half.end()
        while k < len(tokens) and tokens[k][1] < end:
            k += 1
    return Quantity(value, start, end, kind), k


def _one_is_a_pronoun(text: str, tokens: list[tuple[str, int, int]], i: int) -> bool:
    """ "no one", "the one", "one another", "one's": a person, not a count."""
    before = tokens[i - 1][0] if i > 0 else ""
    after = tokens[i + 1][0] if i + 1 < len(tokens) else ""
    possessive = text[tokens[i][2] : tokens[i][2] + 2] in ("'s", "\u2019s")
    modifier = re.match(r"-[a-z]", text[tokens[i][2] : tokens[i][2] + 2], re.IGNORECASE)
    if modifier:
        return False  # "this one-time payment": a count of one
    return before in _ONE_NOT_A_NUMBER_BEFORE or after == "another" or possessive


def _range_start(text: str, a: Quantity, b: Quantity) -> int | None:
    """Where the range "a to b" starts (a's start, or that of "between"/"from" before it), or
    None when a and b are not a range."""
    if a.kind != "number" or b.kind != "number" or not a.value < b.value:
        return None
    gap = text[a.end : b.start]
    lead = _BETWEEN.search(text, max(0, a.start - 12), a.start)
    if lead and re.fullmatch(rf"\s*(?:and|{_CONNECTOR})\s*", gap, re.IGNORECASE):
        return lead.start()
    if not re.fullmatch(rf"\s*{_CONNECTOR}\s*", gap, re.IGNORECASE):
        # The unit may repeat: "6 weeks to 8 weeks", "6周至8周".
        m = re.fullmatch(rf"\s*([^\d\s]{{1,12}}?)\s*{_CONNECTOR}\s*", gap, re.IGNORECASE)
        if not m or not text[b.end :].lstrip().startswith(m.group(1)):
            return None
    if any(d in gap for d in _DASHES):
        # A chain (1-800-772-1213) is an identifier, not a range.
        dash = f"[{_DASHES}]"
        if re.match(rf"\s*{dash}\s*\d", text[b.end :]) or re.search(
            rf"\d\s*{dash}\s*$", text[max(0, a.start - 4) : a.start]
        ):
            return None
    return a.start


def _ranges(text: str, atoms: list[Quantity]) -> list[Quantity]:
    out: list[Quantity] = []
    i = 0
    while i < len(atoms):
        a = atoms[i]
        if i + 1 < len(atoms):
            b = atoms[i + 1]
            start = _range_start(text, a, b)
            if start is not None:
                percent = a.percent or b.percent
                out.append(Quantity(a.value, start, b.end, "range", b.value, percent))
                i += 2
                continue
        out.append(a)
        i += 1
    return out


def numbers(text: str) -> list[Quantity]:
    """The quantities of ``text`` in order of position (see the module doc for what counts)."""
    return list(_numbers(text))


@lru_cache(maxsize=2048)
def _numbers(text: str) -> tuple[Quantity, ...]:
    # Cached: a fact check reads the same passage for its values and its bounds, claim after
    # claim.
    claims = _Claims()
    _dates(text, claims)
    _percents_zh(text, claims)
    _ordinals(text, claims)
    _figures(text, claims)
    _chinese_numerals(text, claims)
    _english_words(text, claims)
    return tuple(_ranges(text, sorted(claims.atoms, key=lambda q: (q.start, q.end))))


def values(text: str, *, ordinal_words: bool = False) -> frozenset[float]:
    """Every value ``numbers`` finds, both ends of a range included.

    Ordinals written as English words ("first", "second") are left out unless ``ordinal_words``:
    a draft uses them to order its own sentences ("First, apply online") and "second" is also a
    unit of time, so they say nothing a passage must contain. Ordinals in figures or Chinese
    (第十条, 21st) name things (an article, a floor) and stay.
    """
    found: set[float] = set()
    for q in numbers(text):
        written = text[q.start : q.end]
        word = written.isascii() and not any(c.isdigit() for c in written)
        if q.kind == "ordinal" and word and not ordinal_words:
            continue  # "first", "twenty-first"
        found.add(q.value)
        if q.high is not None:
            found.add(q.high)
    return frozenset(found)
