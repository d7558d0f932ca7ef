from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from portal.knowledge.models import Audience
from portal.knowledge.pipeline import ingestion_run_many
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
        jobs: dict[int, str] = {}
        duplicates = 0
        for path in tqdm(files, unit="file", desc="storing", disable=None):
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
            elif result.duplicate_of is not None:
                duplicates += 1
            else:
                jobs[result.job.pk] = str(path)
        done = 0
        if jobs and not opts["queue"]:
            bars: dict[str, tqdm] = {}

            def show(step: str, n: int, total: int) -> None:
                bar = bars.get(step)
                if bar is None:
                    bar = bars[step] = tqdm(total=total, desc=step, unit="item", disable=None)
                bar.update(n - bar.n)

            for outcome in ingestion_run_many(job_ids=list(jobs), progress=show):
                if outcome.status == "done":
                    done += 1
                else:
                    failures.append(
                        (jobs[outcome.job_id], f"{outcome.error_code}: {outcome.error_message}")
                    )
            for bar in bars.values():
                bar.close()
        queued = len(jobs) if opts["queue"] else 0
        self.stdout.write(
            f"{done} ingested, {queued} queued, {duplicates} unchanged (already ingested), "
            f"{len(failures)} failed"
        )
        for name, reason in failures:
            self.stderr.write(f"FAILED {name}: {reason}")
        if failures:
            raise CommandError(f"{len(failures)} file(s) failed")
