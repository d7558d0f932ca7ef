"""Hybrid retrieval and its filters, tested at the retrieval layer (not through views)."""

import pytest

from portal.knowledge.indexing import index_sync, keyword_index_check, keyword_index_sync
from portal.knowledge.models import Audience
from portal.knowledge.retrieval import Passage, passages_search, rrf_fuse
from portal.knowledge.services import document_delete
from tests.portal.factories import PASSPORT_MD, STAFF_MD, ZH_MD, collection, ingest

RETRIEVERS = ["bm25", "dense", "hybrid"]


class ReverseReranker:
    """A stand-in reranker (no reranker weights install offline): reverses the pool."""

    def rerank(self, question: str, passages: list[Passage]) -> list[Passage]:
        return list(reversed(passages))


def test_rrf_rewards_ids_found_by_both_lists():
    fused = rrf_fuse([[(1, 0.9), (2, 0.8)], [(2, 5.0), (3, 4.0)]], k=60)
    assert [i for i, _ in fused] == [2, 1, 3]


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    ingest(ZH_MD, filename="yibao.md", coll=collection("zh-policy"))
    ingest(STAFF_MD, filename="triage.md", coll=collection("internal", audience=Audience.STAFF))


@pytest.mark.parametrize("retriever", RETRIEVERS)
def test_each_retriever_finds_the_passage(knowledge, make_user, retriever):
    hits = passages_search(
        question="Must children apply in person with both parents?",
        user=make_user(None),
        retriever=retriever,
    )
    assert hits and "Children under 16" in hits[0].text


@pytest.mark.parametrize("retriever", RETRIEVERS)
def test_citizens_never_receive_staff_passages(knowledge, make_user, retriever):
    question = "caseworkers escalate appeal older than 90 days regional supervisor"
    citizen_hits = passages_search(
        question=question, user=make_user(None), retriever=retriever, k=10
    )
    assert all(h.collection != "Internal" for h in citizen_hits)
    staff_hits = passages_search(question=question, user=make_user("staff"), retriever=retriever)
    assert staff_hits[0].collection == "Internal"


def test_collection_and_language_filters(knowledge, make_user):
    citizen = make_user(None)
    only_zh = passages_search(question="passport renewal", user=citizen, language="zh", k=10)
    assert only_zh and all(h.language == "zh" for h in only_zh)
    in_collection = passages_search(
        question="passport renewal", user=citizen, collections=["zh-policy"], k=10
    )
    assert in_collection and all(h.collection == "Zh-Policy" for h in in_collection)


def test_chinese_keyword_search_uses_word_tokens(knowledge, make_user):
    hits = passages_search(question="新生儿参保", user=make_user(None), retriever="bm25")
    assert hits and "新生儿" in hits[0].text


def test_rerank_stage_reorders_the_fused_pool(knowledge, make_user, settings):
    settings.SEARCH_RERANKER = "tests.portal.test_retrieval.ReverseReranker"
    settings.SEARCH_RERANK_POOL = 3
    citizen = make_user(None)
    fused = passages_search(question="passport by mail", user=citizen, retriever="hybrid", k=3)
    reranked = passages_search(
        question="passport by mail", user=citizen, retriever="hybrid_rerank", k=3
    )
    assert [p.chunk_id for p in reranked] == [p.chunk_id for p in reversed(fused)]


def test_keyword_index_follows_deletes(knowledge, make_user, django_capture_on_commit_callbacks):
    assert keyword_index_check().ok
    doc = collection().documents.get()
    with django_capture_on_commit_callbacks(execute=False):
        document_delete(document=doc)
    assert (
        passages_search(
            question="passport",
            user=make_user(None),
            retriever="bm25",
            collections=["public-services"],
        )
        == []
    )
    index_sync()
    keyword_index_sync()
    assert keyword_index_check().ok
