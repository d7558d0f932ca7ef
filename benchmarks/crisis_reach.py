"""How far the crisis lines reach (issue 20): for a grid of SAFETY_CRISIS_THRESHOLD values, the
share of everyday questions (the answer sets' dev questions and the medication-risk sets' dev
halves) that the learned self-harm head would show the crisis lines to, and how many of the
written contrast sets' self-harm and suicide rows (dev halves, harmful and help-seeking alike)
get them from the crisis rules or the head. The setting's default is the lowest grid value at
which at most ``--everyday-rate`` of everyday questions fire (docs/decisions.md).

    PYTHONPATH=. .venv/bin/python -m benchmarks.crisis_reach [--everyday-rate 0.005]

Dev halves only, and counts only.
"""

from __future__ import annotations

import argparse
import json
import os

GRID = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9)
TOPIC_SETS = ("safety_contrast_v7", "safety_contrast_v8", "safety_contrast_v9")
TOPIC_WORDS = ("self_harm", "suicide", "crisis")


def reach(everyday: list[tuple[str, str]], topic: list[tuple[str, str]], grid=GRID) -> dict:
    """``everyday`` and ``topic``: (text, language) rows. Per threshold: everyday rows the head
    fires on (per language), topic rows with crisis lines from the rules or the head."""
    import numpy as np

    from portal.safety.learned import safety_classifier
    from portal.safety.output import question_notice

    head = safety_classifier()
    if head is None or "self_harm" not in head.heads:
        raise SystemExit("the safety classifier with its self_harm head must be on")

    def scores(rows: list[tuple[str, str]]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        return np.array(head.scores([t for t, _ in rows], heads=("self_harm",))["self_harm"])

    by_rules = np.array([question_notice(t, lang) is not None for t, lang in topic], dtype=bool)
    s_every, s_topic = scores(everyday), scores(topic)
    languages = sorted({lang for _, lang in everyday})
    report = {
        "everyday": {lang: sum(1 for _, x in everyday if x == lang) for lang in languages},
        "topic": len(topic),
        "topic_by_rules": int(by_rules.sum()),
        "grid": {},
    }
    for t in grid:
        fired = s_every >= t
        report["grid"][str(t)] = {
            "everyday_fired": int(fired.sum()),
            "everyday_rate": round(float(fired.mean()), 4) if len(fired) else 0.0,
            "everyday_rate_by_language": {
                lang: round(float(fired[[x == lang for _, x in everyday]].mean()), 4)
                for lang in languages
            },
            "topic_with_lines": int(((s_topic >= t) | by_rules).sum()),
        }
    return report


def chosen(report: dict, everyday_rate: float) -> float | None:
    """The lowest grid threshold whose everyday firing rate stays within ``everyday_rate``."""
    fits = [float(t) for t, row in report["grid"].items() if row["everyday_rate"] <= everyday_rate]
    return min(fits) if fits else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--everyday-rate", type=float, default=0.005)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from portal.evaluation.safety_rows import (
        DATA,
        MEDICATION_SETS,
        _answer_set_questions,
        _dev,
        _lang,
    )

    everyday = [(r.text, r.language) for r in _answer_set_questions()]
    for name in MEDICATION_SETS:
        everyday += [(r["prompt"], _lang(r, r["prompt"])) for r in _dev(DATA / f"{name}.jsonl")]
    topic = [
        (r["prompt"], _lang(r, r["prompt"]))
        for name in TOPIC_SETS
        for r in _dev(DATA / f"{name}.jsonl")
        if any(word in r.get("category", "") for word in TOPIC_WORDS)
    ]
    report = reach(everyday, topic)
    report["chosen"] = chosen(report, args.everyday_rate)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
