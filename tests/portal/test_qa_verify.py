"""The verifier: named checks with coded findings, one calibrated score, fact vetoes.

The passport passages and the wrong drafts are the ones seen from Qwen2.5-0.5B at temperature 0
(../shared/MODELS.md): both keep most of the cited passage's words and both must be rejected.
These run without the embedder (lexical weight set); tests/portal/test_verifier_cases.py runs the
case corpus at production settings, embedder included.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.qa.engine.claims import ANSWER, ClaimPass
from portal.qa.verify import (
    FACT_PROBLEMS,
    PassageEvidence,
    Problem,
    VerifierConfig,
    asks_for_content,
    claim_verify,
    quote_for,
    restates_question,
    without_title_prefix,
)
from portal.qa.verify.checks import FACTS, REGISTRY, STRUCTURE, SUPPORT, checks
from portal.qa.verify.scorer import SupportFeatures, logistic_fit, scorer_load

PASSAGES = {
    "1": "Adults may renew their passport by mail if it was issued within the last 15 years, "
    "when they were 16 or older, and it is undamaged.",
    "2": "Mail renewal takes 6-8 weeks. Expedited service takes 2-3 weeks for an extra $60.",
    "3": "Children under 16 must apply in person with both parents.",
    "4": "未满16周岁的儿童必须由父母双方陪同本人办理。"
    "成年人可以通过邮寄方式换发护照，办理时间为6至8周。",
    "5": "Only in the first hour there was no significant pain relief with ropivacaine.",
    "6": "这种降压药仅适用于成年高血压患者。",
    "7": "辅助检查：膀胱超声见三角区实性肿块，尿常规见红细胞。膀胱癌诊断明确。",
    "11": "Objective. To study whether exercise during pregnancy reduces the risk of postnatal "
    "depression.",
    "12": "目的：研究孕期运动是否能降低产后抑郁的风险。",
    "13": "Applicants who served 90 days may be eligible for the full benefit.",
    "14": "初步诊断：右下肢可能为丹毒。",
}
EVIDENCE = {label: PassageEvidence.of(label, text) for label, text in PASSAGES.items()}
CONFIG = VerifierConfig()


def check(text: str, *labels: str, config: VerifierConfig = CONFIG, evidence=None):
    return claim_verify(text, labels, evidence or EVIDENCE, config=replace(config, recite=False))


@pytest.mark.parametrize(
    ("sentence", "labels", "code"),
    [
        ("Your 12-year-old can renew by mail.", ("1",), Problem.NUMBER_MISSING),
        ("Yes, your 12-year-old can renew by mail.", ("1",), Problem.YES_NO_OPENER),
        (
            "You can speed it up by applying in person with both parents.",
            ("3",),
            Problem.GROUP_DROPPED,
        ),
        (
            "Children under 16 cannot apply in person with both parents.",
            ("3",),
            Problem.NEGATION_ADDED,
        ),
        ("Adults under 16 may renew by mail.", ("1",), Problem.CONDITION_REVERSED),
        ("成年人可以邮寄换发护照，需要3周。", ("4",), Problem.NUMBER_MISSING),
        ("16周岁以上的儿童可以邮寄办理。", ("4",), Problem.CONDITION_REVERSED),
        ("The sky is blue.", ("1",), Problem.TOO_LITTLE),
        ("Mail renewal takes 6-8 weeks.", (), Problem.CITES_NOTHING),
        ("Mail renewal takes 6-8 weeks.", ("9",), Problem.CITES_UNKNOWN),
        (
            "There was no significant pain relief with ropivacaine.",
            ("5",),
            Problem.RESTRICTION_DROPPED,
        ),
        ("这种降压药适用于成年高血压患者。", ("6",), Problem.RESTRICTION_DROPPED),
        (
            "Adults may renew by mail because their passport is undamaged.",
            ("1",),
            Problem.CAUSE_ADDED,
        ),
        ("因为是成年人，所以可以通过邮寄方式换发护照。", ("4",), Problem.CAUSE_ADDED),
        (
            "Adults usually renew their passport by mail if it is undamaged.",
            ("1",),
            Problem.GENERALISED,
        ),
        ("膀胱癌的常用检查有超声和尿常规检查。", ("7",), Problem.GENERALISED),
        (
            "Exercise during pregnancy reduces the risk of postnatal depression.",
            ("11",),
            Problem.ASKS_AS_FACT,
        ),
        ("孕期运动能降低产后抑郁的风险。", ("12",), Problem.ASKS_AS_FACT),
        (
            "Applicants who served 90 days are eligible for the full benefit.",
            ("13",),
            Problem.HEDGE_DROPPED,
        ),
        ("初步诊断：右下肢为丹毒。", ("14",), Problem.HEDGE_DROPPED),
        ("The sky above the passport office is blue today.", ("1",), Problem.LOW_SUPPORT),
    ],
)
def test_unsupported_claims_carry_a_coded_finding(sentence, labels, code):
    verdict = check(sentence, *labels)
    assert not verdict.supported
    assert code.name in verdict.codes, verdict.codes


@pytest.mark.parametrize(
    ("sentence", "labels"),
    [
        (
            "Adults who were 16 or older may renew by mail if it was issued within the last "
            "15 years.",
            ("1",),
        ),
        ("Mail renewal takes six to eight weeks.", ("2",)),
        ("Children under 16 must apply in person with both parents.", ("3",)),
        ("成年人可以通过邮寄方式换发护照，办理时间为6至8周。", ("4",)),
        ("未满十六周岁的儿童须由父母陪同本人办理。", ("4",)),
        ("Only in the first hour was there no significant pain relief with ropivacaine.", ("5",)),
        ("Applicants who served 90 days may be eligible for the full benefit.", ("13",)),
    ],
)
def test_faithful_claims_are_never_vetoed_and_score_near_the_threshold(sentence, labels):
    """Faithful paraphrases (words reordered, 十六 for 16, "six to eight" for 6-8) trip no fact
    check and align with the right passage. Whether they clear the calibrated threshold is the
    price of its precision target: on the dev drafts the strict judge rejects most paraphrases,
    so the threshold (0.67, docs/decisions.md) sits above some faithful ones, and the answer
    policy publishes the passage's own sentence in their place (next test)."""
    verdict = check(sentence, *labels)
    assert not set(verdict.codes) & {p.name for p in FACT_PROBLEMS}, verdict.codes
    assert verdict.aligned_label == labels[0]
    assert verdict.probability >= 0.5, verdict.probability


