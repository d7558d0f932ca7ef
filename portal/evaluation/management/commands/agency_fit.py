"""`manage.py agency_fit [--file FILE] [--no-retrieval] [--grid]`: how often refusal guidance
names the right kind of agency on a labelled dev set (portal/qa/data/agency_dev.jsonl: question
-> expected agency kind, or "generic" where no agency in the table fits).

Each question is searched as a citizen would ask it (the loaded knowledge, `manage.py
load_demo`), and portal/qa/agencies.py scores the agencies from the question and what retrieval
found. Prints the accuracy at the current settings, the accuracy of the old fixed text (every
question "generic"), the accuracy per floor, and with --grid the best (title weight,
jurisdiction weight, floor) combinations. Accuracy, not timing: nothing here is asserted.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError

from portal.knowledge.retrieval import passages_search
from portal.qa import agencies
from portal.qa.conf import AnswerConfig

DEV_SET = Path(agencies.__file__).resolve().parent / "data" / "agency_dev.jsonl"
FLOORS = [round(0.25 + 0.05 * i, 2) for i in range(10)]
TITLE_WEIGHTS = [0.0, 0.1, 0.25, 0.5, 1.0]
JURISDICTION_WEIGHTS = [0.0, 0.05, 0.1, 0.2, 0.4]
GENERIC = "generic"


def _accuracy(rows, signals, *, floor: float, title: float, place: float) -> tuple[float, list]:
    picks = []
    for row, sig in zip(rows, signals, strict=True):
        choice = agencies.agency_pick(
            sig, min_score=floor, title_weight=title, jurisdiction_weight=place
        )
        picks.append((row, choice.agency.kind if choice.agency else GENERIC, choice.score))
    right = sum(1 for row, kind, _ in picks if kind == row["expected"])
    return right / len(rows), picks


class Command(BaseCommand):
    help = "Accuracy of the refusal guidance's agency choice on the labelled dev set."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--file", type=Path, default=DEV_SET)
        parser.add_argument(
            "--no-retrieval", action="store_true", help="score from the question alone"
        )
        parser.add_argument("--grid", action="store_true", help="search weights and floor")

    def handle(self, *args, **opts) -> None:
        try:
            lines = opts["file"].read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        rows = [json.loads(line) for line in lines if line.strip()]
        kinds = {a.kind for a in agencies.agencies_load(agencies.DEFAULT_TABLE)} | {GENERIC}
        unknown = sorted({r["expected"] for r in rows} - kinds)
        if unknown:
            raise CommandError(f"labels not in the agency table: {unknown}")
        k = AnswerConfig.from_settings().passages
        signals = []
        for row in rows:
            found = (
                []
                if opts["no_retrieval"]
                else passages_search(question=row["question"], user=AnonymousUser(), k=k)
            )
            signals.append(agencies.agency_signals(question=row["question"], passages=found))

        floor = settings.ANSWER_AGENCY_MIN_SCORE
        weights = {"title": agencies.TITLE_WEIGHT, "place": agencies.JURISDICTION_WEIGHT}
        accuracy, picks = _accuracy(rows, signals, floor=floor, **weights)
        baseline = sum(1 for r in rows if r["expected"] == GENERIC) / len(rows)
        by_language: Counter = Counter()
        right_by_language: Counter = Counter()
        for row, kind, _ in picks:
            by_language[row["language"]] += 1
            right_by_language[row["language"]] += kind == row["expected"]
        self.stdout.write(
            f"{len(rows)} questions ({dict(by_language)}); retrieval "
            f"{'off' if opts['no_retrieval'] else 'on'}; floor {floor}, weights {weights}"
        )
        per_lang = {
            lang: f"{right_by_language[lang]}/{n}" for lang, n in sorted(by_language.items())
        }
        self.stdout.write(f"accuracy {accuracy:.3f} {per_lang}; fixed text {baseline:.3f}")
        for row, kind, score in picks:
            if kind != row["expected"]:
                self.stdout.write(
                    f"  miss {row['id']}: {row['question']} -> {kind} ({score}),"
                    f" expected {row['expected']}"
                )
        curve = [f"{f}: {_accuracy(rows, signals, floor=f, **weights)[0]:.3f}" for f in FLOORS]
        self.stdout.write("by floor: " + ", ".join(curve))
        if opts["grid"]:
            results = sorted(
                (
                    (_accuracy(rows, signals, floor=f, title=t, place=p)[0], t, p, f)
                    for t, p, f in itertools.product(TITLE_WEIGHTS, JURISDICTION_WEIGHTS, FLOORS)
                ),
                key=lambda x: (-x[0], x[1], x[2], x[3]),
            )
            for acc, t, p, f in results[:10]:
                self.stdout.write(f"grid: accuracy {acc:.3f} title {t} jurisdiction {p} floor {f}")
