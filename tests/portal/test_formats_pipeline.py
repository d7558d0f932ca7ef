"""Every supported format reaches "done" through the real pipeline with its citation metadata."""

import pytest

from portal.knowledge.models import Chunk, IngestionJob
from portal.knowledge.pipeline import ingestion_run
from portal.knowledge.services import document_upload
from tests.ingestion import factories
from tests.portal.factories import collection

HTML = b"""<!doctype html><html><head><title>Heating help</title><script>alert('x')</script></head>
<body><h1>Heating help</h1><h2>Who can apply</h2><p>Households below 60 percent of median income
may apply between November 1 and March 15.</p></body></html>"""


def _run(data: bytes, filename: str):
    result = document_upload(collection=collection(), data=data, filename=filename, enqueue=False)
    outcome = ingestion_run(job_id=result.job.pk)
    return result.version, outcome


def test_pdf_keeps_page_numbers(db):
    version, outcome = _run(factories.pdf_with_sections(pages=3), "guide.pdf")
    assert outcome.status == "done", outcome.error_message
    pages = set(Chunk.objects.filter(version=version).values_list("page_start", flat=True))
    assert {1, 2, 3} <= pages
    version.refresh_from_db()
    assert version.page_count == 3 and version.media_type == "application/pdf"


def test_docx_keeps_headings(db):
    version, outcome = _run(factories.docx_with_headings_and_table(), "notice.docx")
    assert outcome.status == "done", outcome.error_message
    paths = [c.heading_path for c in Chunk.objects.filter(version=version)]
    assert any(len(p) >= 1 for p in paths)


def test_html_keeps_headings_and_drops_scripts(db):
    version, outcome = _run(HTML, "heating.html")
    assert outcome.status == "done"
    chunks = list(Chunk.objects.filter(version=version))
    assert all("alert" not in c.text for c in chunks)
    assert any(c.heading_path[-1:] == ["Who can apply"] for c in chunks)


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (factories.pdf_encrypted(), "secret.pdf", "encrypted"),
        (factories.pdf_without_text(), "scan.pdf", "no_text_layer"),
        (factories.docx_bomb(entry_bytes=300 * 1024 * 1024), "bomb.docx", "archive_too_large"),
        # PNG, JPEG and TIFF are read with OCR (tests/portal/test_ocr_pipeline.py); GIF is not.
        (b"GIF89a" + b"\0" * 64, "photo.gif", "unsupported_type"),
    ],
)
def test_hostile_files_fail_alone_with_a_reason(db, data, name, code):
    good, _ = _run(HTML, "heating.html")
    _, outcome = _run(data, name)
    assert outcome.status == "failed" and outcome.error_code == code
    assert len(outcome.error_message) > 20
    assert IngestionJob.objects.get(version=good).status == "done"
