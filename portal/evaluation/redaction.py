"""`evaluate pii`: the question redactor (portal/safety/pii.py) on a labelled set (issue 23).

The set (data/pii_redaction/questions.jsonl, SOURCE.md beside it) holds citizens' questions in
Chinese and English with two kinds of labelled spans: personal data that must be redacted
(names, ID numbers, phones, e-mails, addresses, record numbers) and look-alikes that must stay
(places, organisations, programmes, laws, document titles, drugs, eponyms, hotlines, dates,
amounts). Span-level scoring, type-agnostic where privacy is concerned:

- recall: a personal span counts as redacted when every non-space character of it lies inside
  some finding, of whatever kind (a phone number redacted as <MRN> is still gone);
- precision: a finding is correct when it overlaps a personal span; otherwise it took words the
  question needed;
- kept: a look-alike counts as kept when no finding overlaps it ("no place names lost").

The redactor runs exactly as the input guard calls it (``redact_with_findings``), once without
knowledge-base words and once with the live knowledge base's (``portal.qa.redaction.known_terms``)
when the database has documents. Misses are listed for the dev split only, so the test split
stays unread while the redactor is tuned.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from portal.evaluation.safety import rate_of
from portal.safety.pii import PiiFinding, redact_with_findings

DATA = Path(__file__).parent / "data" / "pii_redaction" / "questions.jsonl"
# The labelled sets by name (SOURCE.md beside them): v2 was written after v1's test half had
# been measured, to measure the redactor on phrasings nobody tuned it on; v3 was written blind
# to both, after the redactor's learned name tagger was built and before it was fitted.
SETS = {
    "pii_redaction": DATA,
    "pii_redaction_v2": DATA.with_name("questions_v2.jsonl"),
    "pii_redaction_v3": DATA.with_name("questions_v3.jsonl"),
}
SPLITS = ("dev", "test", "all")

Finder = Callable[[str], list[PiiFinding]]


def rows_load(split: str = "dev", *, path: Path = DATA, limit: int | None = None) -> list[dict]:
    """The labelled questions of ``split`` ("all" for both), in file order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: one of {', '.join(SPLITS)}")
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if split in ("all", r["split"])]
    return rows[:limit] if limit else rows


def _covered(start: int, end: int, text: str, findings: Iterable[PiiFinding]) -> bool:
    spans = [(f.start, f.end) for f in findings]
    return all(
        any(s <= i < e for s, e in spans) for i in range(start, end) if not text[i].isspace()
    )


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def rows_score(rows: list[dict], find: Finder, *, with_misses: bool) -> dict:
    """Recall, precision and kept rates (each with its Wilson interval) of ``find`` on ``rows``,
    by language ("zh", "en", and "mixed" for rows written in both scripts), by personal-data
    type (recall), by finding kind (precision) and by look-alike type (kept)."""
    recall: dict[str, list[bool]] = defaultdict(list)
    precision: dict[str, list[bool]] = defaultdict(list)
    kept: dict[str, list[bool]] = defaultdict(list)
    misses: list[dict] = []
    elapsed = 0.0
    for row in rows:
        text = row["text"]
        started = time.perf_counter()
        findings = find(text)
        elapsed += time.perf_counter() - started
        groups = ["all", row["language"]] + (["mixed"] if row.get("mixed") else [])
        personal = [s for s in row["spans"] if s["personal"]]
        missed, wrong, lost = [], [], []
        for span in personal:
            ok = _covered(span["start"], span["end"], text, findings)
            for key in [*groups, f"type:{span['type']}"]:
                recall[key].append(ok)
            if not ok:
                missed.append(f"{span['type']} {span['text']!r}")
        for f in findings:
            ok = any(_overlaps(f.start, f.end, s["start"], s["end"]) for s in personal)
            for key in [*groups, f"kind:{f.kind}"]:
                precision[key].append(ok)
            if not ok:
                wrong.append(f"{f.kind}/{f.source} {text[f.start : f.end]!r}")
        for span in row["spans"]:
            if span["personal"]:
                continue
            ok = not any(_overlaps(f.start, f.end, span["start"], span["end"]) for f in findings)
            for key in ("all", row["language"], f"type:{span['type']}"):
                kept[key].append(ok)
            if not ok:
                lost.append(f"{span['type']} {span['text']!r}")
        if with_misses and (missed or wrong or lost):
            misses.append(
                {"id": row["id"], "text": text, "missed": missed, "wrong": wrong, "lost": lost}
            )
    report = {
        "recall": _rates(recall),
        "precision": _rates(precision),
        "kept": _rates(kept),
        "ms_per_question": round(1000 * elapsed / max(len(rows), 1), 2),
    }
    if with_misses:
        report["misses"] = misses
    return report


def _rates(groups: dict[str, list[bool]]) -> dict:
    order = sorted(groups, key=lambda k: (":" in k, k != "all", k))
    return {key: rate_of(sum(groups[key]), len(groups[key])) for key in order}


def guard_finder(known_terms: frozenset[str] = frozenset()) -> Finder:
    """The redactor as the input guard runs it (language detected from the text)."""
    return lambda text: redact_with_findings(text, known_terms=known_terms)[1]


def _live_known_terms() -> frozenset[str]:
    from django.db import DatabaseError

    from portal.qa.redaction import known_terms

    try:
        return known_terms()
    except DatabaseError:  # no database (or not migrated): the run without terms still stands
        return frozenset()


def redaction_evaluate(
    *,
    split: str = "dev",
    limit: int | None = None,
    known_terms: frozenset[str] | None = None,
    path: Path = DATA,
) -> dict:
    """Both runs on the labelled set: ``without_known_terms`` and, when the knowledge base has
    documents (or ``known_terms`` is given), ``with_known_terms``. Misses only for "dev"."""
    rows = rows_load(split, path=path, limit=limit)
    name = next((k for k, v in SETS.items() if v == path), path.stem)
    terms = _live_known_terms() if known_terms is None else known_terms
    with_misses = split == "dev"
    runs = {"without_known_terms": rows_score(rows, guard_finder(), with_misses=with_misses)}
    if terms:
        runs["with_known_terms"] = rows_score(rows, guard_finder(terms), with_misses=with_misses)
    return {
        "dataset": f"safety:{name}",
        "split": split,
        "n_questions": len(rows),
        "n_personal_spans": sum(s["personal"] for r in rows for s in r["spans"]),
        "n_known_terms": len(terms),
        "runs": runs,
    }


def redaction_table(report: dict) -> str:
    lines = [
        f"{report['dataset']} / {report['split']}: {report['n_questions']} questions, "
        f"{report['n_personal_spans']} personal spans, {report['n_known_terms']} known terms"
    ]
    for run, body in report["runs"].items():
        lines.append(f"\n[{run}]  {body['ms_per_question']} ms/question")
        lines.append(f"{'metric':<28} {'k':>5} {'n':>5} {'rate':>7}  95% CI")
        for metric in ("recall", "precision", "kept"):
            for key, b in body[metric].items():
                lines.append(
                    f"{metric + ' ' + key:<28} {b['k']:>5} {b['n']:>5} {b['rate']:>7.3f}  "
                    f"[{b['ci95'][0]:.3f}, {b['ci95'][1]:.3f}]"
                )
    for run, body in report["runs"].items():
        if body.get("misses"):
            lines.append(f"\nmisses ({run}, dev only):")
            for m in body["misses"]:
                lines.append(f"  {m['id']} {m['text']}")
                for label in ("missed", "wrong", "lost"):
                    for item in m[label]:
                        lines.append(f"      {label}: {item}")
    return "\n".join(lines)
