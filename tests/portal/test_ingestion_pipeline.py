"""The ingestion pipeline end to end in this process: parse, chunk, embed, index, lifecycle."""

import datetime as dt

from django.core.management import call_command
from django.utils import timezone

from portal.knowledge.indexing import index_check, index_sync
from portal.knowledge.models import Audience, Chunk, IngestionJob, JobStatus, VectorIndex
from portal.knowledge.pipeline import ingestion_run
from portal.knowledge.retrieval import passages_search
from portal.knowledge.selectors import live_versions
from portal.knowledge.services import document_delete
from tests.portal.factories import PASSPORT_MD, ZH_MD, collection, ingest


def test_markdown_reaches_done_with_headings_and_offsets(db):
    result, outcome = ingest(PASSPORT_MD, filename="passport.md")
    assert outcome.status == "done"
    job = IngestionJob.objects.get(pk=result.job.pk)
    assert set(job.timings) == {"parse", "chunk", "embed", "index"}
    assert job.progress_done == job.progress_total > 0
    chunks = list(Chunk.objects.filter(version=result.version))
    parsed_text = result.version.__class__.objects.get(pk=result.version.pk).parsed["text"]
    for chunk in chunks:
        assert parsed_text[chunk.char_start : chunk.char_end] == chunk.text
    assert any(c.heading_path[-1:] == ["Children"] for c in chunks)
    assert index_check().ok


def test_running_a_finished_job_again_changes_nothing(db):
    result, _ = ingest(PASSPORT_MD)
    before = (Chunk.objects.count(), VectorIndex.objects.get().version)
    again = ingestion_run(job_id=result.job.pk)
    assert again.status == "done"
    assert (Chunk.objects.count(), VectorIndex.objects.get().version) == before


def test_an_interrupted_job_resumes_without_duplicates(db):
    result, _ = ingest(PASSPORT_MD)
    chunk_ids = set(Chunk.objects.values_list("id", flat=True))
    # Simulate a worker dying after the chunk step: embeddings gone, job left running.
    from portal.knowledge.models import ChunkEmbedding

    ChunkEmbedding.objects.all().delete()
    IngestionJob.objects.filter(pk=result.job.pk).update(status=JobStatus.RUNNING)
    assert ingestion_run(job_id=result.job.pk).status == "done"
    assert set(Chunk.objects.values_list("id", flat=True)) == chunk_ids
    assert ChunkEmbedding.objects.count() == len(chunk_ids)
    assert index_check().ok


def test_identical_content_is_not_ingested_twice(db):
    first, _ = ingest(PASSPORT_MD, filename="a.md")
    second, outcome = ingest(PASSPORT_MD, filename="b.md")
    assert second.duplicate_of == first.version and second.job is None and outcome is None


def test_same_title_becomes_a_new_version_that_supersedes(db, make_user):
    v1, _ = ingest(PASSPORT_MD, title="Passports")
    v2, _ = ingest(PASSPORT_MD.replace("6 to 8 weeks", "4 to 6 weeks"), title="Passports")
    assert v2.version.document == v1.version.document and v2.version.number == 2
    assert list(live_versions()) == [v2.version]
    texts = " ".join(
        p.text
        for p in passages_search(question="How long does mail renewal take?", user=make_user(None))
    )
    assert "4 to 6 weeks" in texts and "6 to 8 weeks" not in texts
    # The superseded version's chunks still exist, so old citations keep resolving.
    assert Chunk.objects.filter(version=v1.version).exists()
    assert index_check().ok


def test_future_version_waits_for_its_effective_date(db):
    today = timezone.localdate()
    v1, _ = ingest(PASSPORT_MD, title="Passports")
    v2, _ = ingest(
        PASSPORT_MD + "\nNew rule.", title="Passports", effective_from=today + dt.timedelta(days=30)
    )
    assert list(live_versions()) == [v1.version]
    assert list(live_versions(on=today + dt.timedelta(days=30))) == [v2.version]


def test_expired_version_leaves_retrieval(db):
    today = timezone.localdate()
    result, _ = ingest(PASSPORT_MD, effective_from=today - dt.timedelta(days=10), expires_on=today)
    assert list(live_versions()) == []
    assert list(live_versions(on=today - dt.timedelta(days=1))) == [result.version]
    index_sync()
    assert VectorIndex.objects.get().size == 0


def test_delete_removes_from_retrieval_at_once_and_from_the_index(
    db, make_user, django_capture_on_commit_callbacks
):
    result, _ = ingest(PASSPORT_MD)
    citizen = make_user(None)
    assert passages_search(question="renew passport by mail", user=citizen)
    with django_capture_on_commit_callbacks(execute=False):
        document_delete(document=result.version.document)
    # Before the index sync runs, retrieval already excludes the deleted document.
    assert passages_search(question="renew passport by mail", user=citizen) == []
    index_sync()
    assert VectorIndex.objects.get().size == 0 and index_check().ok


def test_failed_file_fails_alone(db):
    good, _ = ingest(PASSPORT_MD, filename="good.md")
    bad, outcome = ingest("", filename="empty.txt")
    if bad.error_code:  # rejected before a version was created
        assert bad.error_code == "empty_file"
    else:
        assert outcome.status == "failed" and outcome.error_code == "empty_file"
    assert IngestionJob.objects.get(pk=good.job.pk).status == "done"
    assert index_check().ok


def test_chinese_document_and_cross_language_question(db, make_user):
    ingest(ZH_MD, filename="yibao.md", coll=collection("zh-policy"))
    ingest(PASSPORT_MD, filename="passport.md")
    citizen = make_user(None)
    zh = passages_search(question="新生儿什么时候参保？", user=citizen, k=1)
    assert zh and "新生儿" in zh[0].text
    cross = passages_search(
        question="When is the payment period for residents' medical insurance?", user=citizen, k=1
    )
    assert cross and "缴费" in cross[0].text


def test_rebuild_and_check_index_commands(db, capsys):
    ingest(PASSPORT_MD)
    call_command("rebuild_index")
    call_command("check_index")
    assert "ok" in capsys.readouterr().out


def test_staff_collection_is_never_returned_to_citizens(db, make_user):
    from tests.portal.factories import STAFF_MD

    ingest(STAFF_MD, filename="triage.md", coll=collection("internal", audience=Audience.STAFF))
    question = "When do caseworkers escalate an appeal?"
    assert passages_search(question=question, user=make_user(None)) == []
    staff_hits = passages_search(question=question, user=make_user("staff"))
    assert staff_hits and "90 days" in staff_hits[0].text
