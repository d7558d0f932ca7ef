"""Scans through the real upload path and pipeline (issue 23): an English PNG and a Chinese
scanned PDF are read by OCR in the sandboxed parser, stored with their pages and OCR confidence,
and found by search; a text-layer PDF is not OCR'd; with OCR off a scan fails as before."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from ingestion.ocr import installed_languages
from portal.knowledge.conf import IngestionConfig
from portal.knowledge.models import Chunk, DocumentVersion
from portal.knowledge.pipeline import ingestion_run, parse_limits
from portal.knowledge.retrieval import passages_search
from portal.knowledge.services import document_upload
from tests.ingestion import factories
from tests.portal.factories import collection

_LANGUAGES = installed_languages()
needs_tesseract = pytest.mark.skipif(
    _LANGUAGES is None or not {"eng", "chi_sim"} <= _LANGUAGES,
    reason="Tesseract with eng and chi_sim is not installed (`make ocr` installs it)",
)

EN_LINES = [
    "A residential parking permit costs 40 dollars",
    "a year. Apply within 30 days of moving in.",
]
ZH_LINES = ["第七条 普通护照的有效期为：护照持有人", "未满十六周岁的五年，十六周岁以上的十年。"]
ZH_PAGE_ONE = ["第一条 为了规范中华人民共和国护照的申请、", "签发和管理，制定本法。"]


def _run(data: bytes, filename: str):
    result = document_upload(collection=collection(), data=data, filename=filename, enqueue=False)
    return result.version, ingestion_run(job_id=result.job.pk)


@needs_tesseract
def test_an_english_png_uploaded_on_the_page_is_searchable_with_page_and_confidence(
    client, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("admin"))
    png = factories.image_bytes([factories.scan(EN_LINES)], "PNG")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/knowledge/",
            {"collection": collection().pk, "files": [SimpleUploadedFile("permit.png", png)]},
        )
    assert response.status_code == 302
    version = DocumentVersion.objects.get(original_filename="permit.png")
    outcome = ingestion_run(job_id=version.job.pk)
    assert outcome.status == "done", outcome.error_message

    version.refresh_from_db()
    assert (version.media_type, version.page_count, version.ocr_pages) == ("image/png", 1, 1)
    assert 0.8 < version.ocr_confidence <= 1.0
    [chunk] = Chunk.objects.filter(version=version)
    assert "costs 40 dollars a year" in chunk.text
    assert (chunk.page_start, chunk.page_end) == (1, 1) and chunk.ocr_confidence > 0.8

    [passage] = passages_search(question="How much is a parking permit?", user=make_user(None))
    assert passage.chunk_id == chunk.pk and passage.page_start == 1


@needs_tesseract
def test_a_scanned_chinese_pdf_is_searchable_with_its_page(db, make_user):
    pages = [
        factories.scan(ZH_PAGE_ONE, heading="第一章 总则", font=factories.ZH_FONT),
        factories.scan(ZH_LINES, heading="第二章 普通护照", font=factories.ZH_FONT),
    ]
    version, outcome = _run(factories.image_bytes(pages, "PDF"), "护照法.pdf")
    assert outcome.status == "done", outcome.error_message

    version.refresh_from_db()
    assert (version.page_count, version.ocr_pages, version.language) == (2, 2, "zh")
    assert version.ocr_confidence is not None
    passages = passages_search(question="普通护照的有效期是多久", user=make_user(None))
    top = passages[0]
    assert "护照持有人" in top.text and "十六周岁" in top.text
    assert top.page_start == 2 == top.page_end
    assert top.heading_path == ("第二章 普通护照",)
    assert Chunk.objects.get(pk=top.chunk_id).ocr_confidence > 0.5


@needs_tesseract
def test_a_pdf_with_a_text_layer_is_not_ocrd(db):
    version, outcome = _run(factories.pdf_with_sections(pages=2), "guide.pdf")
    assert outcome.status == "done"
    version.refresh_from_db()
    assert (version.ocr_pages, version.ocr_confidence) == (0, None)
    assert not Chunk.objects.filter(version=version, ocr_confidence__isnull=False).exists()


@override_settings(INGEST_OCR=False)
def test_with_ocr_off_a_scanned_pdf_fails_with_the_no_text_layer_reason(db):
    scanned = factories.image_bytes([factories.scan(EN_LINES)], "PDF")
    version, outcome = _run(scanned, "scan.pdf")
    assert outcome.status == "failed" and outcome.error_code == "no_text_layer"
    assert "no text layer" in outcome.error_message
    assert "OCR is switched off here (INGEST_OCR)" in outcome.error_message
    version.refresh_from_db()
    assert version.status == "failed" and version.ocr_pages == 0


def test_the_ocr_settings_reach_the_parser_and_are_validated():
    with override_settings(
        INGEST_OCR=False,
        INGEST_OCR_LANGUAGES="eng",
        INGEST_OCR_MIN_TEXT_CHARS=5,
        INGEST_OCR_PAGE_TIMEOUT_S=12.5,
        INGEST_OCR_WORKERS=3,
        INGEST_OCR_DPI=300,
    ):
        limits = parse_limits()
    assert (limits.ocr, limits.ocr_languages, limits.ocr_min_text_chars) == (False, "eng", 5)
    assert (limits.ocr_page_timeout_s, limits.ocr_workers, limits.ocr_dpi) == (12.5, 3, 300)
    bad = [
        ({"INGEST_OCR_LANGUAGES": "eng;rm -rf"}, "INGEST_OCR_LANGUAGES must be Tesseract"),
        ({"INGEST_OCR_LANGUAGES": "-l"}, "INGEST_OCR_LANGUAGES must be Tesseract"),
        ({"INGEST_OCR_PAGE_TIMEOUT_S": 0}, "INGEST_OCR_PAGE_TIMEOUT_S must be > 0"),
        ({"INGEST_OCR_WORKERS": 0}, "INGEST_OCR_WORKERS must be >= 1"),
        ({"INGEST_OCR_DPI": 2400}, "INGEST_OCR_DPI must be <= 1200"),
        ({"INGEST_OCR_MIN_TEXT_CHARS": -1}, "INGEST_OCR_MIN_TEXT_CHARS must be >= 0"),
    ]
    for overrides, message in bad:
        with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
            IngestionConfig.from_settings()
        with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
            parse_limits()


@needs_tesseract
def test_a_scan_keeps_its_job_heartbeat_fresh_while_it_is_read(db, monkeypatch):
    """The reconciler restarts jobs whose heartbeat is older than INGEST_STUCK_AFTER_S: a long
    scan beats as its pages go to OCR (throttled; here every page)."""
    from django.db.models.signals import post_save

    from portal.knowledge import pipeline
    from portal.knowledge.models import IngestionJob

    monkeypatch.setattr(pipeline, "_PARSE_HEARTBEAT_S", 0)
    beats = []

    def on_save(sender, instance, update_fields=None, **kwargs):
        if update_fields == frozenset({"heartbeat_at"}) and instance.step == "parse":
            beats.append(instance.heartbeat_at)

    post_save.connect(on_save, sender=IngestionJob, weak=False)
    try:
        scans = [factories.scan(EN_LINES)] * 3
        _, outcome = _run(factories.image_bytes(scans, "PDF"), "three-pages.pdf")
    finally:
        post_save.disconnect(on_save, sender=IngestionJob)
    assert outcome.status == "done" and len(beats) == 3
