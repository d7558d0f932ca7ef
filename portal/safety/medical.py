"""Doses, frequencies and contraindications in text, normalised so a sentence can be compared
with the passages it cites (pure Python, no Django).

"two 200 mg tablets twice daily" and "每日两次，每次2片" become facts such as
("dose", 200.0, "mg"), ("dose", 2.0, "tablet"), ("per_day", 2.0); a sentence's fact that no cited
passage states is a dose the model invented, and the sentence is blocked.
"""

from __future__ import annotations

import re

from textkit import CJK_RUN, cn_numeral, numbers, split_sentences

_UNITS = {
    "mg": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "毫克": "mg",
    "mcg": "mcg",
    "µg": "mcg",
    "μg": "mcg",
    "microgram": "mcg",
    "micrograms": "mcg",
    "微克": "mcg",
    "g": "g",
    "gram": "g",
    "grams": "g",
    "克": "g",
    "ml": "ml",
    "milliliter": "ml",
    "milliliters": "ml",
    "millilitre": "ml",
    "毫升": "ml",
    "l": "l",
    "升": "l",
    "iu": "unit",
    "unit": "unit",
    "units": "unit",
    "单位": "unit",
    "国际单位": "unit",
    "tablet": "tablet",
    "tablets": "tablet",
    "tab": "tablet",
    "tabs": "tablet",
    "片": "tablet",
    "pill": "tablet",
    "pills": "tablet",
    "丸": "tablet",
    "capsule": "capsule",
    "capsules": "capsule",
    "cap": "capsule",
    "caps": "capsule",
    "粒": "capsule",
    "drop": "drop",
    "drops": "drop",
    "滴": "drop",
    "puff": "puff",
    "puffs": "puff",
    "spray": "puff",
    "sprays": "puff",
    "喷": "puff",
    "揿": "puff",
    "patch": "patch",
    "patches": "patch",
    "贴": "patch",
    "sachet": "sachet",
    "sachets": "sachet",
    "袋": "sachet",
    "包": "sachet",
    "teaspoon": "tsp",
    "teaspoons": "tsp",
    "tsp": "tsp",
    "tablespoon": "tbsp",
    "tablespoons": "tbsp",
    "tbsp": "tbsp",
    "mg/kg": "mg/kg",
    "毫克/千克": "mg/kg",
    "毫克每千克": "mg/kg",
    "支": "vial",
}
# Mass units convert to mg so "0.5 g" matches "500 mg".
_TO_MG = {"mg": 1.0, "mcg": 0.001, "g": 1000.0}

_NUM = r"(?:\d+(?:\.\d+)?|half|one|a single|two|three|four|five|six|seven|eight|nine|ten|twelve)"
_ZH_NUM = r"(?:\d+(?:\.\d+)?|[零一二两三四五六七八九十百千半]+)"
_EN_UNIT = (
    r"mg/kg|mg|mcg|µg|μg|milligrams?|micrograms?|grams?|g|ml|milliliters?|millilitres?|l|iu|units?|"
    r"tablets?|tabs?|pills?|capsules?|caps?|drops?|puffs?|sprays?|patch(?:es)?|sachets?|"
    r"teaspoons?|tsp|tablespoons?|tbsp"
)
_DOSE_EN = re.compile(
    rf"(?<![\w.])({_NUM})(?:\s*(?:-|–|to)\s*({_NUM}))?\s*({_EN_UNIT})(?![a-z])", re.I
)
_DOSE_ZH = re.compile(
    rf"({_ZH_NUM})(?:\s*(?:-|–|~|至|到)\s*({_ZH_NUM}))?\s*(毫克/千克|毫克每千克|毫克|微克|国际单位|毫升|"
    r"单位|克|升|片|粒|丸|袋|包|支|滴|喷|揿|贴)"
)
_FREQ_EN = re.compile(
    rf"\b(once|twice|thrice|({_NUM})\s*times?)\s*(?:a|per|each|every)?\s*(day|daily|week|weekly|"
    rf"month|night|nightly)\b|\bevery\s+({_NUM})(?:\s*(?:-|to)\s*({_NUM}))?\s*(hours?|hrs?|h|days?|"
    r"weeks?)\b|\b(q\.?d|b\.?i\.?d|t\.?i\.?d|q\.?i\.?d|q(\d+)h)\b\.?",
    re.I,
)
_FREQ_ZH = re.compile(
    rf"(?:每|一)(日|天|晚|周|星期|月)\s*({_ZH_NUM})\s*次|每(?:隔)?\s*({_ZH_NUM})\s*(?:个)?\s*(小时|天|日|周)"
    r"(?:一次|1次)?|(?:一|每)日(?:一|1)次"
)
_LATIN_FREQ = {"qd": 1.0, "bid": 2.0, "tid": 3.0, "qid": 4.0}

CONTRA = re.compile(
    r"\b(contraindicat\w*|do not (take|use|give)|don'?t (take|use|give)|should not (take|use|be "
    r"(used|taken|given))|must not|never (take|use|give)|avoid (taking|using|in|during)|not "
    r"(recommended|suitable|safe) (for|in|during)|unsafe (for|in|during)|should be avoided)\b"
    r"|禁用|禁忌|忌用|慎用|不宜|不得(使用|服用)|不能(服用|使用|吃|同服)|不应(服用|使用)|避免(服用|使用|同服)|"
    r"不推荐|不建议(使用|服用)",
    re.I,
)


