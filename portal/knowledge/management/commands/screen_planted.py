"""`manage.py screen_planted`: flag planted instructions in chunks already stored (documents
ingested before screening existed, or after `safety_fit` refitted the detector)."""

from django.core.management.base import BaseCommand

from portal.knowledge.pipeline import planted_rescreen


class Command(BaseCommand):
    help = "Screen every stored chunk for sentences addressed to an AI; update flags and indexes."

    def handle(self, *args, **opts) -> None:
        def progress(step: str, done: int, total: int) -> None:
            self.stderr.write(f"{step}: {done}/{total}")

        result = planted_rescreen(progress=progress)
        self.stdout.write(
            f"{result['chunks']} chunks screened, {result['changed']} changed, "
            f"{result['flagged_sentences']} flagged sentence(s) in all"
        )
