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
