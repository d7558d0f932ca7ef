import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from portal.knowledge.models import Collection
from portal.knowledge.pipeline import ingestion_run_many
from portal.knowledge.services import (
    collection_get_or_create,
    collection_update,
    document_upload,
)

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "knowledge"
# Metadata the collections get (name, description, jurisdiction); collections.json is optional.
# Example questions come from questions.json (``_demo_questions``).
FILLED = ("description", "jurisdiction", "example_questions")


def _demo_questions(manifest: list[dict]) -> dict[str, list[str]]:
    """{collection slug: its written questions} from questions.json, each under the collection
    of the document it expects, in file order: the collections' first example questions."""
    path = DEMO_DIR / "questions.json"
    if not path.exists():
        return {}
    collection_of = {entry["path"]: entry["collection"] for entry in manifest}
    found: dict[str, list[str]] = {}
    for item in json.loads(path.read_text(encoding="utf-8")):
        slug = item.get("collection") or collection_of.get(item.get("expected_path", ""))
        if slug and item.get("question") and item["question"] not in found.get(slug, []):
            found.setdefault(slug, []).append(item["question"])
    return found


def _collection(entry: dict, meta: dict[str, dict]) -> Collection:
    info = meta.get(entry["collection"], {})
    collection = collection_get_or_create(
        slug=entry["collection"],
        name=info.get("name") or entry["collection"].replace("-", " ").title(),
        audience=entry["audience"],
        languages=[entry["language"]],
        description=info.get("description", ""),
        jurisdiction=info.get("jurisdiction", ""),
    )
    # A demo loaded before a field existed gets it now; what an admin set is never overwritten.
    blank = [f for f in FILLED if not getattr(collection, f) and info.get(f)]
    if blank:
        for field in blank:
            setattr(collection, field, info[field])
        collection_update(collection=collection, changed=blank)
    return collection


class Command(BaseCommand):
    help = "Load the demo knowledge base in demo/knowledge (unchanged files are skipped)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--queue", action="store_true", help="enqueue for the Celery workers")

    def handle(self, *args, **opts) -> None:
        manifest = json.loads((DEMO_DIR / "manifest.json").read_text(encoding="utf-8"))
        meta_path = DEMO_DIR / "collections.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        for slug, questions in _demo_questions(manifest).items():
            meta.setdefault(slug, {}).setdefault("example_questions", questions)
        failures = []
        jobs: dict[int, str] = {}
        collections: dict[str, Collection] = {}
        for entry in tqdm(manifest, unit="doc", desc="demo knowledge", disable=None):
            if entry["collection"] not in collections:
                collections[entry["collection"]] = _collection(entry, meta)
            collection = collections[entry["collection"]]
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
                jobs[result.job.pk] = entry["path"]
        if jobs and not opts["queue"]:
            # Bulk mode, as `manage.py ingest` runs it: one embedding pass, one index write.
            for outcome in ingestion_run_many(job_ids=list(jobs)):
                if outcome.status != "done":
                    failures.append(f"{jobs[outcome.job_id]}: {outcome.error_message}")
        self.stdout.write(f"demo knowledge: {len(manifest)} documents, {len(jobs)} new")
        if failures:
            raise CommandError("; ".join(failures))
