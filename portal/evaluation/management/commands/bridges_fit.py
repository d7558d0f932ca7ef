"""`manage.py bridges_fit [--datasets stard] [--hold-out N] [--out FILE]`: learn the relevance
gate's lay-to-official term bridges (portal/qa/bridges.py) from dev questions and the passages
that answer them.

``--hold-out N`` leaves out the questions a ``relevance_fit --limit N`` run on the same set reads,
so the gate can be measured on dev questions the bridges were not learned from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation import datasets
from portal.evaluation.answers import fresh_questions
from portal.qa.answerability import QUESTION_FRAME
from portal.qa.bridges import BRIDGES_FILE, FitParams, bridges_fit

# Sets whose gold documents are the passages that answer a question in the words of an official
# text (the point of a bridge). STARD: lay legal questions over statute articles.
DEFAULT_SETS = ["stard"]


class Command(BaseCommand):
    help = "Learn lay-to-official term bridges for the relevance gate from dev questions."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--datasets", nargs="+", default=DEFAULT_SETS)
        parser.add_argument(
            "--hold-out", type=int, default=0,
            help="leave out the questions relevance_fit --limit N reads",
        )  # fmt: skip
        defaults = FitParams()
        for name, value in defaults.__dict__.items():
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
        parser.add_argument("--out", type=Path, default=BRIDGES_FILE)

    def handle(self, *args, **opts) -> None:
        params = FitParams(**{name: opts[name] for name in FitParams().__dict__})
        pairs: list[tuple[str, list[str]]] = []
        corpus: list[str] = []
        for name in opts["datasets"]:
            try:
                eval_set = datasets.load(name, "dev")
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            # A passage's own title (STARD's "民法典第一千二百条" heads every article) names the
            # law, not what the article says.
            texts = {doc.doc_id: doc.text.removeprefix(doc.title) for doc in eval_set.corpus}
            hold_out = (opts["hold_out"],) if opts["hold_out"] else ()
            questions = fresh_questions(eval_set.questions, exclude_limits=hold_out)
            pairs += [
                (q.question, [texts[d] for d in q.gold_doc_ids if d in texts])
                for q in questions
                if any(d in texts for d in q.gold_doc_ids)
            ]
            corpus += texts.values()
            sys.stderr.write(f"{name}: {len(questions)} questions, {len(texts)} passages\n")
        if not pairs:
            raise CommandError("no dev question with an answering passage in these sets")
        bridges = bridges_fit(pairs, corpus, exclude=QUESTION_FRAME, params=params)
        bridges.meta["datasets"] = opts["datasets"]
        bridges.meta["hold_out"] = opts["hold_out"]
        opts["out"].parent.mkdir(parents=True, exist_ok=True)
        opts["out"].write_text(
            json.dumps(bridges.to_json(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
        )
        self.stdout.write(
            f"{bridges.version}: {len(bridges.bridges)} question words bridged from "
            f"{len(pairs)} pairs -> {opts['out']}"
        )
