"""Decode speed of a GGUF base with and without a GGUF LoRA (issue 24: within 10% of the base).

    .venv/bin/python -m benchmarks.lora_decode --base var/models/<base>.gguf --lora adapter.gguf

Alternates base and adapter rounds (so drift on a shared machine hits both), each loading the
model, warming once, then timing ``--runs`` completions of ``--tokens`` tokens of a fixed prompt.
"""

from __future__ import annotations

import argparse
import statistics
import time

PROMPT = [
    {
        "role": "user",
        "content": "Explain in detail how a passport renewal by mail works, step by step.",
    }
]


def rates(base: str, lora: str | None, *, tokens: int, runs: int, threads: int) -> list[float]:
    from llama_cpp import Llama

    model = Llama(model_path=base, n_ctx=1024, n_threads=threads, verbose=False,
                  **({"lora_path": lora} if lora else {}))  # fmt: skip
    model.create_chat_completion(messages=PROMPT, max_tokens=8, temperature=0)
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        reply = model.create_chat_completion(messages=PROMPT, max_tokens=tokens, temperature=0)
        out.append(reply["usage"]["completion_tokens"] / (time.perf_counter() - started))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--lora", required=True)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    seen: dict[str, list[float]] = {"base": [], "lora": []}
    for _ in range(args.rounds):
        for name, lora in (("base", None), ("lora", args.lora)):
            got = rates(args.base, lora, tokens=args.tokens, runs=args.runs, threads=args.threads)
            seen[name] += got
            print(f"{name}: {', '.join(f'{r:.1f}' for r in got)} tok/s", flush=True)
    base, lora = statistics.fmean(seen["base"]), statistics.fmean(seen["lora"])
    print(f"mean base {base:.1f} tok/s, with the adapter {lora:.1f} tok/s ({lora / base - 1:+.1%})")


if __name__ == "__main__":
    main()
