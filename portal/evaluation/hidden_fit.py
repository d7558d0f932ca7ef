"""Fit the harm cascade's second head over the LLM's hidden states (portal/safety/hidden.py).

Called by ``safety_fit`` with the harm rows, their hidden-state vectors and the first head's
out-of-fold scores, so both heads' dev figures come from the same folds' kind of estimate:

- the head: standardised logistic regression, C chosen by out-of-fold AUC;
- the floor, per language: the first head's score at or above which a question is encoded. It
  is the lowest score that keeps at least ``FLOOR_RECALL`` of the harmful dev rows (so the
  cascade can reach them) — everything below is passed as before, which is what keeps the guard
  fast for ordinary questions; the share of the answer sets' questions at or above it is
  reported as ``encoded_share`` (the share of questions that pay for a forward pass);
- the threshold, per language, on the mean of the two logits (as a probability), at the same
  false rate on the near-miss negatives as the first head's.

Every figure is reported beside the first head's alone, per source, out of fold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from portal.evaluation.safety_fit import Row, _auc, fold_of, threshold_for
from portal.evaluation.safety_fit import _in as in_sources

C_GRID = (0.03, 0.1, 0.3)
FOLDS = 5
FLOOR_RECALL = 0.98  # of harmful dev rows (per language) the cascade must be able to see
QUESTIONS = "questions"  # the answer sets' ordinary questions (the guard's everyday traffic)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    return (x - mean) / scale, mean, scale


def hidden_fit(
    rows: list[Row],
    x: np.ndarray,
    first_oof: np.ndarray,
    first_thresholds: dict[str, float],
    weights: np.ndarray,
    *,
    false_rate: float,
    choose_on: frozenset[str],
    model_sha256: str,
    progress: Callable[[str], None] = print,
) -> dict:
    """The head file's contents (see portal/safety/hidden.py ``HiddenHead``) with dev figures."""
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
        progress(f"harm (hidden states): C={c} out-of-fold AUC {auc:.4f}")
        if best is None or auc > best[0]:
            best = (auc, c, p)
    auc, c, hidden_oof = best
    # As portal.safety.hidden.combined: the mean logit, as a probability (threshold_for's range).
    score = 1 / (1 + np.exp(-(_logit(first_oof) + _logit(hidden_oof)) / 2))
    languages = np.array([r.language for r in rows])
    sources = np.array([r.source for r in rows])
    chooser = np.array([in_sources(r.source, choose_on) for r in rows])
    ordinary = np.array([r.source.split(":")[0] == QUESTIONS for r in rows])
    floors: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    dev: dict = {"C": c, "oof_auc": round(auc, 4), "floor_recall": FLOOR_RECALL,
                 "false_rate_target": false_rate, "chosen_on": sorted(choose_on)}  # fmt: skip
    fired_cascade = np.zeros(len(y), dtype=bool)
    fired_first = np.zeros(len(y), dtype=bool)
    for language in ("en", "zh"):
        mask = languages == language
        harmful = mask & (y == 1)
        negatives = mask & (y == 0) & chooser
        if not harmful.any() or not negatives.any():
            continue
        floor = float(np.quantile(first_oof[harmful], 1 - FLOOR_RECALL))
        floors[language] = round(floor, 6)
        above = first_oof >= floor
        # Below the floor nothing fires: those rows' score is -1 for the threshold's choice.
        cascade = np.where(above, score, -1.0)
        t = threshold_for(cascade[negatives], y[negatives], false_rate=false_rate)
        thresholds[language] = round(float(t), 6)
        fired_cascade[mask] = cascade[mask] >= t
        t_first = first_thresholds.get(language, first_thresholds.get("*", 0.5))
        fired_first[mask] = first_oof[mask] >= t_first
        dev[language] = {
            "recall": round(float(fired_cascade[harmful].mean()), 4),
            "recall_first_head": round(float(fired_first[harmful].mean()), 4),
            "false_rate_chosen_on": round(float(fired_cascade[negatives].mean()), 4),
            "false_rate_first_head": round(float(fired_first[negatives].mean()), 4),
            "encoded_share": round(float(above[mask & ordinary].mean()), 4)
            if (mask & ordinary).any()
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
        "version": f"hidden-lr-{digest[:10]}",
        "data_hash": digest,
        "model_sha256": model_sha256,
        "mean": np.round(mean, 6).tolist(),
        "scale": np.round(scale, 6).tolist(),
        "weights": np.round(model.coef_[0], 6).tolist(),
        "bias": round(float(model.intercept_[0]), 6),
        "floors": floors,
        "thresholds": thresholds,
        "dev": dev,
    }
