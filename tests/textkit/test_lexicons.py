"""Lexicon files: loading, exceptions, phrase matching."""

from __future__ import annotations

import pytest

from textkit import lexicons


def test_every_lexicon_named_in_the_brief_is_present_and_non_empty():
    # Given the lexicon folder, when each list is loaded, then it has entries.
    names = [
        "stopwords_en", "stopwords_zh", "negation_en", "negation_zh", "negation_limits",
        "only_en", "only_zh", "hedge_en", "hedge_zh", "cause_en", "cause_zh", "general_en",
        "general_zh", "asks_en", "asks_zh", "bound_lower_en", "bound_upper_en",
        "bound_lower_zh", "bound_upper_zh", "subjects",
    ]  # fmt: skip
    for name in names:
        assert lexicons.load(name), name


def test_phrase_pattern_matches_english_whole_words_and_chinese_substrings():
    # Given the cause lexicon, when texts are searched, then English matches only whole words
    # and Chinese matches inside text.
    pattern = lexicons.phrase_pattern("cause_en")
    assert pattern.search("It failed BECAUSE of the fee")
    assert not pattern.search("thusly")
    assert lexicons.phrase_pattern("cause_zh").search("由于费用原因")


def test_exceptions_are_not_entries_and_are_removed_before_a_search():
    # Given only_en.txt with "!not only", when loaded and searched, then the exception is no
    # entry and a text holding only it does not mention the lexicon.
    assert "not only" in lexicons.exceptions("only_en")
    assert "not only" not in lexicons.load("only_en")
    assert not lexicons.mentions("only_en", "not only this")
    assert lexicons.mentions("only_en", "only this")


def test_bound_templates_are_not_phrase_patterns():
    # Given a bound lexicon ({n} templates), when a phrase pattern is asked, then it refuses.
    with pytest.raises(ValueError, match="template"):
        lexicons.phrase_pattern("bound_lower_en")


def test_subjects_table_maps_terms_to_groups():
    assert lexicons.table("subjects")["未成年人"] == "child"
    assert lexicons.table("subjects")["seniors"] == "older"
