"""The ingestion pipeline for one document version: parse -> chunk -> embed -> index.

Each step persists its output and is skipped when that output already exists, so a job that is
re-run (a redelivered task after a worker died, the reconciler, an admin's retry) continues where
it stopped and ends in the same state as a single clean run. The same code runs inside a Celery
worker and in ``manage.py ingest`` (with a progress callback for the bar).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ingestion.chunking import chunk_document
from ingestion.embedding import load_embedder
from ingestion.errors import IngestionError
from ingestion.sandbox import parse_file_shared
from ingestion.screening import PlantedSpan, text_without
from ingestion.tokenize import tokenize
from ingestion.types import ParsedDocument, ParseLimits
from portal.knowledge.conf import IngestionConfig
from portal.knowledge.indexing import indexes_sync
from portal.knowledge.models import (
    Chunk,
    ChunkEmbedding,
    DocumentVersion,
    IngestionJob,
    JobStatus,
    VersionStatus,
)
from portal.knowledge.screening import screen
from portal.knowledge.services import document_title_adopt

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (step, done, total)
# How often a long parse (OCR, page by page) writes its heartbeat; far below INGEST_STUCK_AFTER_S.
_PARSE_HEARTBEAT_S = 30


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    status: str
    error_code: str = ""
    error_message: str = ""


def parse_limits() -> ParseLimits:
    """The sandbox's limits and OCR options, validated by IngestionConfig (the OCR languages
    become a command-line argument of Tesseract)."""
    config = IngestionConfig.from_settings()
    return ParseLimits(
        max_bytes=config.upload_max_bytes,
        max_unpacked_bytes=config.max_unpacked_bytes,
        max_zip_entries=config.max_zip_entries,
        max_pages=config.max_pages,
        timeout_s=config.parse_timeout_s,
        memory_bytes=config.parse_memory_mb * 1024 * 1024,
        ocr=config.ocr,
        ocr_languages=config.ocr_languages,
        ocr_min_text_chars=config.ocr_min_text_chars,
        ocr_page_timeout_s=config.ocr_page_timeout_s,
        ocr_workers=config.ocr_workers,
        ocr_dpi=config.ocr_dpi,
    )


def _log(job: IngestionJob, message: str, *, level: str = "info") -> None:
    job.log = [*job.log, {"at": timezone.now().isoformat(), "level": level, "message": message}]


def _claim(job_id: int) -> IngestionJob | None:
    """Mark the job running and count the attempt; None if it is already finished.

    The conditional UPDATE makes finished jobs a no-op for duplicate deliveries.
    """
    now = timezone.now()
    claimed = IngestionJob.objects.filter(
        pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
    )
    if claimed != 1:
        return None
    return IngestionJob.objects.select_related("version__document").get(pk=job_id)


def _fail(job: IngestionJob, *, code: str, message: str) -> JobOutcome:
    with transaction.atomic():
        job.status = JobStatus.FAILED
        job.error_code = code
        job.error_message = message
        job.finished_at = timezone.now()
        _log(job, message, level="error")
        job.save()
        job.version.status = VersionStatus.FAILED
        job.version.save(update_fields=["status"])
    logger.warning("ingestion job %s failed: %s", job.pk, code)
    return JobOutcome(job.pk, JobStatus.FAILED, code, message)


def _step_started(job: IngestionJob, step: str, total: int | None = None) -> float:
    """Record the step; ``total`` restarts the progress counter (progress counts chunks embedded,
    so steps without a total leave it as it is)."""
    job.step = step
    if total is not None:
        job.progress_done = 0
        job.progress_total = total
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["step", "progress_done", "progress_total", "heartbeat_at"])
    return time.perf_counter()


def _step_finished(job: IngestionJob, step: str, started: float, message: str) -> None:
    job.timings = {**job.timings, step: round(time.perf_counter() - started, 4)}
    _log(job, message)
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["timings", "log", "heartbeat_at"])


def _parse(job: IngestionJob) -> ParsedDocument:
    version = job.version
    if version.parsed is not None:
        return ParsedDocument.from_dict(version.parsed)
    started = _step_started(job, "parse")

    def alive() -> None:
        # Each page sent to OCR: a long scan keeps its heartbeat fresh, so the reconciler
        # (INGEST_STUCK_AFTER_S) does not take it for a dead job and start it again.
        now = timezone.now()
        if (now - job.heartbeat_at).total_seconds() >= _PARSE_HEARTBEAT_S:
            job.heartbeat_at = now
            job.save(update_fields=["heartbeat_at"])

    parsed = parse_file_shared(
        version.file.path,
        filename=version.original_filename,
        limits=parse_limits(),
        on_page=alive,
    )
    version.parsed = parsed.to_dict()
    version.media_type = parsed.media_type
    version.language = parsed.language
    version.page_count = parsed.page_count
    version.ocr_pages = len(parsed.ocr_pages)
    version.ocr_confidence = parsed.ocr_confidence
    version.save(
        update_fields=[
            "parsed",
            "media_type",
            "language",
            "page_count",
            "ocr_pages",
            "ocr_confidence",
        ]
    )
    pages = f", {parsed.page_count} pages" if parsed.page_count else ""
    if parsed.ocr_pages:
        pages += f", {len(parsed.ocr_pages)} read by OCR (confidence {parsed.ocr_confidence:.2f})"
    _step_finished(job, "parse", started, f"parsed {parsed.media_type}{pages}")
    return parsed


def _adopt_title(job: IngestionJob, parsed: ParsedDocument) -> None:
    """The document takes the title its content declares when nobody chose one: the upload had
    only the file name to go by, since it happens before parsing. Outside the parse step, so a
    job resumed after parsing still does it."""
    adopted = document_title_adopt(version=job.version, title=parsed.title)
    if adopted:
        _log(job, f"title taken from the document: {adopted}")
        job.save(update_fields=["log"])


def _chunk(job: IngestionJob, parsed: ParsedDocument) -> None:
    version = job.version
    if version.chunks.exists():
        return
    started = _step_started(job, "chunk")
    drafts = chunk_document(
        parsed,
        max_chars=settings.INGEST_CHUNK_MAX_CHARS,
        overlap_chars=settings.INGEST_CHUNK_OVERLAP_CHARS,
    )
    planted = _screen(drafts)
    # One transaction: either every chunk of the version exists or none does, which is what the
    # exists() check above relies on when the step is re-run.
    with transaction.atomic():
        Chunk.objects.bulk_create(
            [
                Chunk(
                    version=version,
                    position=d.position,
                    text=d.text,
                    heading_path=list(d.heading_path),
                    page_start=d.page_start,
                    page_end=d.page_end,
                    char_start=d.char_start,
                    char_end=d.char_end,
                    ocr_confidence=d.ocr_confidence,
                    keywords=" ".join(tokenize(text_without(d.text, spans))),
                    planted=[span.as_json() for span in spans],
                )
                for d, spans in zip(drafts, planted, strict=True)
            ],
            ignore_conflicts=True,
        )
    flagged = sum(len(spans) for spans in planted)
    if flagged:
        _log(job, f"{flagged} sentence(s) addressed to an AI were flagged and kept out of answers")
    _step_finished(job, "chunk", started, f"{len(drafts)} chunks, {flagged} flagged sentence(s)")


def _screen(drafts: list) -> list[list[PlantedSpan]]:
    """The planted-instruction spans of each chunk (none when INGEST_SCREEN_PLANTED is off)."""
    return [screen(d.text) for d in drafts]


def _embed_rows(rows: list[tuple[int, str]], on_batch: Callable[[int], None]) -> None:
    """Embed (chunk id, text) rows in batches and store the vectors; ``on_batch(n)`` after each."""
    model = settings.EMBEDDING_MODEL
    embedder = load_embedder(model)
    batch_size = settings.EMBEDDING_BATCH_SIZE
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        vectors = embedder.embed([text for _, text in batch])
        ChunkEmbedding.objects.bulk_create(
            [
                ChunkEmbedding(
                    chunk_id=chunk_id, model=model, vector=vec.astype(np.float32).tobytes()
                )
                for (chunk_id, _), vec in zip(batch, vectors, strict=True)
            ],
            ignore_conflicts=True,
        )
        on_batch(len(batch))


def _pending_rows(version_ids: list[int]) -> list[tuple[int, str]]:
    """(chunk id, evidence text) of the chunks without a vector: flagged spans are not embedded,
    so a planted instruction cannot pull its chunk into a search either."""
    return _evidence_rows(
        Chunk.objects.filter(version_id__in=version_ids)
        .exclude(embeddings__model=settings.EMBEDDING_MODEL)
        .order_by("version_id", "position")
    )


def _evidence_rows(chunks) -> list[tuple[int, str]]:
    """(chunk id, evidence text) of ``chunks``, in their order."""
    rows = chunks.values_list("id", "text", "planted")
    return [(pk, text_without(text, planted)) for pk, text, planted in rows]


def _embed(job: IngestionJob, progress: Progress | None) -> None:
    pending = _pending_rows([job.version_id])
    total = job.version.chunks.count()
    started = _step_started(job, "embed", total)
    job.progress_done = total - len(pending)

    def on_batch(n: int) -> None:
        job.progress_done += n
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["progress_done", "heartbeat_at"])
        if progress:
            progress("embed", job.progress_done, total)

    _embed_rows(pending, on_batch)
    _step_finished(
        job, "embed", started, f"embedded {total} chunks with {settings.EMBEDDING_MODEL}"
    )


def _index(job: IngestionJob) -> None:
    started = _step_started(job, "index")
    with transaction.atomic():
        job.version.status = VersionStatus.DONE
        job.version.save(update_fields=["status"])
    result = indexes_sync()
    _step_finished(job, "index", started, f"index {result.model} v{result.version}")


def ingestion_run(*, job_id: int, progress: Progress | None = None) -> JobOutcome:
    """Run (or resume) the pipeline of one job. Safe to call any number of times."""
    job, outcome = _start(job_id)
    if job is None:
        return outcome
    try:
        parsed = _parse(job)
        _adopt_title(job, parsed)
        _chunk(job, parsed)
        _embed(job, progress)
        _index(job)
    except IngestionError as exc:
        return _fail(job, code=exc.code, message=str(exc))
    return _finish(job)


def _finish(job: IngestionJob) -> JobOutcome:
    job.status = JobStatus.DONE
    job.step = ""
    job.finished_at = timezone.now()
    job.error_code = job.error_message = ""
    _log(job, "done")
    job.save()
    return JobOutcome(job.pk, JobStatus.DONE)


def _start(job_id: int) -> tuple[IngestionJob | None, JobOutcome | None]:
    """Claim a job for running; or the outcome to report when it must not run."""
    job = _claim(job_id)
    if job is None:
        current = IngestionJob.objects.get(pk=job_id)
        return None, JobOutcome(job_id, current.status, current.error_code, current.error_message)
    if job.attempts > settings.INGEST_MAX_ATTEMPTS:
        return None, _fail(
            job,
            code="too_many_attempts",
            message=(
                f"Ingestion was interrupted {job.attempts - 1} times (a worker stopped or "
                f"timed out while working on it). Last step: {job.step or 'none'}. "
                "Check worker memory and time limits, then upload the file again."
            ),
        )
    job.version.status = VersionStatus.RUNNING
    job.version.save(update_fields=["status"])
    return job, None


def ingestion_run_many(*, job_ids: list[int], progress: Progress | None = None) -> list[JobOutcome]:
    """Bulk mode (``manage.py ingest``, the benchmark): the same steps and rows, but embedding
    batches span documents and the index file is written once at the end.

    Run one document at a time, a folder of small files would embed a few chunks per call and
    rewrite the whole index file per document; both dominated the wall time in the benchmark.
    """
    outcomes: dict[int, JobOutcome] = {}
    ready: list[IngestionJob] = []
    for job_id in job_ids:
        job, outcome = _start(job_id)
        if job is None:
            outcomes[job_id] = outcome
            continue
        try:
            parsed = _parse(job)
            _adopt_title(job, parsed)
            _chunk(job, parsed)
        except IngestionError as exc:
            outcomes[job_id] = _fail(job, code=exc.code, message=str(exc))
            continue
        ready.append(job)
        if progress:
            progress("parse", len(outcomes) + len(ready), len(job_ids))

    pending = _pending_rows([job.version_id for job in ready])
    started = time.perf_counter()
    embedded = 0

    def on_batch(n: int) -> None:
        nonlocal embedded
        embedded += n
        IngestionJob.objects.filter(pk__in=[j.pk for j in ready]).update(
            heartbeat_at=timezone.now()
        )
        if progress:
            progress("embed", embedded, len(pending))

    _embed_rows(pending, on_batch)
    embed_seconds = time.perf_counter() - started
    started = time.perf_counter()
    DocumentVersion.objects.filter(pk__in=[j.version_id for j in ready]).update(
        status=VersionStatus.DONE
    )
    result = indexes_sync() if ready else None
    index_seconds = time.perf_counter() - started
    share = 1 / len(ready) if ready else 0.0
    for job in ready:
        total = job.version.chunks.count()
        job.progress_done = job.progress_total = total
        job.timings = {
            **job.timings,
            # Shared work is split evenly so per-step sums still add up to the wall time.
            "embed": round(embed_seconds * share, 4),
            "index": round(index_seconds * share, 4),
        }
        _log(job, f"embedded {total} chunks with {settings.EMBEDDING_MODEL} (bulk)")
        _log(job, f"index {result.model} v{result.version}")
        outcomes[job.pk] = _finish(job)
    return [outcomes[job_id] for job_id in job_ids]


def planted_rescreen(*, progress: Progress | None = None, batch: int = 200) -> dict:
    """Screen every stored chunk again (chunks ingested before screening existed, or after the
    detector was refitted): chunks whose flags change get new keywords and a new vector, and
    both indexes are rebuilt when any did. Idempotent: a second run changes nothing."""
    ids = list(Chunk.objects.order_by("id").values_list("id", flat=True))
    changed: list[int] = []
    flagged = 0
    for start in range(0, len(ids), batch):
        chunks = list(
            Chunk.objects.filter(pk__in=ids[start : start + batch]).only("text", "planted")
        )
        stale = []
        for chunk in chunks:
            spans = [span.as_json() for span in screen(chunk.text)]
            flagged += len(spans)
            if spans != chunk.planted:
                chunk.planted = spans
                chunk.keywords = " ".join(tokenize(text_without(chunk.text, spans)))
                stale.append(chunk)
        with transaction.atomic():
            Chunk.objects.bulk_update(stale, ["planted", "keywords"])
            ChunkEmbedding.objects.filter(chunk__in=stale).delete()
        changed += [c.pk for c in stale]
        if progress:
            progress("screen", min(start + batch, len(ids)), len(ids))
    pending = _evidence_rows(Chunk.objects.filter(pk__in=changed).order_by("id"))
    _embed_rows(pending, lambda n: progress("embed", n, len(pending)) if progress else None)
    if changed:
        indexes_sync(rebuild=True)
    return {"chunks": len(ids), "changed": len(changed), "flagged_sentences": flagged}
