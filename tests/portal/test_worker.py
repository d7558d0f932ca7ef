"""Ingestion through a real Celery worker process (Redis broker, PostgreSQL, on_commit enqueue)."""

import pytest

from portal.knowledge.indexing import index_check
from portal.knowledge.models import IngestionJob
from portal.knowledge.services import document_upload
from tests.conftest import wait_for
from tests.portal.factories import PASSPORT_MD, collection

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _finished(job_id: int):
    job = IngestionJob.objects.get(pk=job_id)
    return job if job.status in ("done", "failed") else None


def test_upload_is_ingested_by_the_worker(celery_worker_process):
    coll = collection()
    good = document_upload(collection=coll, data=PASSPORT_MD.encode(), filename="passport.md")
    broken = document_upload(
        collection=coll, data=b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", filename="broken.pdf"
    )
    good_job = wait_for(lambda: _finished(good.job.pk), what="the good document")
    broken_job = wait_for(lambda: _finished(broken.job.pk), what="the broken document")

    assert good_job.status == "done", good_job.error_message
    assert good_job.version.chunks.count() > 0
    assert broken_job.status == "failed" and broken_job.error_code == "corrupt"
    assert "PDF" in broken_job.error_message
    assert index_check().ok
    assert celery_worker_process.poll() is None  # the bad file did not kill the worker