def test_a_copied_sentence_passes_and_a_faithful_paraphrase_gives_way_to_its_source(db):
    copied = check("Mail renewal takes 6-8 weeks.", "2")
    assert copied.supported, (copied.codes, copied.probability)
    claims = ClaimPass(question="How long does mail renewal take?", evidence=EVIDENCE,
                       language="en", policy=ANSWER, verifier=CONFIG)  # fmt: skip
    claims.check_text("Mail renewal takes six to eight weeks [2].")
    assert [p.text for p in claims.published] == ["Mail renewal takes 6-8 weeks."]


def test_the_registry_reads_as_the_specification_in_order():
    # Given the registry, when read top to bottom, then structure precedes support and facts,
    # and every fact check is a veto.
    stages = [c.stage for c in REGISTRY]
    assert stages == sorted(stages, key=[STRUCTURE, SUPPORT, FACTS].index)
    assert all(c.doc for c in REGISTRY), "every check says why it exists"
    assert {c.problem for c in checks(FACTS)} <= {
        p for p in Problem if p.value >= "V020" and p.value < "V040"
    }


def test_a_fact_veto_outvotes_any_score():
    class Certain:
        version = "always-supported"

        def probability(self, features: SupportFeatures) -> float:
            return 1.0

    verdict = claim_verify(
        "Mail renewal takes 6-9 weeks.", ("2",), EVIDENCE, config=CONFIG, scorer=Certain()
    )
    assert not verdict.supported and verdict.codes == ("NUMBER_MISSING",)


def test_findings_render_in_both_languages_only_at_the_edge():
    verdict = check("Mail renewal takes 6-9 weeks.", "2")
    found = next(f for f in verdict.findings if f.code == "NUMBER_MISSING")
    assert found.params == {"values": "9"}
    assert found.message() == "number not in the cited passage: 9"
    assert found.message("zh") == "所引资料中没有这个数字：9"
    assert {"code": "NUMBER_MISSING", "params": {"values": "9"}} in verdict.as_dict()["findings"]


