"""BM25 tokens and scoring, and the index file round trip."""

import numpy as np

from ingestion.keyword_index import BM25Index
from ingestion.tokenize import tokenize


def test_tokens_for_chinese_and_english():
    tokens = tokenize("城乡居民医疗保险按年度缴费. Children's benefits apply")
    assert {"医疗", "保险", "医疗保险", "缴费"} <= set(tokens)
    assert {"children", "benefit", "apply"} <= set(tokens)
    assert "the" not in tokenize("the rules") and "的" not in tokenize("我的保险")


def test_bm25_prefers_rarer_terms_and_respects_the_mask(tmp_path):
    index = BM25Index.build(
        [
            (10, tokenize("passport renewal by mail")),
            (11, tokenize("children passport apply in person")),
            (12, tokenize("heating assistance for households")),
        ]
    )
    hits = index.search(tokenize("children passport"), k=3)
    assert [i for i, _ in hits][:1] == [11] and {i for i, _ in hits} == {10, 11}
    masked = index.search(tokenize("children passport"), k=3, allowed=np.array([True, False, True]))
    assert [i for i, _ in masked] == [10]
    assert index.search(tokenize("unrelated words"), k=3) == []

    again = BM25Index.read(index.write(directory=tmp_path, version=1))
    assert again.search(tokenize("children passport"), k=3) == hits


def test_dense_filter_fallback_keeps_only_allowed_ids():
    # The path GPU indexes take (they reject search-time selectors), run here on a CPU index.
    from ingestion import vector_store

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 8)).astype(np.float32)
    index = vector_store.empty_index(8)
    vector_store.index_apply(
        index, add_ids=np.arange(100, 150), add_vectors=vectors, remove_ids=np.zeros(0, np.int64)
    )
    allowed = np.array([103, 120, 149])
    with_selector = vector_store.search(index, vectors[:1], k=3, allowed_ids=allowed)
    fallback = vector_store._search_then_filter(
        index, vectors[:1], k=3, allowed=vector_store.IdFilter(allowed)
    )
    assert set(with_selector[1][0]) == set(fallback[1][0]) == {103, 120, 149}
    assert list(fallback[1][0]) == list(with_selector[1][0])  # same order: best first


def test_bm25_matches_a_plain_bm25_and_filters_inside_the_search():
    # The vectorized scorer must give the textbook BM25 ranking (k1=1.2, b=0.75).
    import math
    import random

    rng = random.Random(3)
    words = [f"w{i}" for i in range(300)]
    rows = [(i * 3, [rng.choice(words) for _ in range(rng.randint(5, 40))]) for i in range(2000)]
    index = BM25Index.build(rows)
    average = sum(len(t) for _, t in rows) / len(rows)
    df = {}
    for _, tokens in rows:
        for word in set(tokens):
            df[word] = df.get(word, 0) + 1

    def plain(query: list[str], k: int) -> list[tuple[int, float]]:
        scored = []
        for chunk_id, tokens in rows:
            score = 0.0
            for word in dict.fromkeys(query):
                tf = tokens.count(word)
                if tf:
                    idf = math.log(1 + (len(rows) - df[word] + 0.5) / (df[word] + 0.5))
                    score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(tokens) / average))
            if score:
                scored.append((chunk_id, score))
        return sorted(scored, key=lambda item: (-item[1], item[0]))[:k]

    # One term, a few terms, and a query touching most rows (the dense accumulation path).
    for query in (["w1"], ["w1", "w2", "w9", "missing"], words[:150]):
        got, expected = index.search(query, k=10), plain(query, 10)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected], rtol=1e-4)

    odd_rows_only = np.arange(len(rows)) % 2 == 1
    hits = index.search(words[:150], k=10, allowed=odd_rows_only)
    assert len(hits) == 10 and all((chunk_id // 3) % 2 == 1 for chunk_id, _ in hits)
