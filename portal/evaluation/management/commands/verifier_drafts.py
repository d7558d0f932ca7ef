"""`manage.py verifier_drafts --split dev [--per-set N] [--out FILE]`: draft answers to dev
questions with the configured model and store every sentence (portal/evaluation/verifier_drafts).

`manage.py verifier_drafts --from-answers [--out FILE]`: instead, take the drafts of the answers
`evaluate answers` stored in this database for dev splits (the engine's own passages and, across
languages, its translated questions), appending to FILE (default: the answer drafts file)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation.verifier_drafts import (
    DEV_ANSWER_DRAFTS,
    DEV_DRAFTS,
    DEV_SETS,
    SplitRefused,
    drafts_collect,
    drafts_from_answers,
)
from portal.knowledge.models import Chunk
from portal.qa.backends import generation_backend
from portal.qa.prompts import build_prompt
from portal.qa.sentences import split_sentences


class Command(BaseCommand):
    help = "Draft answers to dev questions with the configured model, for the verifier's fit."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--split", default="dev", help="dev only: test splits are refused")
        parser.add_argument("--per-set", type=int, default=80)
        parser.add_argument("--datasets", nargs="+", default=list(DEV_SETS))
        parser.add_argument("--out", type=Path, default=DEV_DRAFTS)
        parser.add_argument("--seed", type=int, default=0, help="another seed, other questions")
        parser.add_argument(
            "--from-answers",
            action="store_true",
            help="take the drafts of dev answers stored in this database instead",
        )

    def handle(self, *args, **opts) -> None:
        if opts["from_answers"]:
            self._from_answers(opts["out"] if opts["out"] != DEV_DRAFTS else DEV_ANSWER_DRAFTS)
            return
        backend = generation_backend()
        if backend.kind == "extractive":
            raise CommandError("the configured backend only quotes: drafts need a model")

        def prompt_for(item):
            prompt = build_prompt(
                question=item.question,
                passages=[(lbl, item.titles[lbl], text) for lbl, text in item.passages.items()],
                language=item.language,
                max_sentences=3,
            )
            return prompt.messages, prompt.version

        def progress(name: str, done: int, total: int) -> None:
            if done % 10 == 0 or done == total:
                sys.stderr.write(f"{name}: {done}/{total}\n")

        opts["out"].parent.mkdir(parents=True, exist_ok=True)
        count = 0
        try:
            with opts["out"].open("w", encoding="utf-8") as handle:
                for row in drafts_collect(
                    backend=backend,
                    prompt_for=prompt_for,
                    split_sentences=split_sentences,
                    datasets=tuple(opts["datasets"]),
                    split=opts["split"],
                    per_set=opts["per_set"],
                    seed=opts["seed"],
                    progress=progress,
                ):
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    handle.flush()
                    count += 1
        except SplitRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{count} drafts written to {opts['out']}")

    def _from_answers(self, out: Path) -> None:
        from portal.qa.models import Answer

        def chunk_texts(ids: list[int]) -> dict[int, tuple]:
            rows = Chunk.objects.filter(pk__in=ids).select_related("version__document")
            return {c.pk: (c.text, c.version.document.title) for c in rows}

        known = set()
        if out.exists():
            known = {json.loads(line)["question_id"] for line in out.read_text().splitlines()}
        answers = Answer.objects.exclude(verification=[]).order_by("created_at")
        count = 0
        with out.open("a", encoding="utf-8") as handle:
            for row in drafts_from_answers(answers.iterator(), chunk_texts=chunk_texts):
                if row["question_id"] in known:
                    continue  # idempotent: an answer is harvested once
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        self.stdout.write(f"{count} answer drafts appended to {out}")
