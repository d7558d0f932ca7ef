"""Fit a cascade's second head over the LLM's hidden states (ingestion/cascade.py).

Two cascades: the guard's harm head (portal/safety/hidden.py) and ingestion's planted-instruction
detector (ingestion/screening.py). ``safety_fit`` calls this with a head's rows, their
hidden-state vectors and the first head's out-of-fold scores, so both heads' dev figures come
from the same folds' kind of estimate:

- the head: standardised logistic regression, C chosen by out-of-fold AUC;
- the floor, per language: the first head's score at or above which a text is encoded. It is
  the lowest score that keeps at least ``floor_recall`` of the positive dev rows (so the cascade
  can reach them), and never above the first head's own threshold — everything below is passed
  as before, which is what keeps the cost of ordinary text; the share of the ``ordinary``
  source's rows (the guard's everyday questions, or document sentences) at or above it is
  reported as ``encoded_share`` (the share that pays for a forward pass);
- the threshold, per language, on the mean of the two logits (as a probability), at the given
  false rate on the ``choose_on`` negatives (all negatives when None).

Every figure is reported beside the first head's alone, per source, out of fold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from llm_backend.hidden import encoder_for, model_sha256
from portal.evaluation.safety_fit import (
    HARM_HARD,
    PLANTED_FLOOR_RECALL,
    PLANTED_HARD,
    EmbeddingCache,
    _auc,
    balanced_weights,
    fold_of,
    threshold_for,
)
from portal.evaluation.safety_fit import _in as in_sources
from portal.evaluation.safety_rows import Row

C_GRID = (0.03, 0.1, 0.3)
FOLDS = 5
FLOOR_RECALL = 0.98  # of harmful dev rows (per language) the harm cascade must be able to see
QUESTIONS = "questions"  # the answer sets' ordinary questions (the guard's everyday traffic)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    return (x - mean) / scale, mean, scale


def head_fields(model, mean: np.ndarray, scale: np.ndarray) -> dict:
    """A fitted logistic regression over standardised features, as ``HiddenHead`` reads it."""
    return {
        "mean": np.round(mean, 6).tolist(),
        "scale": np.round(scale, 6).tolist(),
        "weights": np.round(model.coef_[0], 6).tolist(),
        "bias": round(float(model.intercept_[0]), 6),
    }


def hidden_fit(
    rows: list[Row],
    x: np.ndarray,
    first_oof: np.ndarray,
    first_thresholds: dict[str, float],
    weights: np.ndarray,
    *,
    false_rate: float,
    choose_on: frozenset[str] | None,
    model_sha256: str,
    floor_recall: float = FLOOR_RECALL,
    ordinary: str = QUESTIONS,
    version_prefix: str = "hidden-lr",
    progress: Callable[[str], None] = print,
) -> dict:
    """The head file's contents (ingestion/cascade.py ``HiddenHead``) with dev figures.
    ``ordinary``: the source root whose rows' ``encoded_share`` is reported."""
    from sklearn.linear_model import LogisticRegression

    y = np.array([r.label for r in rows], dtype=int)
    keys = [r.text for r in rows]
    z, mean, scale = _standardise(x)
    fold = np.array([fold_of(k, FOLDS) for k in keys])
    best = None
    for c in C_GRID:
        p = np.zeros(len(y))
        for k in range(FOLDS):
            train, held = fold != k, fold == k
            model = LogisticRegression(C=c, max_iter=3000)
            model.fit(z[train], y[train], sample_weight=weights[train])
            p[held] = model.predict_proba(z[held])[:, 1]
        auc = _auc(y, p)
        progress(f"{version_prefix}: C={c} out-of-fold AUC {auc:.4f}")
        if best is None or auc > best[0]:
            best = (auc, c, p)
    auc, c, hidden_oof = best
    # As portal.safety.hidden.combined: the mean logit, as a probability (threshold_for's range).
    score = 1 / (1 + np.exp(-(_logit(first_oof) + _logit(hidden_oof)) / 2))
    languages = np.array([r.language for r in rows])
    sources = np.array([r.source for r in rows])
    chooser = np.array([choose_on is None or in_sources(r.source, choose_on) for r in rows])
    everyday = np.array([r.source.split(":")[0] == ordinary for r in rows])
    floors: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    dev: dict = {"C": c, "oof_auc": round(auc, 4), "floor_recall": floor_recall,
                 "false_rate_target": false_rate,
                 "chosen_on": sorted(choose_on) if choose_on is not None else "all"}  # fmt: skip
    fired_cascade = np.zeros(len(y), dtype=bool)
    fired_first = np.zeros(len(y), dtype=bool)
    for language in ("en", "zh"):
        mask = languages == language
        harmful = mask & (y == 1)
        negatives = mask & (y == 0) & chooser
        if not harmful.any() or not negatives.any():
            continue
        t_first = first_thresholds.get(language, first_thresholds.get("*", 0.5))
        floor = min(float(np.quantile(first_oof[harmful], 1 - floor_recall)), t_first)
        floors[language] = round(floor, 6)
        above = first_oof >= floor
        # Below the floor nothing fires: those rows' score is -1 for the threshold's choice.
        cascade = np.where(above, score, -1.0)
        t = threshold_for(cascade[negatives], y[negatives], false_rate=false_rate)
        thresholds[language] = round(float(t), 6)
        fired_cascade[mask] = cascade[mask] >= t
        fired_first[mask] = first_oof[mask] >= t_first
        dev[language] = {
            "recall": round(float(fired_cascade[harmful].mean()), 4),
            "recall_first_head": round(float(fired_first[harmful].mean()), 4),
            "false_rate_chosen_on": round(float(fired_cascade[negatives].mean()), 4),
            "false_rate_first_head": round(float(fired_first[negatives].mean()), 4),
            "encoded_share": round(float(above[mask & everyday].mean()), 4)
            if (mask & everyday).any()
            else None,
            "hidden_auc": round(_auc(y[mask], hidden_oof[mask]), 4),
            "cascade_auc": round(_auc(y[mask], np.where(above, score, -1.0)[mask]), 4),
        }
    floors["*"] = min(floors.values()) if floors else 0.0
    thresholds["*"] = max(thresholds.values()) if thresholds else 1.0
    by_source = {}
    for source in sorted(set(sources.tolist())):
        for label in (1, 0):
            mask = (sources == source) & (y == label)
            if mask.any():
                by_source[f"{source}:{'positive' if label else 'negative'}"] = {
                    "n": int(mask.sum()),
                    "first_head": round(float(fired_first[mask].mean()), 4),
                    "cascade": round(float(fired_cascade[mask].mean()), 4),
                }
    dev["by_source"] = by_source
    model = LogisticRegression(C=c, max_iter=3000).fit(z, y, sample_weight=weights)
    digest = hashlib.sha256(
        "\n".join(sorted(f"{r.label}\t{r.language}\t{r.text}" for r in rows)).encode("utf-8")
    ).hexdigest()
    return {
        "version": f"{version_prefix}-{digest[:10]}",
        "data_hash": digest,
        "model_sha256": model_sha256,
        **head_fields(model, mean, scale),
        "floors": floors,
        "thresholds": thresholds,
        "dev": dev,
    }


