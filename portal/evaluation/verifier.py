"""Fitting the verifier's support score and reporting each check, on dev drafts only.

Every drafted sentence of ``verifier_dev_drafts.jsonl`` (portal/evaluation/verifier_drafts.py) is
labelled by the strict judge (``answers.strict_support``, written without the verifier's code).

- ``scorer_fit``: a logistic regression over ``SupportFeatures`` (with and without the embedding
  similarity), its threshold chosen on out-of-fold predictions as the lowest probability whose
  precision against the judge reaches the target; calibration (Brier score, expected calibration
  error) and a reliability plot are reported beside it.
- ``checks_report``: for each registered check, how often it fires on dev sentences and how often
  the judge agrees that a sentence it fired on is unsupported (its precision). A check that
  fires often with low precision costs answers for nothing; one that never fires is dead weight.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from portal.evaluation.answers import JUDGE_METHOD, strict_support
from portal.evaluation.verifier_drafts import drafts_digest
from portal.qa.verify import PassageEvidence, VerifierConfig, as_claimed
from portal.qa.verify.checks import FACTS, REGISTRY, STRUCTURE, SUPPORT, Claim, checks
from portal.qa.verify.scorer import SupportFeatures, logistic_fit, oof_probabilities
from portal.qa.verify.verifier import assess, claim_features

Embed = Callable[[list[str]], np.ndarray]
PRECISION_TARGET = 0.98  # of sentences the score passes, the share the strict judge supports


@dataclass(frozen=True)
class DevClaim:
    source: str
    group: str  # the question: folds never split one question's sentences
    claim: Claim
    judge: bool  # the strict judge's label: supported
    structural: str | None  # the first structure check that fired, if any
    features: SupportFeatures | None
    crosslingual: bool


def dev_claims(rows: list[dict], *, config: VerifierConfig, embed: Embed | None) -> list[DevClaim]:
    out = []
    for row in rows:
        evidence = {
            label: PassageEvidence.of(label, text, document_title=row["titles"].get(label, ""))
            for label, text in row["passages"].items()
        }
        for sentence in row["sentences"]:
            # Judged as the engine judges it: title, leading marks and spacing as published.
            cited_evidence = [evidence[lbl] for lbl in sentence["labels"] if lbl in evidence]
            text = as_claimed(sentence["text"], cited_evidence) or sentence["text"]
            claim = Claim(text, tuple(sentence["labels"]), evidence)
            cited = [row["passages"][lbl] for lbl in claim.labels if lbl in row["passages"]]
            judge = bool(cited) and strict_support(claim.text, cited)
            structural = next((c.problem.name for c in checks(STRUCTURE) if c.run(claim)), None)
            features, crosslingual = None, False
            if structural is None:
                _, features, _, crosslingual = claim_features(claim, config=config, embed=embed)
            out.append(
                DevClaim(
                    row["source"],
                    f"{row['source']}/{row['question_id']}",
                    claim,
                    judge,
                    structural,
                    features,
                    crosslingual,
                )
            )
    return out


def _metrics(p: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    passed = p >= threshold
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(
        abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).sum() / len(p)
        for b in range(10)
        if (bins == b).any()
    )
    order = np.argsort(-p)
    ranked = y[order]
    positives, negatives = ranked.sum(), len(ranked) - ranked.sum()
    auc = (
        float(np.sum(np.cumsum(1 - ranked) * ranked) / (positives * negatives))
        if positives and negatives
        else float("nan")
    )
    return {
        "n": len(y),
        "judge_supported": int(y.sum()),
        "passed": int(passed.sum()),
        "precision": round(float(y[passed].mean()), 3) if passed.any() else None,
        "recall": round(float(passed[y == 1].mean()), 3) if y.any() else None,
        "brier": round(float(np.mean((p - y) ** 2)), 4),
        "ece": round(float(ece), 4),
        "auc": round(1 - auc, 3) if not math.isnan(auc) else None,
    }


def _threshold(p: np.ndarray, y: np.ndarray, target: float) -> float:
    """The lowest threshold whose precision reaches ``target`` (most answers kept)."""
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        passed = p >= t
        if passed.any() and y[passed].mean() >= target:
            return float(t)
    return 0.95


def scorer_fit(
    claims: list[DevClaim],
    *,
    rows_digest: str,
    folds: int = 5,
    l2: float = 1.0,
    target: float = PRECISION_TARGET,
    files: tuple[str, ...] = ("portal/evaluation/data/verifier_dev_drafts.jsonl",),
) -> tuple[dict, dict]:
    """Fit both weight sets; return (scorer file content, report with out-of-fold figures).
    ``files``: the draft files the claims came from, recorded with the scorer."""
    usable = [c for c in claims if c.features is not None]
    if len(usable) < 30 or len({c.judge for c in usable}) < 2:
        raise ValueError(f"too few labelled dev sentences to fit ({len(usable)})")
    y = np.array([1.0 if c.judge else 0.0 for c in usable])
    groups = [c.group for c in usable]  # folds never split one question's sentences
    parts, report = {}, {}
    for name, names in (("full", SupportFeatures.FULL), ("lexical", SupportFeatures.LEXICAL)):
        x = np.array([c.features.vector(names) for c in usable])
        oof = oof_probabilities(x, y, groups, folds=folds, l2=l2)
        threshold = _threshold(oof, y, target)
        weights, bias = logistic_fit(x, y, l2=l2)
        parts[name] = {
            "features": list(names),
            "weights": [round(float(v), 5) for v in weights],
            "bias": round(bias, 5),
        }
        report[name] = {
            "threshold": threshold,
            "out_of_fold": _metrics(oof, y, threshold),
            "oof_probabilities": oof.tolist(),
        }
    scorer = {
        "version": f"support-lr-{rows_digest[:12]}",
        "kind": "logistic",
        **parts,
        "threshold_dev": report["full"]["threshold"],
        "trained_on": {
            "files": list(files),
            "digest": rows_digest,
            "sentences": len(usable),
            "judge": JUDGE_METHOD,
            "precision_target": target,
            "fitted": date.today().isoformat(),
        },
        "dev_figures": {k: v["out_of_fold"] for k, v in report.items()},
    }
    return scorer, {"labels": y.tolist(), **report}


def reliability_plot(report: dict, path: Path) -> None:
    """Predicted probability against the judge's rate, out of fold, per weight set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = np.array(report["labels"])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for name in ("full", "lexical"):
        p = np.array(report[name]["oof_probabilities"])
        bins = np.minimum((p * 10).astype(int), 9)
        xs = [p[bins == b].mean() for b in range(10) if (bins == b).any()]
        ys = [y[bins == b].mean() for b in range(10) if (bins == b).any()]
        ax.plot(xs, ys, marker="o", label=f"{name} (threshold {report[name]['threshold']:.2f})")
    ax.set_xlabel("support probability (out of fold)")
    ax.set_ylabel("share the strict judge supports")
    ax.set_title("Verifier support score on dev drafts")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def checks_report(
    claims: list[DevClaim], *, config: VerifierConfig, scorer, embed: Embed | None
) -> dict:
    """Per check: firing rate over dev sentences and precision against the strict judge."""
    fired: dict[str, list[bool]] = {c.problem.name: [] for c in REGISTRY}
    verdict_unsupported, judge_unsupported = [], []
    for item in claims:
        hits = {c.problem.name for c in checks(STRUCTURE) if c.run(item.claim)}
        any_hit = bool(hits)
        if not hits:
            assessment, _ = assess(item.claim, config=config, scorer=scorer, embed=embed)
            hits = {c.problem.name for c in (*checks(SUPPORT), *checks(FACTS)) if c.run(assessment)}
            any_hit = bool(hits)
        for name in hits:
            fired[name].append(not item.judge)
        verdict_unsupported.append(any_hit)
        judge_unsupported.append(not item.judge)
    n = len(claims)
    rows = {
        name: {
            "fires": len(agree),
            "firing_rate": round(len(agree) / n, 3) if n else 0.0,
            "precision": round(sum(agree) / len(agree), 3) if agree else None,
        }
        for name, agree in fired.items()
    }
    v, j = np.array(verdict_unsupported), np.array(judge_unsupported)
    return {
        "sentences": n,
        "judge_unsupported": int(j.sum()),
        "verifier": {
            "passed": int((~v).sum()),
            "passed_but_judge_unsupported": int((~v & j).sum()),
            "precision_of_passed": round(float((~j)[~v].mean()), 3) if (~v).any() else None,
        },
        "checks": rows,
    }


def report_table(report: dict) -> str:
    lines = [
        f"{report['sentences']} dev sentences; strict judge: {report['judge_unsupported']} "
        "unsupported",
        f"{'check':<22} {'fires':>6} {'rate':>6} {'precision':>9}",
    ]
    for name, row in report["checks"].items():
        precision = "-" if row["precision"] is None else f"{row['precision']:.2f}"
        lines.append(f"{name:<22} {row['fires']:>6} {row['firing_rate']:>6.3f} {precision:>9}")
    v = report["verifier"]
    lines.append(
        f"passed {v['passed']}, of which the judge fails {v['passed_but_judge_unsupported']} "
        f"(precision {v['precision_of_passed']})"
    )
    return "\n".join(lines)


def dump(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


__all__ = [
    "DevClaim",
    "checks_report",
    "dev_claims",
    "drafts_digest",
    "reliability_plot",
    "report_table",
    "scorer_fit",
]
