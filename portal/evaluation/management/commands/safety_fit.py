"""`manage.py safety_fit [--report FILE]`: fit the learned safety heads (harm, medication,
planted instructions) on dev data and write the classifier files the guard and ingestion load
(portal/evaluation/safety_fit.py says what each head is trained on)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation.safety_fit import safety_fit


class Command(BaseCommand):
    help = "Fit the harm, medication-risk and planted-instruction classifiers on dev splits."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--report", type=Path, default=Path("var/reports/safety_fit.json"))
        # Defaults are the decision in docs/decisions.md (issue 20); each is a false-positive
        # rate on the dev near misses the threshold is chosen on.
        parser.add_argument("--harm-false-rate", type=float, default=0.03)
        parser.add_argument("--context-false-rate", type=float, default=0.15)
        parser.add_argument("--medication-false-rate", type=float, default=0.10)
        parser.add_argument("--planted-false-rate", type=float, default=0.005)
        parser.add_argument(
            "--no-hidden", action="store_true",
            help="leave both cascades' head files (LLM hidden states) as they are",
        )  # fmt: skip
        parser.add_argument(
            "--parts", default="guard,planted",
            help="which files to refit: guard (the input guard's heads), planted (ingestion's "
            "detector) or both; the other's files are left as they are",
        )  # fmt: skip
        parser.add_argument(
            "--cascades", default="harm,planted",
            help="which cascades' head files to refit: harm, planted or both (comma-separated)",
        )  # fmt: skip

    def handle(self, *args, **opts) -> None:
        parts = _names(opts["parts"], {"guard", "planted"}, "--parts")
        cascades = _names(opts["cascades"], {"harm", "planted"}, "--cascades")
        summary = safety_fit(
            harm_false_rate=opts["harm_false_rate"],
            context_false_rate=opts["context_false_rate"],
            medication_false_rate=opts["medication_false_rate"],
            planted_false_rate=opts["planted_false_rate"],
            cascades=frozenset() if opts["no_hidden"] else cascades,
            parts=parts,
            progress=lambda line: self.stderr.write(line),
        )
        opts["report"].parent.mkdir(parents=True, exist_ok=True)
        opts["report"].write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
        brief = {k: v for k, v in summary.items() if k != "by_source"}
        self.stdout.write(json.dumps(brief, indent=1, ensure_ascii=False))
        self.stderr.write(f"report: {opts['report']}")


def _names(value: str, allowed: set[str], option: str) -> frozenset[str]:
    names = frozenset(x.strip() for x in value.split(",") if x.strip())
    if not names or names - allowed:
        raise CommandError(
            f"{option}: {value!r}; use {', '.join(sorted(allowed))}, comma-separated"
        )
    return names