def test_the_shipped_scorer_is_calibrated_on_dev_and_says_so():
    scorer = scorer_load()
    assert scorer.version.startswith("support-lr-")
    strong = SupportFeatures(1.0, 1.0, 0.95, 0.0, 0.0, 0.5, 1.0)
    weak = SupportFeatures(0.2, 0.3, 0.2, 0.7, 1.0, 0.5, 0.0)
    assert scorer.probability(strong) > 0.8 > 0.2 > scorer.probability(weak)


def test_logistic_fit_recovers_a_separable_rule():
    import numpy as np

    x = np.array([[0.1], [0.2], [0.3], [0.7], [0.8], [0.9]])
    y = np.array([0, 0, 0, 1, 1, 1.0])
    weights, bias = logistic_fit(x, y, l2=0.01)
    assert weights[0] > 0 and -bias / weights[0] == pytest.approx(0.5, abs=0.1)


def test_a_claim_citing_the_wrong_passage_is_re_cited_to_the_one_that_states_it():
    verdict = claim_verify(
        "Children under 16 must apply in person with both parents.", ("2",), EVIDENCE,
        config=CONFIG,
    )  # fmt: skip
    assert verdict.supported
    assert verdict.labels == ("3",) and verdict.drafted_labels == ("2",)
    assert verdict.as_dict()["drafted_labels"] == ["2"]


def test_reciting_never_rescues_a_claim_no_single_passage_supports():
    for sentence in (
        "Your 12-year-old can renew by mail.",
        "Adults may renew by mail in 2-3 weeks for an extra $60.",
    ):
        verdict = claim_verify(sentence, ("1",), EVIDENCE, config=CONFIG)
        assert not verdict.supported, sentence
        assert verdict.labels == ("1",) and verdict.drafted_labels == ()


def test_a_question_in_the_passage_supports_nothing():
    evidence = {
        "1": PassageEvidence.of(
            "1",
            "Do mitochondria play a role in remodelling lace plant leaves during programmed cell "
            "death? Leaves were imaged during perforation formation.",
        )
    }
    verdict = check(
        "Mitochondria play a role in remodelling lace plant leaves during programmed cell death.",
        "1",
        evidence=evidence,
    )
    assert not verdict.supported


def test_across_languages_without_an_embedder_nothing_is_vouched_for():
    verdict = check("邮寄续办护照需要6至8周。", "2")
    assert not verdict.supported and "CROSSLINGUAL_LOW" in verdict.codes


def test_across_languages_numbers_are_still_checked():
    def same_topic(texts):
        import numpy as np

        return np.array([[1.0, 0.0]] * len(texts))

    on = replace(CONFIG, crosslingual=True)  # VERIFY_CROSSLINGUAL=1
    ok = claim_verify("邮寄续办护照需要6至8周。", ("2",), EVIDENCE, config=on, embed=same_topic)
    assert ok.supported, ok.codes
    wrong = claim_verify("邮寄续办护照需要6至9周。", ("2",), EVIDENCE, config=on, embed=same_topic)
    assert not wrong.supported and "NUMBER_MISSING" in wrong.codes


CASE_HISTORY = "周XX，男，34岁，2年前无明显诱因反复出现肛门部肿物脱出，1周前出现大便后点滴样出血。"


def test_a_case_records_patient_is_not_a_new_group_when_its_document_names_them():
    sentence = "患者反复出现肛门部肿物脱出2年，1周前出现便血。"
    alone = {"1": PassageEvidence.of("1", CASE_HISTORY)}
    assert "GROUP_ADDED" in check(sentence, "1", evidence=alone).codes
    in_case = {"1": PassageEvidence.of("1", CASE_HISTORY, implied=frozenset({"patient"}))}
    assert "GROUP_ADDED" not in check(sentence, "1", evidence=in_case).codes


def test_a_record_line_of_figures_is_a_claim_not_a_heading():
    evidence = {"1": PassageEvidence.of("1", "体格检查\n\n体温 T39.4℃，P105次/分，R24次/分。")}
    verdict = check("体温 T39.4℃，P105次/分，R24次/分。", "1", evidence=evidence)
    assert verdict.supported and not verdict.trivial, verdict.codes


