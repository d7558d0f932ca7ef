"""Stuck jobs are picked up again, and a job that keeps dying is failed with a reason."""

import datetime as dt

from django.contrib.auth.models import Group
from django.utils import timezone

from portal.knowledge.models import Audience, IngestionJob, JobStatus
from portal.knowledge.pipeline import ingestion_run
from portal.knowledge.retrieval import passages_search
from portal.knowledge.services import document_upload, ingestion_reconcile
from tests.portal.factories import STAFF_MD, collection, ingest


def _queued_job(text: str = STAFF_MD):
    result = document_upload(
        collection=collection(), data=text.encode(), filename="x.md", enqueue=False
    )
    return result.job


def test_reconciler_requeues_a_job_whose_worker_went_silent(db, django_capture_on_commit_callbacks):
    job = _queued_job()
    stale = timezone.now() - dt.timedelta(hours=1)
    IngestionJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=stale)
    fresh = _queued_job(STAFF_MD + "\nAnother line.")
    IngestionJob.objects.filter(pk=fresh.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        requeued = ingestion_reconcile(stuck_after_s=60)
    assert requeued == [job.pk]
    assert len(callbacks) == 1
    # The requeued job then runs to completion.
    assert ingestion_run(job_id=job.pk).status == "done"


def test_job_past_the_attempt_cap_fails_with_an_actionable_reason(db, settings):
    settings.INGEST_MAX_ATTEMPTS = 2
    job = _queued_job()
    IngestionJob.objects.filter(pk=job.pk).update(attempts=2, step="embed")
    outcome = ingestion_run(job_id=job.pk)
    assert outcome.status == "failed" and outcome.error_code == "too_many_attempts"
    assert "interrupted 2 times" in outcome.error_message and "embed" in outcome.error_message
    assert IngestionJob.objects.get(pk=job.pk).version.status == "failed"


def test_named_group_collection_is_visible_to_its_group_only(db, make_user):
    coll = collection("appeals-team", audience=Audience.GROUPS)
    team = Group.objects.create(name="appeals-team")
    coll.groups.add(team)
    ingest(STAFF_MD, filename="triage.md", coll=coll)
    member, outsider = make_user("staff", "member"), make_user("staff", "outsider")
    member.groups.add(team)
    question = "When do caseworkers escalate an appeal?"
    assert passages_search(question=question, user=member)
    assert passages_search(question=question, user=outsider) == []
