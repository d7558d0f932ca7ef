"""One Chinese character class and one language rule for mixed text."""

from __future__ import annotations

import pytest

from textkit import has_cjk, is_chinese, is_cjk_char, language_of


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("糖尿病 diabetes", "zh"),  # 3 characters = 1.5 words against 1: a Chinese question
        ("HPV疫苗接种需要几针？", "zh"),
        ("What is 医保?", "en"),  # 2 characters = 1 word against 2: an English question
        ("How do I apply for 医疗保险 benefits?", "en"),
        ("医保怎么报销？", "zh"),
        ("How do I renew my passport?", "en"),
        ("加急服务需要2至3周，另收费60美元。", "zh"),
    ],
)
def test_mixed_text_is_read_by_chinese_character_pairs_against_latin_words(text, language):
    # Given a text mixing scripts, when its language is asked, then pairs of Chinese characters
    # weigh as much as one English word.
    assert language_of(text) == language
    assert is_chinese(text) is (language == "zh")


def test_text_with_neither_script_gets_the_default():
    # Given figures and punctuation only, when the language is asked, then the default answers.
    assert language_of("2024-05-01 / 16.7") == "en"
    assert language_of("", default="zh") == "zh"


def test_one_character_class_covers_extensions_but_not_punctuation():
    # Given Chinese characters from the main block, extension A, compatibility and extension B,
    # and full-width punctuation, when each is classified, then only characters count.
    assert all(is_cjk_char(c) for c in "中㐀豈\U00020000")
    assert not any(is_cjk_char(c) for c in "。，！（a1")
    assert has_cjk("see 第十条") and not has_cjk("No Chinese here。")
