"""`manage.py harm_reader_fit [--false-rate R] [--epochs N] [--out DIR] [--report FILE]`:
fine-tune the guard's English harm reader on dev rows and write its directory
(portal/evaluation/reader_fit.py says what it reads and how the threshold is chosen)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation.reader_fit import EPOCHS, READER_DIR, reader_fit


class Command(BaseCommand):
    help = "Fine-tune the English harm reader (LoRA on all-MiniLM-L6-v2) on dev rows."

    def add_arguments(self, parser) -> None:
        # 0.02: the decision in docs/decisions.md (issue 20, session 25).
        parser.add_argument("--false-rate", type=float, default=0.02)
        parser.add_argument("--epochs", type=int, default=EPOCHS)
        parser.add_argument("--out", type=Path, default=READER_DIR)
        parser.add_argument("--report", type=Path, default=Path("var/reports/harm_reader.json"))
        parser.add_argument(
            "--plot", type=Path, default=Path("var/reports/harm_reader_loss.png"),
            help="the training loss curve (PNG)",
        )  # fmt: skip

    def handle(self, *args, **opts) -> None:
        if not 0.0 <= opts["false_rate"] < 1.0 or opts["epochs"] < 1:
            raise CommandError("--false-rate must be in [0, 1) and --epochs at least 1")
        try:
            report = reader_fit(
                out=opts["out"],
                false_rate=opts["false_rate"],
                epochs=opts["epochs"],
                plot=opts["plot"],
                progress=lambda line: self.stderr.write(line),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        opts["report"].parent.mkdir(parents=True, exist_ok=True)
        opts["report"].write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        chosen = report["dev"]["choose_slice"]
        brief = {k: v for k, v in chosen.items() if k != "by_source"}
        self.stdout.write(json.dumps({"version": report["version"], **brief}, indent=1))
        self.stderr.write(f"report: {opts['report']}; loss plot: {opts['plot']}")