def test_quotes_are_statements_not_headings_or_questions():
    evidence = PassageEvidence.of(
        "1", "Main Outcome Measures. Does exercise help? Exercise lowered the risk of depression."
    )
    quote = quote_for(
        "Does exercise lower depression risk?", evidence, exclude=set(), min_overlap=0.2
    )
    assert quote == "Exercise lowered the risk of depression."
    heading = PassageEvidence.of(
        "1",
        "A child with a disability\n\nSocial Security does not yet have an online application "
        "for a child with a disability.",
    )
    quote = quote_for(
        "Can a child with a disability get SSI?", heading, exclude=set(), min_overlap=0.2
    )
    assert quote is not None and quote.startswith("Social Security does not yet")


def test_only_a_wh_question_echoed_with_titles_counts_as_a_restatement():
    article = PassageEvidence.of(
        "1",
        "最高人民法院关于审理环境民事公益诉讼案件适用法律若干问题的解释第十八条\n\n"
        "对污染环境、破坏生态，已经损害社会公共利益的行为，法律规定的机关可以提起诉讼。",
    )
    assert restates_question(
        "公益诉讼是最高人民法院关于审理环境民事公益诉讼案件适用法律若干问题的解释第十八条。",
        "什么是公益诉讼？",
        [article],
    )
    answer = "对污染环境、破坏生态的行为，法律规定的机关可以提起公益诉讼。"
    assert not restates_question(answer, "什么是公益诉讼？", [article])
    assert not restates_question(
        "Adults may renew their passport by mail.", "May adults renew their passport by mail?", []
    )


@pytest.mark.parametrize(
    ("question", "content"),
    [
        ("What is the renewal fee?", True),
        ("Describe the treatment plan.", True),
        ("Do I need to bring the title when I transfer a registration?", False),
        ("Can I renew by mail?", False),
        ("最高额抵押权担保的债权范围是什么？", True),
        ("婚姻自主权是人格权吗？", False),
        ("任何人都可以申请吗？", False),
    ],
)
def test_questions_that_ask_for_content_are_told_from_yes_no_ones(question, content):
    assert asks_for_content(question) is content


def test_a_cited_passages_title_glued_in_front_of_a_sentence_is_dropped():
    page = PassageEvidence.of("2", "Passport renewal\n\nAdults may renew by mail.")
    assert without_title_prefix("Passport renewal: Adults may renew by mail.", [page]) == (
        "Adults may renew by mail."
    )
    zh = PassageEvidence.of(
        "3", "城乡居民基本医疗保险按年度缴费。", document_title="城乡居民医疗保险"
    )
    assert without_title_prefix("城乡居民医疗保险 城乡居民基本医疗保险按年度缴费。", [zh]) == (
        "城乡居民基本医疗保险按年度缴费。"
    )
    part_b = PassageEvidence.of(
        "1", "Medicare Part B covers outpatient care.", document_title="Medicare Part B"
    )
    assert without_title_prefix("Medicare Part B covers outpatient care.", [part_b]) == (
        "Medicare Part B covers outpatient care."
    )


def test_across_languages_nothing_is_vouched_for_by_default():
    """VERIFY_CROSSLINGUAL is off by default (docs/decisions.md): such a claim is replaced by a
    quote of its passage, whatever the embedding says."""

    def same_topic(texts):
        import numpy as np

        return np.array([[1.0, 0.0]] * len(texts))

    verdict = claim_verify(
        "邮寄续办护照需要6至8周。", ("2",), EVIDENCE, config=CONFIG, embed=same_topic
    )
    assert not verdict.supported and "CROSSLINGUAL_LOW" in verdict.codes


def test_a_chinese_question_closed_with_a_full_stop_is_not_a_claim():
    verdict = check("我的申请被拒了，可以在网上申诉吗。", "4")
    assert verdict.trivial and "NOT_A_CLAIM" in verdict.codes


def test_no_sentence_opens_with_a_bullet_or_leftover_punctuation():
    from portal.qa.verify import without_leading_marks

    assert without_leading_marks("，那您可以持有效驾照开车。") == "那您可以持有效驾照开车。"
    assert without_leading_marks("• Bring your current license.") == "Bring your current license."
    assert without_leading_marks("- 6 to 8 weeks.") == "6 to 8 weeks."
    listed = PassageEvidence.of("1", "What to bring:\n• Your current license and a photo.")
    quote = quote_for("What do I bring?", listed, exclude=set(), min_overlap=0.0)
    assert quote is None or not quote.startswith("•")
