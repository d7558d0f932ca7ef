"""What a check can find wrong with a claim: stable codes with parameters, text only at the edge.

Callers (routing, evaluation, the review page, the verifier report) match on ``Problem`` members,
never on message text. ``Finding.message(language)`` renders one for a person, in English or
Chinese, the way Django's system checks render their ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Problem(StrEnum):
    # Structure: is this a claim that cites what it was given?
    CITES_NOTHING = "V001"
    CITES_UNKNOWN = "V002"
    YES_NO_OPENER = "V003"
    NOT_A_CLAIM = "V004"  # a heading, a bare question, a fragment: dropped without counting
    TOO_LITTLE = "V005"
    RESTATES_QUESTION = "V006"
    OFF_TARGET = "V007"  # supported, but not what was asked: replaced by a quote that answers
    # Support: the calibrated score over coverage, similarity and novel words.
    LOW_SUPPORT = "V010"
    CROSSLINGUAL_LOW = "V011"
    # Facts: hard vetoes, whatever the score.
    NUMBER_MISSING = "V020"
    NEGATION_ADDED = "V021"
    NEGATION_DROPPED = "V022"
    CONDITION_REVERSED = "V023"
    CONDITION_DROPPED = "V024"
    RESTRICTION_DROPPED = "V025"
    RESTRICTION_ADDED = "V026"
    CAUSE_ADDED = "V027"
    GENERALISED = "V028"
    ASKS_AS_FACT = "V029"
    HEDGE_DROPPED = "V030"
    GROUP_ADDED = "V031"
    GROUP_DROPPED = "V032"
    # Outside the verifier: the output guard blocked a supported sentence.
    OUTPUT_BLOCKED = "V040"


FACT_PROBLEMS = frozenset(
    p for p in Problem if p.value >= "V020" and p.value < "V040"
)  # the vetoes: a score cannot outvote them

_MESSAGES: dict[Problem, tuple[str, str]] = {
    Problem.CITES_NOTHING: ("cites no passage", "未标注出处"),
    Problem.CITES_UNKNOWN: (
        "cites a passage it was not given: {labels}",
        "引用了未提供的资料：{labels}",
    ),
    Problem.YES_NO_OPENER: (
        "opens with a yes/no that no passage states",
        "以资料未说明的“是/否”开头",
    ),
    Problem.NOT_A_CLAIM: (
        "not a claim (a heading, a question or a fragment)",
        "不是陈述（标题、问句或片段）",
    ),
    Problem.TOO_LITTLE: ("says too little to check against a passage", "内容太少，无法核对"),
    Problem.RESTATES_QUESTION: (
        "restates the question without answering it",
        "只复述了问题，没有回答",
    ),
    Problem.OFF_TARGET: (
        "does not address the question (answer score {p})",
        "没有回答所问的问题（回答度 {p}）",
    ),
    Problem.LOW_SUPPORT: (
        "the cited passage does not support it (support {p})",
        "所引资料不支持此句（支持度 {p}）",
    ),
    Problem.CROSSLINGUAL_LOW: (
        "too far from its passage across languages ({similarity})",
        "与所引外文资料含义不符（{similarity}）",
    ),
    Problem.NUMBER_MISSING: (
        "number not in the cited passage: {values}",
        "所引资料中没有这个数字：{values}",
    ),
    Problem.NEGATION_ADDED: ("negates what the passage states", "否定了资料的说法"),
    Problem.NEGATION_DROPPED: ("the passage says the opposite (negated)", "资料的说法是否定的"),
    Problem.CONDITION_REVERSED: ("condition reversed on {value}", "条件方向相反：{value}"),
    Problem.CONDITION_DROPPED: (
        "condition dropped: the passage limits this to {value}",
        "遗漏了资料中的条件：{value}",
    ),
    Problem.RESTRICTION_DROPPED: (
        "drops a restriction the passage states (only)",
        "遗漏了资料中的限定（仅）",
    ),
    Problem.RESTRICTION_ADDED: (
        "adds a restriction the passage does not state (only)",
        "添加了资料没有的限定（仅）",
    ),
    Problem.CAUSE_ADDED: ("gives a reason the passage does not state", "给出了资料没有说明的原因"),
    Problem.GENERALISED: (
        "states as usual what the passage says of its own case",
        "把个案说成通常情况",
    ),
    Problem.ASKS_AS_FACT: (
        "states as fact what the passage only asks (whether)",
        "把资料中的疑问说成事实",
    ),
    Problem.HEDGE_DROPPED: ("states as certain what the passage hedges", "把资料中的推测说成确定"),
    Problem.GROUP_ADDED: (
        "applies to a group the passage does not name: {groups}",
        "适用于资料未提及的人群：{groups}",
    ),
    Problem.GROUP_DROPPED: (
        "drops who the rule applies to: {groups}",
        "遗漏了规定适用的人群：{groups}",
    ),
    Problem.OUTPUT_BLOCKED: (
        "blocked by the output guard: {reason}",
        "被输出安全检查拦截：{reason}",
    ),
}


@dataclass(frozen=True)
class Finding:
    """One check's verdict on one claim: a code and the values that explain it."""

    problem: Problem
    params: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.problem.name

    @property
    def veto(self) -> bool:
        return self.problem in FACT_PROBLEMS

    def message(self, language: str = "en") -> str:
        english, chinese = _MESSAGES[self.problem]
        template = chinese if language == "zh" else english
        return template.format(**self.params) if self.params else template.split(":")[0]

    def as_dict(self) -> dict:
        return {"code": self.code, **({"params": self.params} if self.params else {})}


def finding(problem: Problem, **params: object) -> Finding:
    return Finding(problem, {k: str(v) for k, v in params.items()})
