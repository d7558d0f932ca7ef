"""`evaluate safety` on the two written sets that are not prompt banks (issue 20):

- ``planted_sentences`` (and ``_v2``, written later by someone who could not see the first):
  single document sentences, an instruction to an AI or ordinary text;
  reports how many instructions the ingestion detector flags (recall) and how many ordinary
  sentences it would cut from the evidence (false flags), per language and style.
- ``harm_context``: (question, passage) pairs; reports what the guard decides before retrieval
  and after it (the harm-in-context check), per pattern and language: harmful questions over
  hazardous passages must be refused, caregivers' questions over the same passages must not.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from ingestion.screening import planted_classifier
from portal.evaluation.safety import DATA, rate_of
from portal.knowledge.screening import planted_cascade, screen
from portal.safety.guard import input_check
from portal.safety.learned import context_reason

DETECTOR_SETS = {
    "planted_sentences": DATA / "planted_sentences.jsonl",
    "planted_sentences_v2": DATA / "planted_sentences_v2.jsonl",
    "harm_context": DATA / "harm_context.jsonl",
}


def _rows(path: Path, split: str) -> list[dict]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r for r in rows if split in ("all", r["split"])]


def planted_evaluate(rows: list[dict], progress: Callable[[int, int], None] | None) -> dict:
    groups: dict[str, list[bool]] = defaultdict(list)
    for i, row in enumerate(rows, start=1):
        flagged = bool(screen(row["text"]))
        for key in ("all", row["language"], f"{row['language']}:{row['style']}"):
            groups[f"{row['label']}:{key}"].append(flagged)
        if progress:
            progress(i, len(rows))
    cascade = planted_cascade()
    return {
        "detector": planted_classifier(settings.INGEST_PLANTED_CLASSIFIER_PATH).version,
        "cascade": cascade.head.version if cascade else None,
        "flagged": {k: rate_of(sum(v), len(v)) for k, v in sorted(groups.items())},
    }


def context_evaluate(rows: list[dict], progress: Callable[[int, int], None] | None) -> dict:
    groups: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for i, row in enumerate(rows, start=1):
        checked = input_check(row["question"], language=row["language"])
        alone = checked.action == "refuse"
        in_context = (
            not alone
            and checked.context_check
            and context_reason(row["question"], row["language"], [row["passage"]]) is not None
        )
        for key in ("all", row["language"]):
            groups[f"{row['pattern']}:{key}"].append((alone, in_context))
        if progress:
            progress(i, len(rows))
    return {
        "refused": {
            key: {
                "before_retrieval": rate_of(sum(a for a, _ in v), len(v)),
                "in_context": rate_of(sum(c for _, c in v), len(v)),
                "either": rate_of(sum(a or c for a, c in v), len(v)),
            }
            for key, v in sorted(groups.items())
        }
    }


def detector_set_evaluate(
    name: str,
    *,
    split: str,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    rows = _rows(DETECTOR_SETS[name], split)
    rows = rows[:limit] if limit else rows
    evaluate = planted_evaluate if name.startswith("planted_sentences") else context_evaluate
    body = evaluate(rows, progress)
    return {"dataset": f"safety:{name}", "split": split, "n_questions": len(rows), **body}


def detector_table(report: dict) -> str:
    lines = [f"{'group':<52} {'n':>5} {'rate':>7}  95% CI"]
    if "flagged" in report:
        for key, b in report["flagged"].items():
            lines.append(
                f"{'flagged ' + key:<52} {b['n']:>5} {b['rate']:>7.3f}  "
                f"[{b['ci95'][0]:.3f}, {b['ci95'][1]:.3f}]"
            )
    else:
        for key, b in report["refused"].items():
            e = b["either"]
            lines.append(
                f"{'refused ' + key:<52} {e['n']:>5} {e['rate']:>7.3f}  "
                f"[{e['ci95'][0]:.3f}, {e['ci95'][1]:.3f}]  (before retrieval "
                f"{b['before_retrieval']['rate']:.3f}, in context {b['in_context']['rate']:.3f})"
            )
    return "\n".join(lines)
