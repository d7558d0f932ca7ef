from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation.safety_bank import DATA, derived_build


class Command(BaseCommand):
    help = "Write cvalues_answer.jsonl and flames_zh.jsonl from ../shared/datasets."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--datasets", type=Path, help="default: ../shared/datasets")
        parser.add_argument("--out", type=Path, default=DATA)

    def handle(self, *args, **opts) -> None:
        try:
            written = derived_build(datasets=opts["datasets"], out=opts["out"])
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        for name, n in written.items():
            self.stdout.write(f"{name}: {n} prompts")
