"""How fast generation is, and how fast it could be on this machine.

Decoding one token reads every weight the token passes through once, so on a CPU the ceiling is
memory bandwidth divided by the bytes read per token. ``memory_bandwidth_gbs`` measures the read
bandwidth (threads summing disjoint slices of an array much larger than the caches, best of N);
``decode_bytes_per_token`` reads a GGUF's tensor table and counts what a token reads — everything
but the token-embedding table, of which a token reads one row (unless the model ties its output
matrix to it, in which case the whole table is read by the output layer);
``generation_benchmark`` runs real prompts through a backend and reports prefill and decode speed
and first-token latency.

    python -m llm_backend.bench --threads 2 \
        --model var/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_backend.base import Backend, GenerationRequest

_DEFAULT_PROMPTS = (
    "Summarise in two sentences: adults may renew a passport by mail if it was issued in the last "
    "15 years, when they were 16 or older, and it is undamaged. Mail renewal takes 6-8 weeks.",
    "用两句话概括：16岁以下儿童必须由父母双方陪同当面申请护照。加急服务需要2至3周，另收费60美元。",
    "List three things a patient should tell a pharmacist before starting a new medicine.",
    "What documents does a citizen usually need to apply for a housing benefit? Answer briefly.",
)


def memory_bandwidth_gbs(size_mb: int = 256, repeats: int = 5, threads: int | None = None) -> float:
    """Best-of-``repeats`` read bandwidth in GB/s with ``threads`` readers (default: all cores).

    numpy's sum releases the GIL on large arrays, so the threads really read in parallel, as the
    engine's threads do while decoding. The array is ~8x the L3 of typical servers so caches do not
    flatter the result.
    """
    import numpy as np

    threads = threads or os.cpu_count() or 1
    data = np.ones(size_mb * 1024 * 1024 // 8, dtype=np.float64)
    slices = np.array_split(data, threads)
    best = float("inf")
    for _ in range(repeats + 1):  # the first pass faults the pages in; it is not counted
        barrier = threading.Barrier(threads + 1)

        def read(chunk: Any, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            chunk.sum()

        workers = [threading.Thread(target=read, args=(s,)) for s in slices]
        for w in workers:
            w.start()
        barrier.wait()
        started = time.perf_counter()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
        if _ > 0:
            best = min(best, elapsed)
    return data.nbytes / best / 1e9


def decode_ceiling_tok_s(weights_bytes: int, bandwidth_gbs: float) -> float:
    """Tokens per second if decoding were limited only by reading the weights once per token."""
    if weights_bytes <= 0:
        raise ValueError("weights_bytes must be positive")
    return bandwidth_gbs * 1e9 / weights_bytes


# --- GGUF tensor table (just enough of the format to size each tensor) ---------------------------
_GGUF_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _read(f: Any, fmt: str) -> Any:
    size = struct.calcsize("<" + fmt)
    return struct.unpack("<" + fmt, f.read(size))[0]


def _read_string(f: Any) -> str:
    return f.read(_read(f, "Q")).decode("utf-8", "replace")


def _skip_value(f: Any, kind: int) -> Any:
    if kind == _GGUF_STRING:
        return _read_string(f)
    if kind == _GGUF_ARRAY:
        item_kind, count = _read(f, "I"), _read(f, "Q")
        if item_kind in _GGUF_SCALARS:
            f.seek(struct.calcsize("<" + _GGUF_SCALARS[item_kind]) * count, os.SEEK_CUR)
        else:
            for _ in range(count):
                _skip_value(f, item_kind)
        return None
    return _read(f, _GGUF_SCALARS[kind])


def gguf_tensor_bytes(path: Path) -> dict[str, int]:
    """Bytes of each tensor in a GGUF file (v2/v3), from the offsets in its tensor table."""
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version = _read(f, "I")
        if version < 2:
            raise ValueError(f"GGUF version {version} is not supported")
        n_tensors, n_kv = _read(f, "Q"), _read(f, "Q")
        alignment = 32
        for _ in range(n_kv):
            key = _read_string(f)
            value = _skip_value(f, _read(f, "I"))
            if key == "general.alignment":
                alignment = int(value)
        offsets = []
        for _ in range(n_tensors):
            name = _read_string(f)
            n_dims = _read(f, "I")
            f.seek(8 * n_dims + 4, os.SEEK_CUR)  # dims, ggml type
            offsets.append((_read(f, "Q"), name))
        data_start = -(-f.tell() // alignment) * alignment
    offsets.sort()
    ends = [o for o, _ in offsets[1:]] + [size - data_start]
    return {name: end - offset for (offset, name), end in zip(offsets, ends, strict=True)}


def decode_bytes_per_token(path: Path) -> int:
    """Weight bytes one decoded token reads (see the module docstring)."""
    tensors = gguf_tensor_bytes(path)
    total = sum(tensors.values())
    if "output.weight" in tensors and "token_embd.weight" in tensors:
        return total - tensors["token_embd.weight"]  # one embedding row is negligible
    return total


# --- Running a backend ----------------------------------------------------------------------------
def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def generation_benchmark(
    backend: Backend,
    prompts: Sequence[str | GenerationRequest] = _DEFAULT_PROMPTS,
    *,
    max_tokens: int = 64,
    warmup: int = 1,
) -> dict[str, Any]:
    """Prefill and decode tokens/s over the prompts, first-token and total latency p50/p95.

    Strings become one user message each. ``warmup`` prompts run first and are not counted (page
    faults, thread-pool start-up). Speeds are pooled (total tokens / total time), not averaged;
    ``decode_tok_s_best`` is the fastest single run of at least 16 tokens, the figure to hold
    against a best-of-N bandwidth on a machine other processes share.
    """
    requests = [
        p
        if isinstance(p, GenerationRequest)
        else GenerationRequest(messages=[{"role": "user", "content": p}], max_tokens=max_tokens)
        for p in prompts
    ]
    for request in requests[:warmup]:
        backend.generate(request)
    prefill_tokens = decode_tokens = 0
    prefill_s = decode_s = 0.0
    first: list[float] = []
    total: list[float] = []
    runs = []
    for request in requests:
        _, usage = backend.generate(request)
        evaluated = usage.prompt_tokens - usage.cached_prompt_tokens
        if usage.prefill_s and evaluated > 0:
            prefill_tokens += evaluated
            prefill_s += usage.prefill_s
        if usage.decode_s and usage.completion_tokens > 1:
            decode_tokens += usage.completion_tokens - 1
            decode_s += usage.decode_s
        if usage.first_token_s is not None:
            first.append(usage.first_token_s)
        total.append(usage.total_s)
        runs.append(
            {
                "decode_tok_s": usage.decode_tok_s,
                "prompt_tokens": usage.prompt_tokens,
                "cached_prompt_tokens": usage.cached_prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "first_token_s": usage.first_token_s,
                "total_s": usage.total_s,
            }
        )
    return {
        "backend": backend.kind,
        "model_id": backend.model_id,
        "n_prompts": len(requests),
        "prefill_tok_s": prefill_tokens / prefill_s if prefill_s else None,
        "decode_tok_s": decode_tokens / decode_s if decode_s else None,
        "decode_tok_s_best": max(
            (r["decode_tok_s"] for r in runs if r["decode_tok_s"] and r["completion_tokens"] >= 16),
            default=None,
        ),
        "first_token_s_p50": _percentile(first, 0.5),
        "first_token_s_p95": _percentile(first, 0.95),
        "total_s_p50": statistics.median(total) if total else None,
        "total_s_p95": _percentile(total, 0.95),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_backend.bench")
    parser.add_argument("--model", type=Path, required=True, help="a GGUF file")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--n-gpu-layers", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="run the prompt set this many times")
    args = parser.parse_args(argv)
    from llm_backend.llamacpp import LlamaCppBackend

    bandwidth = memory_bandwidth_gbs(threads=args.threads)
    per_token = decode_bytes_per_token(args.model)
    ceiling = decode_ceiling_tok_s(per_token, bandwidth)
    backend = LlamaCppBackend(
        model_path=args.model, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers
    )
    report = generation_benchmark(
        backend, list(_DEFAULT_PROMPTS) * max(1, args.repeats), max_tokens=args.max_tokens
    )
    report.update(
        threads=args.threads,
        memory_bandwidth_gbs=round(bandwidth, 2),
        weights_bytes_per_token=per_token,
        file_bytes=args.model.stat().st_size,
        decode_ceiling_tok_s=round(ceiling, 1),
        decode_fraction_of_ceiling=(
            round(report["decode_tok_s"] / ceiling, 3) if report["decode_tok_s"] else None
        ),
        decode_best_fraction_of_ceiling=(
            round(report["decode_tok_s_best"] / ceiling, 3) if report["decode_tok_s_best"] else None
        ),
    )
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
