"""Qualifiers: negation against limits, only, hedges, bounds and groups of people."""

from __future__ import annotations

from textkit import qualifiers_of


def test_a_limit_is_a_bound_not_a_negation():
    # Given "no more than 3" and 不超过3天, when read, then 3 is an upper bound and the claim is
    # not negated.
    for text in ("You may stay no more than 3 days.", "停留不超过3天。"):
        q = qualifiers_of(text)
        assert not q.negated
        assert q.upper_bounds == {3.0} and not q.lower_bounds


def test_negation_is_found_in_both_languages_and_with_curly_apostrophes():
    # Given negated claims, when read, then they are negated; "not only" and 是否 are not.
    assert qualifiers_of("You don’t need to apply.").negated
    assert qualifiers_of("未满16周岁的不得申请").negated
    assert not qualifiers_of("Not only adults but children may apply.").negated
    assert not qualifiers_of("是否需要预约？").negated


def test_lower_and_upper_bounds():
    # Given conditions on either side of a number, when read, then each value is bounded on
    # its side: "16 or older" and "over 16" from below, 未满16周岁 and "under 12" from above.
    assert qualifiers_of("Adults 16 or older may renew by mail.").lower_bounds == {16.0}
    assert qualifiers_of("Adults over 16 may renew by mail.").lower_bounds == {16.0}
    assert qualifiers_of("65 years of age or older").lower_bounds == {65.0}
    under = qualifiers_of("未满16周岁的未成年人")
    assert under.upper_bounds == {16.0} and not under.lower_bounds
    assert qualifiers_of("Children under 12 may travel free.").upper_bounds == {12.0}
    assert qualifiers_of("16周岁以上").lower_bounds == {16.0}


def test_only_hedge_cause_general_and_asks():
    # Given each kind of qualifier, when read, then its flag is set and "not only" restricts
    # nothing.
    assert qualifiers_of("Only adults may apply.").restricted
    assert qualifiers_of("仅限本人办理").restricted
    assert not qualifiers_of("Not only adults may apply.").restricted
    assert qualifiers_of("You may be eligible.").hedged
    assert not qualifiers_of("You may renew online.").hedged  # "may" alone grants
    assert qualifiers_of("可能为丹毒").hedged
    assert qualifiers_of("It failed because of the fee.").causal
    assert qualifiers_of("CT is usually done first.").general
    assert qualifiers_of("To study whether exercise helps.").asks
    assert not qualifiers_of("Apply whether or not you work.").asks


def test_subjects_take_the_longest_term():
    # Given group names that contain other names, when read, then only the longest counts.
    assert qualifiers_of("未成年人需监护人陪同").subjects == {"child"}
    assert qualifiers_of("Non-residents must apply in person.").subjects == {"nonresident"}
    assert qualifiers_of("Adults and children").subjects == {"adult", "child"}
