from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.safety.services import SEED_LEXICON, lexicon_load


class Command(BaseCommand):
    help = "Load sensitive terms from a JSONL file (default: the seed lexicon); bumps the version."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", type=Path, default=SEED_LEXICON)
        parser.add_argument("--replace", action="store_true", help="delete terms not in the file")

    def handle(self, *args, **opts) -> None:
        if not opts["path"].exists():
            raise CommandError(f"{opts['path']} does not exist")
        try:
            result = lexicon_load(path=opts["path"], replace=opts["replace"])
        except (ValueError, KeyError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"lexicon v{result['version']}: {result['term_count']} enabled terms "
            f"({result['created']} created, {result['updated']} updated, "
            f"{result['removed']} removed)"
        )
