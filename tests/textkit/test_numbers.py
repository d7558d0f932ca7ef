"""Numbers by value: digits, words, Chinese numerals, ranges, percentages, dates, ordinals."""

from __future__ import annotations

import pytest

from textkit import numbers, values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Adults over 16 may renew by mail", {16}),  # "may" is a verb, not May = 5
        ("Children under 12 may travel free", {12}),
        ("一万五千元", {15000}),
        ("两千人", {2000}),
        ("5万元", {50000}),
        ("3亿", {300_000_000}),
        ("半年", {0.5}),
        ("一半的人", {0.5}),
        ("一年半", {1.5}),
        ("a fee of $1,234.56", {1234.56}),
        ("$2.5 million", {2_500_000}),
        ("twenty-one days", {21}),
        ("two hundred and five", {205}),
        ("a dozen eggs", {12}),
        ("twice a day", {2}),
        ("one and a half years", {1.5}),
        ("一般来说，统一到三甲医院", set()),  # a lone numeral inside a word is not a quantity
        ("二甲双胍", set()),
        ("十二指肠溃疡", set()),
        ("Once approved, no one else may apply", set()),
        ("this one-time payment of $500", {1, 500}),
        ("Eight hundred and fifty-five women", {855}),
        ("5%", {5}),
        ("百分之五", {5}),
        ("five percent", {5}),
    ],
)
def test_values_are_read_whatever_the_spelling(text, expected):
    # Given a number written as figures, words or Chinese numerals, when values are read, then
    # its value is found, and nothing else.
    assert values(text) == frozenset(float(v) for v in expected)


RANGES = [
    "six to eight weeks",
    "6 to 8 weeks",
    "6-8 weeks",
    "6至8周",
    "六到八周",
    "between 6 and 8",
]


@pytest.mark.parametrize("text", RANGES)
def test_a_range_is_one_quantity_with_both_ends(text):
    # Given a range in any spelling, when it is read, then it is one "range" quantity from 6 to
    # 8, and values holds both ends.
    (quantity,) = numbers(text)
    assert (quantity.kind, quantity.value, quantity.high) == ("range", 6.0, 8.0)
    assert values(text) == {6.0, 8.0}


def test_words_and_figures_compare_equal():
    # Given the same range in words and in figures, when values are compared, then they match.
    assert values("six to eight weeks") == values("6 to 8 weeks") == {6.0, 8.0}


def test_a_phone_number_is_not_a_range():
    # Given a dash chain, when it is read, then no range is made of it.
    assert all(q.kind == "number" for q in numbers("Call 1-800-772-1213"))


@pytest.mark.parametrize(
    "text", ["May 5, 2024", "5 May 2024", "2024-05-05", "2024年5月5日", "二〇二四年五月五日"]
)
def test_explicit_dates_are_dates_with_the_same_parts(text):
    # Given one date written five ways, when it is read, then its parts are dates, the same
    # values each time.
    found = numbers(text)
    assert found and all(q.kind == "date" for q in found)
    assert values(text) == {5.0, 2024.0}


def test_percent_is_marked():
    # Given percentages, when read, then the quantity says it is one.
    assert [q.percent for q in numbers("5% of 20 people")] == [True, False]
    assert numbers("百分之五")[0].percent


def test_ordinals_are_their_own_kind():
    # Given "第十条", when read, then it is 10 of kind "ordinal"; English ordinal words are
    # found but left out of values unless asked for.
    (article,) = numbers("依照第十条的规定")
    assert (article.value, article.kind) == (10.0, "ordinal")
    assert values("依照第十条的规定") == {10.0}
    assert [q.kind for q in numbers("First, apply online")] == ["ordinal"]
    assert values("First, apply online") == frozenset()
    assert values("First, apply online", ordinal_words=True) == {1.0}
