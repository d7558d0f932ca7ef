"""`manage.py verifier_report --split dev [--out FILE]`: each verifier check's firing rate and its
precision against the strict judge, on the dev drafts (portal/evaluation/verifier.py). Test splits
are refused: nobody reads their individual sentences."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation.verifier import checks_report, dev_claims, dump, report_table
from portal.evaluation.verifier_drafts import DEV_DRAFTS, SplitRefused, drafts_read
from portal.qa.conf import verifier_config
from portal.qa.engine.relevance import embed_texts
from portal.qa.verify.scorer import scorer_load


class Command(BaseCommand):
    help = "Report each verifier check's dev firing rate and precision against the strict judge."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--split", default="dev")
        parser.add_argument("--drafts", type=Path, default=DEV_DRAFTS)
        parser.add_argument("--out", type=Path, help="JSON report path")

    def handle(self, *args, **opts) -> None:
        if opts["split"] != "dev":
            raise CommandError("the verifier report runs on dev splits only")
        try:
            rows = drafts_read(opts["drafts"])
        except SplitRefused as exc:
            raise CommandError(str(exc)) from exc
        config = verifier_config()
        claims = dev_claims(rows, config=config, embed=embed_texts)
        report = checks_report(
            claims, config=config, scorer=scorer_load(config.scorer_path), embed=embed_texts
        )
        self.stdout.write(report_table(report))
        if opts["out"]:
            dump(report, opts["out"])
