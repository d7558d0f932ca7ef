"""`manage.py answering_fit [--datasets NAME...] [--limit N] [--out FILE]`: fit the answer-sentence
scorer on dev gold spans (portal/evaluation/answering.py) and write the model the verifier's
quoting and the prompt's trimming read. The IDF weights come from this database's keyword index,
as at run time, so run it where the dev corpora are ingested (`manage.py relevance_fit` ingests
them); without an index every term weighs the same."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation import datasets
from portal.evaluation.answering import answering_fit, answering_rows
from portal.knowledge.indexing import keyword_index_loaded
from portal.qa import answerability
from portal.qa.verify.answering import MODEL_FILE

DEFAULT_SETS = ["doc2dial", "policyqa", "portal/evaluation/data/demo_questions"]


class Command(BaseCommand):
    help = "Fit the answer-sentence scorer on dev gold spans."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--datasets", nargs="+", default=DEFAULT_SETS)
        parser.add_argument("--limit", type=int, default=400, help="questions per set")
        parser.add_argument("--out", type=Path, default=MODEL_FILE)
        parser.add_argument("--dry-run", action="store_true", help="report only, write no model")

    def handle(self, *args, **opts) -> None:
        index = keyword_index_loaded()

        def weigher(question: str):
            return answerability.term_weights(question, index).coverage

        rows = []
        for name in opts["datasets"]:
            try:
                rows += answering_rows(
                    datasets.load(name, "dev"), limit=opts["limit"], weigher=weigher
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        try:
            model, figures = answering_fit(rows)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(figures, indent=2))
        if not opts["dry_run"]:
            opts["out"].parent.mkdir(parents=True, exist_ok=True)
            opts["out"].write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
            self.stdout.write(f"model {model['version']} -> {opts['out']}")
