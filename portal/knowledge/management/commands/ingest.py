from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from portal.knowledge.models import Audience
from portal.knowledge.pipeline import ingestion_run
from portal.knowledge.services import collection_get_or_create, document_upload


def _files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"{raw}: no such file or directory")
    return found


class Command(BaseCommand):
    help = (
        "Ingest files (or folders of files) into a collection. Runs the pipeline here with a "
        "progress bar, or hands it to the workers with --queue. Exits non-zero if any file failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+")
        parser.add_argument(
            "--collection", required=True, help="collection slug (created if missing)"
        )
        parser.add_argument("--audience", choices=[a.value for a in Audience], default="public")
        parser.add_argument("--title", help="document title (single file only); default: file name")
        parser.add_argument("--effective-from", type=dt.date.fromisoformat)
        parser.add_argument("--expires-on", type=dt.date.fromisoformat)
        parser.add_argument("--queue", action="store_true", help="enqueue for the Celery workers")

    def handle(self, *args, **opts) -> None:
        files = _files(opts["paths"])
        if opts["title"] and len(files) != 1:
            raise CommandError("--title applies to a single file")
        collection = collection_get_or_create(slug=opts["collection"], audience=opts["audience"])
        failures: list[tuple[str, str]] = []
        done = duplicates = queued = 0
        bar = tqdm(files, unit="file", disable=None)
        for path in bar:
            bar.set_description(path.name[:30])
            result = document_upload(
                collection=collection,
                data=path.read_bytes(),
                filename=path.name,
                title=opts["title"],
                effective_from=opts["effective_from"],
                expires_on=opts["expires_on"],
                enqueue=opts["queue"],
            )
            if not result.ok:
                failures.append((str(path), f"{result.error_code}: {result.error_message}"))
                continue
            if result.duplicate_of is not None:
                duplicates += 1
                continue
            if opts["queue"]:
                queued += 1
                continue

            def show(step: str, n: int, total: int) -> None:
                bar.set_postfix_str(f"{step} {n}/{total}")

            outcome = ingestion_run(job_id=result.job.pk, progress=show)
            if outcome.status == "done":
                done += 1
            else:
                failures.append((str(path), f"{outcome.error_code}: {outcome.error_message}"))
        self.stdout.write(
            f"{done} ingested, {queued} queued, {duplicates} unchanged (already ingested), "
            f"{len(failures)} failed"
        )
        for name, reason in failures:
            self.stderr.write(f"FAILED {name}: {reason}")
        if failures:
            raise CommandError(f"{len(failures)} file(s) failed")
