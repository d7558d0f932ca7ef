from django.core.management.base import BaseCommand, CommandError

from portal.knowledge.indexing import index_check, keyword_index_check
from portal.knowledge.models import ChunkEmbedding, VectorIndex


class Command(BaseCommand):
    help = "Exit non-zero unless every FAISS index holds exactly the ids of the live chunks."

    def handle(self, *args, **opts) -> None:
        models = set(VectorIndex.objects.values_list("model", flat=True))
        models |= set(ChunkEmbedding.objects.values_list("model", flat=True).distinct())
        bad = []
        checks = [index_check(model=model) for model in sorted(models)] + [keyword_index_check()]
        for check in checks:
            model = check.model
            state = "ok" if check.ok else "MISMATCH"
            self.stdout.write(
                f"{model}: v{check.version} {state} (missing {check.missing}, extra {check.extra})"
            )
            if not check.ok:
                bad.append(model)
        if bad:
            raise CommandError(f"index out of step with the database: {', '.join(bad)}")
