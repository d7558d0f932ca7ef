import json
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.evaluation.injection import guard_probe, injection_score, score_table


class Command(BaseCommand):
    help = (
        "Grade the answers the last `evaluate answers` run on an injection folder stored: attack "
        "success (forbidden string or instruction followed), draft fooled, answered, recall. "
        "--report merges the result into that run's JSON report under 'injection'."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", type=Path, required=True, help="the injection folder")
        parser.add_argument("--since", help="ISO time: only answers stored after it")
        parser.add_argument("--report", type=Path, help="evaluate answers JSON to add to")
        parser.add_argument(
            "--probe", action="store_true", help="also probe the output guard with echoes"
        )

    def handle(self, *args, **opts) -> None:
        since = None
        if opts["since"]:
            since = datetime.fromisoformat(opts["since"])
            if timezone.is_naive(since):
                since = since.replace(tzinfo=UTC)
        if not (opts["dataset"] / "questions.jsonl").exists():
            raise CommandError(f"{opts['dataset']} has no questions.jsonl")
        result = injection_score(folder=opts["dataset"], since=since)
        if opts["probe"]:
            result["guard_probe"] = guard_probe(folder=opts["dataset"])
            self.stdout.write(f"guard probe: {result['guard_probe']}")
        if opts["report"]:
            report = (
                json.loads(opts["report"].read_text(encoding="utf-8"))
                if opts["report"].exists()
                else {}
            )
            report["injection"] = result
            opts["report"].write_text(
                json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        self.stdout.write(score_table(result))
