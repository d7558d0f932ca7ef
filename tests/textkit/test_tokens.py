"""Words (the BM25 tokens), stems, terms and the verifier's content units."""

from __future__ import annotations

import pytest

from textkit import abbreviates, content_units, stem, terms, words

# The output of ingestion.tokenize.tokenize before it moved here: stored chunk tokens were made
# with it, so the moved tokenizer must give exactly these lists.
OLD_TOKENIZER = [
    (
        "Adults 16 or older may renew their passports by mail.",
        ["adult", "16", "older", "may", "renew", "passport", "mail"],
    ),
    (
        "It's the U.S. policies' rules, e.g. 2.5 mg.",
        ["it", "u.s", "policy", "rule", "e.g", "2.5", "mg"],
    ),
    (
        "成年人可以邮寄续办护照。",
        [
            "成年", "成年人", "可以", "邮寄", "续办", "护照",
            "_成年", "_年人", "_人可", "_可以", "_以邮",
            "_邮寄", "_寄续", "_续办", "_办护", "_护照",
        ],
    ),
    (
        "糖尿病 diabetes 医疗保险怎么报销？",
        [
            "糖尿", "糖尿病", "_糖尿", "_尿病", "diabete",
            "医疗", "保险", "医疗保险", "怎么", "报销",
            "_医疗", "_疗保", "_保险", "_险怎", "_怎么", "_么报", "_报销",
        ],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), OLD_TOKENIZER)
def test_words_are_exactly_the_old_keyword_tokens(text, expected):
    # Given English and Chinese sentences, when tokenized, then the tokens are the old
    # tokenizer's, so the stored BM25 index needs no rebuild.
    assert words(text) == expected


def test_ingestion_tokenize_is_the_same_function():
    # Given the old import path, when it is used, then it is textkit's tokenizer.
    from ingestion.tokenize import tokenize

    assert tokenize is words


def test_stems_join_inflections_and_leave_chinese_alone():
    # Given inflected English words and a Chinese word, when stemmed, then inflections meet and
    # Chinese (and figures) stay as written.
    assert stem("changed") == stem("changes") == stem("change")
    assert stem("renewal") != "renewal" and stem("医疗保险") == "医疗保险"
    assert stem("2.5") == "2.5"


def test_terms_are_stemmed_content_words_without_character_pairs():
    # Given a sentence, when its terms are taken, then stop words and "_" pairs are gone and
    # words are stemmed.
    assert terms("Will you notify users if the policy is changed?") == [
        "notifi", "user", "polici", "chang",
    ]  # fmt: skip
    assert terms("医疗保险") == ["医疗", "保险", "医疗保险"]


def test_content_units_stem_english_and_split_chinese_into_characters_and_pairs():
    # Given a mixed sentence, when its units are taken, then English content words are
    # stemmed (frame words and stop words dropped), Chinese characters and within-run pairs are
    # marked, and function characters do not stand alone.
    units = content_units("You need to renew the passport 护照的续办。")
    assert {"renew", "passport"} <= units
    assert "need" not in units and "the" not in units
    assert {"c:护", "c:照", "c:续", "c:办", "b:护照", "b:照的", "b:的续"} <= units
    assert "c:的" not in units
    assert content_units("续办护照。加急") >= {"b:办护"} and "b:照加" not in content_units(
        "续办护照。加急"
    )


def test_abbreviates_matches_chinese_short_forms_to_the_words_they_stand_for():
    # Given the short forms the public uses, then they meet the statutes' full words...
    assert abbreviates("社保", "社会保险") and abbreviates("医保", "医疗保险")
    assert abbreviates("失业金", "失业保险金") and abbreviates("残联", "残疾人联合会")
    assert abbreviates("丢", "丢失") and abbreviates("领", "领取")
    # ...and not words that merely share characters, out of order, or other scripts.
    assert not abbreviates("社保", "保险社会") and not abbreviates("社保", "社会")
    assert not abbreviates("保险", "社会保险")  # a different first character
    assert not abbreviates("丢", "丢失物品") and not abbreviates("丢", "丢")
    assert not abbreviates("ss", "social security") and not abbreviates("", "社会")
