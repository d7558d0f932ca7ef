"""`manage.py relevance_fit [--datasets NAME...] [--limit N] [--corpus-sample N] [--rows FILE]
[--reuse-rows] [--pair-reader] [--out report.json]`: compare the product's hand relevance gate
with a logistic gate fitted on dev questions (portal/evaluation/gate.py). Retrieval rows are
cached in --rows, so a re-run needs no re-ingestion. ``--pair-reader`` also fits a head over the
local LLM's hidden state of each (question, best passage) pair (cached under var/cache/)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation import datasets
from portal.evaluation.gate import gate_rows, gates_compare
from portal.qa.conf import AnswerConfig

DEFAULT_SETS = ["pubmedqa", "doc2dial", "policyqa", "portal/evaluation/data/demo_questions"]


class Command(BaseCommand):
    help = "Compare the hand relevance gate with a learned one on dev questions."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--datasets", nargs="+", default=DEFAULT_SETS)
        parser.add_argument("--limit", type=int, default=150, help="questions per set")
        parser.add_argument(
            "--corpus-sample", type=int, default=None,
            help="keep the questions' gold documents and this many others (large corpora)",
        )  # fmt: skip
        parser.add_argument("--rows", type=Path, default=Path("var/reports/gate_rows.json"))
        parser.add_argument("--reuse-rows", action="store_true", help="use --rows as stored")
        parser.add_argument("--out", type=Path, default=Path("var/reports/gate_compare.json"))
        parser.add_argument(
            "--pair-reader", action="store_true",
            help="also a head over the LLM's hidden state of (question, passage) (LLM_MODEL_PATH)",
        )  # fmt: skip

    def handle(self, *args, **opts) -> None:
        if opts["reuse_rows"]:
            rows = json.loads(opts["rows"].read_text(encoding="utf-8"))
        else:
            rows = []

            def progress(what: str, done: int, total: int) -> None:
                sys.stderr.write(f"{what}: {done}/{total}\n")

            for name in opts["datasets"]:
                try:
                    eval_set = datasets.load(name, "dev")
                    rows += gate_rows(
                        eval_set, limit=opts["limit"], corpus_sample=opts["corpus_sample"],
                        progress=progress,
                    )  # fmt: skip
                except ValueError as exc:
                    raise CommandError(str(exc)) from exc
            opts["rows"].parent.mkdir(parents=True, exist_ok=True)
            opts["rows"].write_text(json.dumps(rows), encoding="utf-8")
        encode = self._pair_encoder() if opts["pair_reader"] else None
        try:
            report = gates_compare(rows, AnswerConfig.from_settings().relevance, encode=encode)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        opts["out"].parent.mkdir(parents=True, exist_ok=True)
        opts["out"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        for key in ("hand_gate", "learned_at_hand_refusal", "learned_at_target"):
            shown = {k: v for k, v in report[key].items() if k != "per_set"}
            self.stdout.write(f"{key}: {shown}")
        for key in ("pair_reader", "pair_reader_and_features"):
            for at, figures in report.get(key, {}).items():
                shown = {k: v for k, v in figures.items() if k != "per_set"}
                self.stdout.write(f"{key} {at}: {shown}")
        self.stdout.write(f"report: {opts['out']}")

    def _pair_encoder(self):
        from django.conf import settings

        from llm_backend.hidden import encoder_for, model_sha256
        from portal.evaluation.safety_fit import EmbeddingCache

        model = Path(settings.LLM_MODEL_PATH)
        if not model.is_file():
            raise CommandError(f"--pair-reader needs the model at {model} (LLM_MODEL_PATH)")
        sha = model_sha256(str(model))
        cache = EmbeddingCache(
            Path(settings.DATA_DIR) / "cache" / f"gate_pairs-{sha[:12]}.npz",
            f"hidden:{sha}",
            encoder_for(str(model), 2).encode,
        )
        return lambda texts: cache.embed(texts, lambda line: self.stderr.write(line))