@dataclass(frozen=True)
class CascadeSpec:
    """What differs between the two cascades' fits (portal/evaluation/hidden_fit.py)."""

    name: str
    model: Path  # the GGUF whose hidden states are read
    threads: int
    hard: frozenset[str]  # sources weighted up in the fit
    choose_on: frozenset[str] | None  # negatives the threshold is chosen on (None: all)
    floor_recall: float
    ordinary: str  # the source root whose encoded share is the cascade's everyday cost
    version_prefix: str


def cascade_specs() -> dict[str, CascadeSpec]:
    return {
        "harm": CascadeSpec(
            "harm", Path(settings.SAFETY_HIDDEN_MODEL), settings.SAFETY_HIDDEN_THREADS,
            HARM_HARD, HARM_HARD, 0.98, "questions", "hidden-lr",
        ),
        # A planted sentence the floor skips is published unflagged, so the floor keeps more of
        # them reachable (0.99); what it costs is the share of document sentences encoded at
        # ingestion (reported as encoded_share; docs/decisions.md).
        "planted": CascadeSpec(
            "planted", Path(settings.INGEST_PLANTED_HIDDEN_MODEL),
            settings.INGEST_PLANTED_HIDDEN_THREADS, PLANTED_HARD, None, PLANTED_FLOOR_RECALL,
            "document", "planted-hidden-lr",
        ),
    }  # fmt: skip


def cascade_fit(
    spec: CascadeSpec, rows: list[Row], head: dict, *, false_rate: float, out: Path,
    progress: Callable[[str], None],
) -> dict | None:  # fmt: skip
    """A cascade's second head (portal/evaluation/hidden_fit.py) over ``spec.model``'s hidden
    states, written to ``out``; None when the model is not there."""
    if not spec.model.is_file():
        progress(f"{spec.name} cascade: no model at {spec.model}, not fitted")
        return None
    sha = model_sha256(str(spec.model))
    # One cache file per model: both cascades' texts are encoded the same way.
    cache = EmbeddingCache(
        Path(settings.DATA_DIR) / "cache" / f"safety_hidden-{sha[:12]}.npz",
        f"hidden:{sha}",
        encoder_for(str(spec.model), spec.threads).encode,
    )
    x = cache.embed([r.text for r in rows], progress)
    data = hidden_fit(
        rows, x, head["dev"]["_oof"], head["thresholds"], balanced_weights(rows, spec.hard),
        false_rate=false_rate, choose_on=spec.choose_on, model_sha256=sha,
        floor_recall=spec.floor_recall, ordinary=spec.ordinary,
        version_prefix=spec.version_prefix, progress=progress,
    )  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    return data
