import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from portal.knowledge.pipeline import ingestion_run
from portal.knowledge.services import collection_get_or_create, document_upload

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "knowledge"


class Command(BaseCommand):
    help = "Load the demo knowledge base in demo/knowledge (unchanged files are skipped)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--queue", action="store_true", help="enqueue for the Celery workers")

    def handle(self, *args, **opts) -> None:
        manifest = json.loads((DEMO_DIR / "manifest.json").read_text(encoding="utf-8"))
        failures = []
        new = 0
        for entry in tqdm(manifest, unit="doc", desc="demo knowledge", disable=None):
            collection = collection_get_or_create(
                slug=entry["collection"],
                name=entry["collection"].replace("-", " ").title(),
                audience=entry["audience"],
                languages=[entry["language"]],
            )
            path = DEMO_DIR / entry["path"]
            result = document_upload(
                collection=collection,
                data=path.read_bytes(),
                filename=path.name,
                title=entry["title"],
                enqueue=opts["queue"],
            )
            if not result.ok:
                failures.append(f"{entry['path']}: {result.error_message}")
            elif result.job is not None:
                new += 1
                if not opts["queue"]:
                    outcome = ingestion_run(job_id=result.job.pk)
                    if outcome.status != "done":
                        failures.append(f"{entry['path']}: {outcome.error_message}")
        self.stdout.write(f"demo knowledge: {len(manifest)} documents, {new} new")
        if failures:
            raise CommandError("; ".join(failures))
