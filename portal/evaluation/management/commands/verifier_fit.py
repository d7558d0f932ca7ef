"""`manage.py verifier_fit [--drafts FILE] [--out FILE] [--report FILE]`: fit the verifier's
support score on dev drafts (portal/evaluation/verifier.py) and write the scorer file the
verifier ships with, a JSON report and a reliability plot beside it."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation.verifier import (
    PRECISION_TARGET,
    dev_claims,
    drafts_digest,
    dump,
    reliability_plot,
    scorer_fit,
)
from portal.evaluation.verifier_drafts import (
    DEV_ANSWER_DRAFTS,
    DEV_DRAFTS,
    SplitRefused,
    drafts_read,
)
from portal.qa.conf import verifier_config
from portal.qa.engine.relevance import embed_texts
from portal.qa.verify.scorer import SCORER_FILE


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Command(BaseCommand):
    help = "Fit the verifier's calibrated support score on dev drafts labelled by the judge."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--drafts",
            type=Path,
            nargs="+",
            default=[p for p in (DEV_DRAFTS, DEV_ANSWER_DRAFTS) if p.exists()],
            help="default: the dev drafts and, where present, the dev answer drafts",
        )
        parser.add_argument("--out", type=Path, default=SCORER_FILE)
        parser.add_argument("--report", type=Path, default=Path("var/reports/verifier_fit.json"))
        parser.add_argument("--target", type=float, default=PRECISION_TARGET)

    def handle(self, *args, **opts) -> None:
        try:
            rows = [row for path in opts["drafts"] for row in drafts_read(path)]
        except SplitRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"labelling {sum(len(r['sentences']) for r in rows)} dev sentences")
        claims = dev_claims(rows, config=verifier_config(), embed=embed_texts)
        try:
            scorer, report = scorer_fit(
                claims,
                rows_digest=drafts_digest(rows),
                target=opts["target"],
                files=tuple(_relative(p) for p in opts["drafts"]),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        dump(scorer, opts["out"])
        dump(report, opts["report"])
        plot = opts["report"].with_suffix(".png")
        reliability_plot(report, plot)
        for name in ("full", "lexical"):
            self.stdout.write(f"{name}: threshold {report[name]['threshold']:.2f} "
                              f"{report[name]['out_of_fold']}")  # fmt: skip
        self.stdout.write(f"scorer {scorer['version']} -> {opts['out']}; plot {plot}")
