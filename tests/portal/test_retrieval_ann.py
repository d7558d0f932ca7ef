"""The approximate (IVF) dense index through the real sync and search, with a small threshold so
the IVF path runs on a handful of chunks; and the per-process allowed-set cache."""

import pytest

from ingestion import vector_store
from portal.knowledge.indexing import ann_recall_check, index_check, index_sync, loaded_indexes
from portal.knowledge.models import Audience
from portal.knowledge.retrieval import allowed_cache, passages_search
from portal.knowledge.services import document_delete
from tests.portal.factories import PASSPORT_MD, STAFF_MD, ZH_MD, collection, ingest


def _current_index():
    from django.conf import settings

    return loaded_indexes.get(settings.EMBEDDING_MODEL)


@pytest.fixture
def ivf_knowledge(db, settings):
    settings.SEARCH_ANN_THRESHOLD = 4
    settings.SEARCH_ANN_NPROBE = 2
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    ingest(ZH_MD, filename="yibao.md", coll=collection("zh-policy"))
    ingest(STAFF_MD, filename="triage.md", coll=collection("internal", audience=Audience.STAFF))
    index_sync()


def test_above_the_threshold_the_index_is_ivf_and_search_still_filters(ivf_knowledge, make_user):
    index = _current_index()
    assert vector_store.is_ivf(index)
    assert index_check().ok

    citizen, staff = make_user(None), make_user("staff")
    question = "caseworkers escalate appeal older than 90 days regional supervisor"
    for retriever in ("dense", "hybrid"):
        citizen_hits = passages_search(question=question, user=citizen, retriever=retriever, k=10)
        assert citizen_hits and all(h.collection != "Internal" for h in citizen_hits)
        staff_hits = passages_search(question=question, user=staff, retriever=retriever, k=10)
        assert staff_hits[0].collection == "Internal"
    hits = passages_search(
        question="Must children apply in person with both parents?", user=citizen, retriever="dense"
    )
    assert "Children under 16" in hits[0].text


def test_ivf_recall_check_against_exact_search(ivf_knowledge, settings):
    # Four chunks, four cells: probing one cell finds only the query's nearest cell, probing
    # all of them is exhaustive. The check must tell the two apart.
    settings.SEARCH_ANN_NPROBE = 1
    partial = ann_recall_check(queries=20, k=3)
    assert partial.kind == vector_store.IVF and partial.queries == 20 and partial.nlist == 4
    assert partial.recall_at_k < 0.9
    settings.SEARCH_ANN_NPROBE = 4
    assert ann_recall_check(queries=20, k=3).recall_at_k == pytest.approx(1.0)


def test_ivf_follows_deletes_and_returns_to_exact_below_half_the_threshold(
    ivf_knowledge, settings, make_user, django_capture_on_commit_callbacks
):
    staff_doc = collection("internal", audience=Audience.STAFF).documents.get()
    with django_capture_on_commit_callbacks(execute=False):
        document_delete(document=staff_doc)
    index_sync()
    assert vector_store.is_ivf(_current_index()) and index_check().ok
    hits = passages_search(
        question="caseworkers escalate appeal", user=make_user("staff"), retriever="dense", k=10
    )
    assert all(h.collection != "Internal" for h in hits)

    settings.SEARCH_ANN_THRESHOLD = 1000
    index_sync()
    assert not vector_store.is_ivf(_current_index()) and index_check().ok


def test_cached_allowed_set_follows_new_documents(db, make_user):
    allowed_cache.clear()
    citizen = make_user(None)
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    first = passages_search(question="新生儿 参保 缴费", user=citizen, retriever="bm25", k=10)
    assert all("新生儿" not in p.text for p in first)
    # Same asker, same filters: the cached set must not hide a document ingested since.
    ingest(ZH_MD, filename="yibao.md")
    again = passages_search(question="新生儿 参保 缴费", user=citizen, retriever="bm25", k=10)
    assert again and "新生儿" in again[0].text


def test_rebuild_re_tokenizes_stored_keywords(db, make_user):
    from portal.knowledge.indexing import keyword_index_sync
    from portal.knowledge.models import Chunk

    ingest(ZH_MD, filename="yibao.md")
    Chunk.objects.update(keywords="stale tokens from an older tokenizer")
    keyword_index_sync(rebuild=True)
    assert all("_参保" in c.keywords.split() for c in Chunk.objects.filter(text__contains="参保"))
    hits = passages_search(question="新生儿参保", user=make_user(None), retriever="bm25")
    assert hits and "新生儿" in hits[0].text


def test_databases_sharing_a_data_dir_keep_their_own_index_files(db, monkeypatch):
    """Every database numbers its index versions from 1, and sync prunes old versions by number:
    an evaluation database beside the demo one used to delete the demo's files."""
    from django.db import connection

    from portal.knowledge.indexing import database_index_dir, keyword_index_sync

    ours = database_index_dir()
    monkeypatch.setitem(connection.settings_dict, "NAME", "another_database")
    theirs = database_index_dir()
    monkeypatch.undo()
    assert ours != theirs and ours.parent == theirs.parent

    # The other database's files, at versions ours will pass.
    for folder, name in (("bm25", "bm25-v1-aaaa.npz"), ("bm25", "bm25-v2-bbbb.npz")):
        (theirs / folder).mkdir(parents=True, exist_ok=True)
        (theirs / folder / name).write_bytes(b"theirs")
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    ingest(ZH_MD, filename="yibao.md", coll=collection("zh-policy"))
    for n in range(3):
        ingest(f"{STAFF_MD}\n\nRevision note {n}.", filename=f"triage-{n}.md")
        index_sync()
        keyword_index_sync()

    assert sorted(p.name for p in (theirs / "bm25").iterdir()) == [
        "bm25-v1-aaaa.npz",
        "bm25-v2-bbbb.npz",
    ]
    assert list((ours / "bm25").glob("bm25-v*")), "our own BM25 file is under our folder"