def _number(text: str) -> float | None:
    """The value of a number the patterns above found, read by textkit's numeral parser:
    figures, Chinese numerals (``textkit.cn_numeral``: 两, 十二, 二百) and English number words
    (``textkit.numbers``: "one", "twelve"); "half" and 半 are 0.5, "a single" is 1."""
    text = text.strip()
    if text.lower() == "a single":
        return 1.0
    if text == "半" or text.lower() == "half":
        return 0.5
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if (value := cn_numeral(text)) is not None:
        return value
    found = numbers(text)
    if len(found) == 1 and found[0].kind == "number" and found[0].end - found[0].start == len(text):
        return found[0].value
    return None


def _dose_facts(value: float, unit: str) -> tuple:
    unit = _UNITS.get(unit.lower(), unit.lower())
    if unit in _TO_MG:
        return ("dose", round(value * _TO_MG[unit], 4), "mg")
    return ("dose", round(value, 4), unit)


def facts(text: str) -> set[tuple]:
    """Normalised dose and frequency facts stated in ``text``."""
    found: set[tuple] = set()
    for m in _DOSE_EN.finditer(text):
        for part in (m.group(1), m.group(2)):
            if part and (v := _number(part)) is not None:
                found.add(_dose_facts(v, m.group(3)))
    for m in _DOSE_ZH.finditer(text):
        for part in (m.group(1), m.group(2)):
            if part and (v := _number(part)) is not None:
                found.add(_dose_facts(v, m.group(3)))
    for m in _FREQ_EN.finditer(text):
        if m.group(1):
            word = m.group(1).lower()
            n = {"once": 1.0, "twice": 2.0, "thrice": 3.0}.get(word) or _number(m.group(2) or "")
            period = m.group(3).lower()
            per = (
                "per_week"
                if period.startswith("week")
                else ("per_month" if period.startswith("month") else "per_day")
            )
            if n:
                found.add((per, n))
        elif m.group(4):
            for part in (m.group(4), m.group(5)):
                if part and (n := _number(part)):
                    unit = m.group(6).lower()
                    hours = n * (24 if unit.startswith("d") else 168 if unit.startswith("w") else 1)
                    found.add(("every_h", hours))
        elif m.group(7):
            key = re.sub(r"\W", "", m.group(7).lower())
            if key in _LATIN_FREQ:
                found.add(("per_day", _LATIN_FREQ[key]))
            elif m.group(8):
                found.add(("every_h", float(m.group(8))))
    for m in _FREQ_ZH.finditer(text):
        if m.group(1):
            n = _number(m.group(2))
            per = {"周": "per_week", "星期": "per_week", "月": "per_month"}.get(
                m.group(1), "per_day"
            )
            if n:
                found.add((per, n))
        elif m.group(3):
            n = _number(m.group(3))
            if n:
                unit = m.group(4)
                found.add(("every_h", n * (24 if unit in "天日" else 168 if unit == "周" else 1)))
        else:
            found.add(("per_day", 1.0))
    return found


def _equivalent(fact: tuple, available: set[tuple]) -> bool:
    if fact in available:
        return True
    # "every 8 hours" and "three times a day" state the same schedule.
    if fact[0] == "per_day":
        return ("every_h", round(24 / fact[1], 4)) in available
    if fact[0] == "every_h" and fact[1]:
        return ("per_day", round(24 / fact[1], 4)) in available
    return False


def unsupported_facts(sentence: str, passages_text: str) -> list[tuple]:
    """Facts of ``sentence`` that ``passages_text`` does not state (sorted, for stable output)."""
    available = facts(passages_text)
    return sorted((f for f in facts(sentence) if not _equivalent(f, available)), key=str)


_WORD = re.compile(r"[a-z]{3,}")
# Narrower than textkit's BM25 stop list (lexicons/stopwords_en.txt) on purpose: that list drops
# "before", "after", "under", "between", which say whom or when a contraindication concerns.
_STOP = frozenset(
    "the and for with not should take use used this that are you your from have has been will "
    "may can into during who which when than them they their its any all also only".split()
)


def _content_tokens(text: str) -> set[str]:
    text = text.lower()
    tokens = {w for w in _WORD.findall(text) if w not in _STOP}
    cjk = "".join(CJK_RUN.findall(text))
    tokens |= {cjk[i : i + 2] for i in range(len(cjk) - 1)}
    return tokens


def contraindication_supported(sentence: str, passages_text: str) -> bool:
    """A sentence stating a contraindication needs a passage sentence that also states one and
    shares most of its content words (who / what it applies to)."""
    mine = _content_tokens(CONTRA.sub(" ", sentence))
    if not mine:
        return bool(CONTRA.search(passages_text))
    for part in split_sentences(passages_text):
        if CONTRA.search(part):
            theirs = _content_tokens(part)
            if len(mine & theirs) / len(mine) >= 0.6:
                return True
    return False
