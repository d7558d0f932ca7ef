"""Speed measurement: bandwidth, bytes read per token from a real GGUF, and a real benchmark run."""

from __future__ import annotations

import pytest

from llm_backend.bench import (
    decode_bytes_per_token,
    decode_ceiling_tok_s,
    generation_benchmark,
    gguf_tensor_bytes,
    memory_bandwidth_gbs,
)


def test_ceiling_is_bandwidth_over_bytes_per_token():
    assert decode_ceiling_tok_s(500_000_000, 20.0) == pytest.approx(40.0)
    with pytest.raises(ValueError):
        decode_ceiling_tok_s(0, 20.0)


def test_memory_bandwidth_is_measured():
    gbs = memory_bandwidth_gbs(size_mb=64, repeats=2, threads=1)
    assert 0.5 < gbs < 1000


def test_gguf_tensor_table_accounts_for_the_file(qwen_gguf, smollm2_gguf):
    qwen = gguf_tensor_bytes(qwen_gguf)
    assert len(qwen) == 291
    total = sum(qwen.values())
    assert 0.95 * qwen_gguf.stat().st_size < total < qwen_gguf.stat().st_size
    # Qwen keeps a separate output matrix: a token reads one embedding row, not the table.
    assert decode_bytes_per_token(qwen_gguf) == total - qwen["token_embd.weight"]
    smol = gguf_tensor_bytes(smollm2_gguf)
    assert "output.weight" not in smol  # tied: the embedding table is the output layer
    assert decode_bytes_per_token(smollm2_gguf) == sum(smol.values())


@pytest.mark.slow
def test_generation_benchmark_reports_speeds(smollm2_backend):
    report = generation_benchmark(
        smollm2_backend, ["Name three fruits.", "Name three colours."], max_tokens=8
    )
    assert report["n_prompts"] == 2 and len(report["runs"]) == 2
    assert report["decode_tok_s"] > 1 and report["prefill_tok_s"] > 1
    assert report["first_token_s_p50"] <= report["first_token_s_p95"]
    assert all(r["decode_tok_s"] > 1 for r in report["runs"])
    assert report["model_id"] == smollm2_backend.model_id
