"""Screening time per document with and without the planted-instruction cascade (issue 20: the
cascade's forward pass is paid only by sentences above the detector's floor; this measures what
that costs ingestion on ordinary documents).

    PYTHONPATH=. .venv/bin/python -m benchmarks.planted_cascade [--docs 120] [--rounds 2]

The documents are dev-corpus documents (PolicyQA, doc2dial, PubMedQA dev, the demo knowledge,
STARD articles; a deterministic sample of each), split into chunks the way ingestion does;
rounds alternate cascade on and off, so drift on a shared machine hits both. Reports seconds per
1,000 sentences, the share of sentences the cascade encoded and how many sentences were flagged
(on ordinary documents every flag is a false one).
"""

from __future__ import annotations

import argparse
import json
import os
import time


def _documents(per_set: int) -> list[str]:
    from portal.evaluation import datasets, safety_rows

    texts: list[str] = []
    for name in ("policyqa", "doc2dial", "pubmedqa"):
        try:
            corpus = datasets.load(name, "dev").corpus
        except (FileNotFoundError, ValueError):
            continue
        texts += safety_rows._sample([d.text for d in corpus], per_set)
    demo = safety_rows.DATA / "demo_questions" / "corpus.jsonl"
    texts += safety_rows._sample([d["text"] for d in safety_rows._jsonl(demo)], per_set)
    stard = datasets.DATASETS_DIR / "stard_lecoqa_zh" / "corpus-00.jsonl"
    if stard.exists():
        lines = stard.read_text(encoding="utf-8").splitlines()[:3000]
        texts += safety_rows._sample([json.loads(x)["content"] for x in lines], per_set)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=30, help="documents per corpus")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import override_settings

    from ingestion.chunking import chunk_document
    from ingestion.parsers import parse_bytes
    from ingestion.screening import MIN_CHARS
    from llm_backend.hidden import encoder_for
    from portal.knowledge.screening import planted_cascade, screen
    from textkit import sentence_spans

    chunks = []
    for i, text in enumerate(_documents(args.docs)):
        drafts = chunk_document(
            parse_bytes(text.encode("utf-8"), filename=f"doc{i}.txt"),
            max_chars=settings.INGEST_CHUNK_MAX_CHARS,
            overlap_chars=settings.INGEST_CHUNK_OVERLAP_CHARS,
        )  # fmt: skip
        chunks += [d.text for d in drafts]
    sentences = sum(1 for c in chunks for a, b in sentence_spans(c) if b - a >= MIN_CHARS)
    cascade = planted_cascade()
    if cascade is None:
        raise SystemExit("the planted cascade is off here (no head file or no model)")
    encoder = encoder_for(str(settings.INGEST_PLANTED_HIDDEN_MODEL),
                          settings.INGEST_PLANTED_HIDDEN_THREADS)  # fmt: skip
    encoded = []
    original = encoder.encode

    def counting(texts: list[str]):
        encoded.extend(texts)
        return original(texts)

    encoder.encode = counting  # counts the sentences that paid for a forward pass
    screen("warm-up sentence for the detector and the model.")
    print(f"{len(chunks)} chunks, {sentences} sentences", flush=True)
    for round_ in range(args.rounds):
        for on in (True, False):
            encoded.clear()
            with override_settings(INGEST_PLANTED_HIDDEN=on):
                started = time.perf_counter()
                flagged = sum(len(screen(c)) for c in chunks)
                seconds = time.perf_counter() - started
            print(
                f"round {round_} cascade {'on ' if on else 'off'}: {seconds:.1f} s, "
                f"{1000 * seconds / sentences:.1f} s per 1,000 sentences, encoded "
                f"{len(encoded)} ({len(encoded) / sentences:.1%}), flagged {flagged}",
                flush=True,
            )


if __name__ == "__main__":
    main()
