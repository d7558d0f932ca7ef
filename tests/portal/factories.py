"""Small builders for knowledge-base tests."""

from __future__ import annotations

import datetime as dt

from portal.knowledge.models import Audience
from portal.knowledge.pipeline import ingestion_run
from portal.knowledge.services import collection_get_or_create, document_upload

PASSPORT_MD = """# Passport renewal

## Renewing by mail

Adults may renew by mail if their passport was issued within the last 15 years, they were 16 or
older when it was issued, and it is undamaged. Mail renewal takes 6 to 8 weeks.

## Children

Children under 16 must apply in person with both parents. Expedited service takes 2 to 3 weeks
and costs $60.
"""

STAFF_MD = """# Internal triage protocol

## Escalation

Caseworkers escalate any appeal older than 90 days to the regional supervisor on the same day.
"""

ZH_MD = """# 城乡居民医疗保险

## 参保缴费

城乡居民基本医疗保险按年度缴费，每年9月至12月为集中缴费期。新生儿出生后三个月内参保的，自出生之日起享受待遇。
"""


def collection(slug: str = "public-services", audience: str = Audience.PUBLIC):
    return collection_get_or_create(slug=slug, name=slug.title(), audience=audience)


def ingest(
    text: str,
    *,
    filename: str = "doc.md",
    coll=None,
    title: str | None = None,
    effective_from: dt.date | None = None,
    expires_on: dt.date | None = None,
):
    """Upload and run the pipeline in this process; returns (UploadResult, JobOutcome)."""
    result = document_upload(
        collection=coll or collection(),
        data=text.encode("utf-8"),
        filename=filename,
        title=title,
        effective_from=effective_from,
        expires_on=expires_on,
        enqueue=False,
    )
    outcome = ingestion_run(job_id=result.job.pk) if result.job else None
    return result, outcome
