"""`manage.py safety_fit`: train the learned safety heads on dev data only, choose their
thresholds per language on out-of-fold dev scores, and write the classifier files.

Heads (logistic models over the multilingual sentence embedding, ingestion.classify):

- ``harm``: requests the service must refuse. Positives: the dev halves of the shared
  AdvBench/HarmBench/JailbreakBench prompts, the bank's ``harm.*`` rows, the contrast set's
  politely phrased harmful requests (both languages) and Flames' Safety/Legality/Data-protection
  prompts (half weight: Flames has no refuse label, see safety_bank.py). Negatives: every
  should-answer prompt (bank, CValues, Flames' other dimensions, the contrast set's harmless
  questions that use alarming words) and the dev questions of every answer set (doc2dial,
  PolicyQA, PubMedQA, STARD, the demo questions, the cross-lingual translations, the
  medication-risk set). Threshold per language: the lowest whose out-of-fold false-refusal rate
  on that language's harmless rows stays within ``--harm-false-rate``.
- ``medication`` (hold-or-caution vs none) and ``medication_hold`` (hold vs caution): the dev half
  of the medication-risk set written for issue 20, plus the answer sets' dev questions as
  negatives of ``medication``.
- ``planted``: sentences addressed to an AI (BIPIA's train attacks, the bank's injection rows and
  the dev half of the written planted sentences) vs ordinary document sentences (dev corpora of
  doc2dial, PolicyQA, PubMedQA, STARD, the demo knowledge, and the written hard
  negatives). Threshold: the lowest whose out-of-fold false-flag rate on document sentences stays
  within ``--planted-false-rate`` (a flagged sentence is cut from the evidence).

Every class is balanced within its language, and the two languages weigh the same, so the few
hundred Chinese rows are not drowned by the English ones. Test rows are never read.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from ingestion.classify import NGRAM_DIM, PLANTED_FILE, ngram_value, ngrams, to_dict
from ingestion.embedding import load_embedder
from ingestion.screening import PLANTED_HIDDEN_FILE
from portal.evaluation.safety_rows import (
    PLANTED_SETS,
    Row,
    training_rows,
)
from portal.qa.verify.scorer import fold_of
from portal.safety.learned import context_features

SAFETY_FILE = Path(settings.BASE_DIR) / "portal" / "safety" / "data" / "safety_classifier.json"
HIDDEN_FILE = Path(settings.BASE_DIR) / "portal" / "safety" / "data" / "safety_hidden.json"
EMBEDDER = "use-multilingual"
C_GRID = (3.0, 10.0, 30.0)  # inverse L2 strength; the best out-of-fold AUC wins
FOLDS = 5
HARD_WEIGHT = 3.0
# The harm head's network member (ingestion.classify.Mlp): hidden units and L2 strength, from
# dev grids (out of fold, blended, at a 3% false rate on the near misses). Session 15: 256 / 1e-2
# beat 64 / 1e-1 (en recall 0.944 vs 0.927, zh 0.818 vs 0.795). Session 18, with the v4 and
# tasks_v2 near misses added: 512 / 1e-2 en 0.881, zh 0.800 vs 256 / 1e-2 0.855 / 0.796 and
# 256 / 1e-3 0.857 / 0.794; HARD_WEIGHT 5 instead of 3: 0.877 / 0.796 (kept 3).
MLP_HIDDEN = 512
MLP_ALPHA = 1e-2
MLP_SEED = 0
NGRAM_MIN_WEIGHT = 1e-3  # smaller n-gram weights are dropped from the file
# The written near misses each head's thresholds are chosen on (see head_fit).
HARM_HARD = frozenset({"contrast", "bank", "cvalues", "flames", "medication_risk", "harm_context"})
MEDICATION_HARD = frozenset({"medication", "bank", "questions:pubmedqa"})
MEDICATION_CHOOSE_ON = frozenset({"medication", "bank"})
# The written planted-instruction sets (safety_rows.PLANTED_SETS) are its hard rows.
PLANTED_HARD = frozenset(PLANTED_SETS)
PLANTED_FLOOR_RECALL = 0.99  # of planted dev sentences the ingestion cascade must be able to see
# --- fitting ----------------------------------------------------------------------------------


class EmbeddingCache:
    """Embeddings of training texts kept on disk between fits (keyed by the text's hash)."""

    def __init__(
        self, path: Path, spec: str, encode: Callable[[list[str]], np.ndarray] | None = None
    ) -> None:
        # ``encode``: another encoder than the product's embedder ``spec`` (the LLM's hidden
        # states for the harm cascade), cached the same way in its own file.
        self.path, self.spec, self.encode = path, spec, encode
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self.vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()

    def embed(self, texts: list[str], progress: Callable[[str], None]) -> np.ndarray:
        missing = sorted({t for t in texts if self.key(t) not in self.vectors})
        if missing:
            encode = self.encode or load_embedder(self.spec).embed
            for start in range(0, len(missing), 256):
                batch = missing[start : start + 256]
                for text, vec in zip(batch, encode(batch), strict=True):
                    self.vectors[self.key(text)] = vec
                progress(f"embedded {min(start + 256, len(missing))}/{len(missing)} new texts")
                if start // 256 % 8 == 7:  # a slow encoder's work survives an interruption
                    self.save()
            self.save()
        return np.stack([self.vectors[self.key(t)] for t in texts]).astype(np.float64)


def _in(source: str, names: frozenset[str]) -> bool:
    """A row's source is named by itself ("questions:pubmedqa") or by its root ("contrast")."""
    return source in names or source.split(":")[0] in names


def balanced_weights(rows: list[Row], hard: frozenset[str] = frozenset()) -> np.ndarray:
    """Each (language, label) group sums to the same weight, times each row's own weight; rows
    of the ``hard`` sources (written contrast cases) count HARD_WEIGHT times, so the boundary is
    drawn where the near misses are, not among the easy negatives."""
    weight = np.array([r.weight * (HARD_WEIGHT if _in(r.source, hard) else 1.0) for r in rows])
    groups: dict[tuple[str, int], float] = {}
    for r, w in zip(rows, weight, strict=True):
        groups[(r.language, r.label)] = groups.get((r.language, r.label), 0.0) + w
    return np.array(
        [
            w * len(rows) / (len(groups) * groups[(r.language, r.label)])
            for r, w in zip(rows, weight, strict=True)
        ]
    )


def features(x: np.ndarray, texts: list[str]) -> sp.csr_matrix:
    """The design matrix the heads read: embedding | hashed n-grams (ingestion.classify)."""
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        found = ngrams(text)
        rows += [i] * len(found)
        cols += found
        vals += [ngram_value(found)] * len(found)
    grams = sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), NGRAM_DIM))
    return sp.hstack([sp.csr_matrix(x), grams]).tocsr()


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]))
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def threshold_for(p: np.ndarray, y: np.ndarray, *, false_rate: float) -> float:
    """The lowest threshold whose false-positive rate on the negatives is <= ``false_rate``."""
    negatives = np.sort(p[y == 0])[::-1]
    if not len(negatives):
        return 0.5
    allowed = int(np.floor(false_rate * len(negatives)))
    # Everything strictly above the (allowed+1)-th highest negative fires.
    edge = negatives[min(allowed, len(negatives) - 1)]
    return float(min(0.99, edge + 1e-6))


def _model(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000)


def oof(x: sp.csr_matrix, y: np.ndarray, w: np.ndarray, keys: list[str], c: float) -> np.ndarray:
    """Out-of-fold probabilities (5 folds by the text's hash): the honest dev estimate that
    thresholds are chosen on."""
    fold = np.array([fold_of(k, FOLDS) for k in keys])
    out = np.zeros(len(y))
    for k in range(FOLDS):
        train, held = fold != k, fold == k
        model = _model(c).fit(x[train], y[train], sample_weight=w[train])
        out[held] = model.predict_proba(x[held])[:, 1]
    return out


def _mlp() -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=(MLP_HIDDEN,), alpha=MLP_ALPHA, max_iter=300, random_state=MLP_SEED
    )


def _blend(p_linear: np.ndarray, p_mlp: np.ndarray) -> np.ndarray:
    """The head's probability: the two members' logits averaged (ingestion.classify.Head)."""
    clipped = [np.clip(p, 1e-6, 1 - 1e-6) for p in (p_linear, p_mlp)]
    return expit((logit(clipped[0]) + logit(clipped[1])) / 2.0)


def mlp_oof(x: np.ndarray, y: np.ndarray, w: np.ndarray, keys: list[str]) -> np.ndarray:
    """Out-of-fold probabilities of the network member (same folds as ``oof``)."""
    fold = np.array([fold_of(k, FOLDS) for k in keys])
    out = np.zeros(len(y))
    for k in range(FOLDS):
        train, held = fold != k, fold == k
        model = _mlp().fit(x[train], y[train], sample_weight=w[train])
        out[held] = model.predict_proba(x[held])[:, 1]
    return out


def head_fit(
    name: str,
    rows: list[Row],
    x: np.ndarray,
    *,
    false_rate: float,
    hard: frozenset[str] = frozenset(),
    choose_on: frozenset[str] = frozenset(),
    extra_rates: dict[str, float] | None = None,
    mlp: bool = False,
    progress: Callable[[str], None],
) -> dict:
    """Fit one head; thresholds per language are chosen on the out-of-fold scores of the
    negatives from the ``choose_on`` sources (all negatives when none are named); ``hard``
    sources weigh more in the fit. ``extra_rates`` records further named thresholds at other
    false rates (the harm head's context floor). ``mlp``: the head also gets a network member
    over the embedding, and every figure is of the blend."""
    y = np.array([r.label for r in rows], dtype=int)
    w = balanced_weights(rows, hard)
    keys = [r.text for r in rows]
    design = features(x, keys)
    best = None
    for c in C_GRID:
        p = oof(design, y, w, keys, c)
        auc = _auc(y, p)
        progress(f"{name}: C={c} out-of-fold AUC {auc:.4f}")
        if best is None or auc > best[0]:
            best = (auc, c, p)
    auc, c, p = best
    if mlp:
        p_linear_auc = auc
        p = _blend(p, mlp_oof(x, y, w, keys))
        auc = _auc(y, p)
        progress(f"{name}: + network member, out-of-fold AUC {p_linear_auc:.4f} -> {auc:.4f}")
    languages = np.array([r.language for r in rows])
    sources = np.array([r.source for r in rows])
    chooser = np.array([_in(r.source, choose_on) if choose_on else True for r in rows])
    dev = {
        "C": c,
        "oof_auc": round(auc, 4),
        "false_rate_target": false_rate,
        "chosen_on": sorted(choose_on) or "all negatives",
    }
    thresholds: dict[str, float] = {}
    extra: dict[str, dict[str, float]] = {k: {} for k in extra_rates or {}}
    for language in ("en", "zh"):
        mask = languages == language
        negatives = mask & (y == 0) & chooser
        if not negatives.any() or not (mask & (y == 1)).any():
            continue
        t = threshold_for(p[negatives], y[negatives], false_rate=false_rate)
        thresholds[language] = round(t, 6)
        for key, rate in (extra_rates or {}).items():
            extra[key][language] = round(
                threshold_for(p[negatives], y[negatives], false_rate=rate), 6
            )
        fired = p >= t
        dev[language] = {
            "n_positive": int((mask & (y == 1)).sum()),
            "n_negative": int((mask & (y == 0)).sum()),
            "recall": round(float(fired[mask & (y == 1)].mean()), 4),
            "false_rate_chosen_on": round(float(fired[negatives].mean()), 4),
            "false_rate_all": round(float(fired[mask & (y == 0)].mean()), 4),
            "auc": round(_auc(y[mask], p[mask]), 4),
        }
    thresholds["*"] = max(thresholds.values()) if thresholds else 0.5
    for key, values in extra.items():
        values["*"] = max(values.values()) if values else 1.0
        dev[key] = values
    by_source = {}
    for source in sorted(set(sources.tolist())):
        for label in (1, 0):
            mask = (sources == source) & (y == label)
            if not mask.any():
                continue
            t = np.array([thresholds.get(lang, thresholds["*"]) for lang in languages[mask]])
            by_source[f"{source}:{'positive' if label else 'negative'}"] = {
                "n": int(mask.sum()),
                "fired": round(float((p[mask] >= t).mean()), 4),
            }
    dev["by_source"] = by_source
    dev["_oof"] = p  # popped by the caller: the combiners downstream are fitted on it
    model = _model(c).fit(design, y, sample_weight=w)
    coef = model.coef_[0]
    dim = x.shape[1]
    network = None
    if mlp:
        net = _mlp().fit(x, y, sample_weight=w)
        network = {
            "w1": np.round(net.coefs_[0], 5).tolist(),
            "b1": np.round(net.intercepts_[0], 5).tolist(),
            "w2": np.round(net.coefs_[1][:, 0], 5).tolist(),
            "b2": round(float(net.intercepts_[1][0]), 5),
        }
        dev["mlp"] = {"hidden": MLP_HIDDEN, "alpha": MLP_ALPHA, "seed": MLP_SEED}
    return {
        "weights": [round(float(v), 6) for v in coef[:dim]],
        "bias": round(float(model.intercept_[0]), 6),
        "ngrams": {
            str(i): round(float(v), 5)
            for i, v in enumerate(coef[dim:])
            if abs(v) >= NGRAM_MIN_WEIGHT
        },
        "thresholds": thresholds,
        "dev": dev,
    } | ({"mlp": network} if network else {})


def context_fit(
    pairs: list[dict],
    harm_probability: Callable[[list[str]], np.ndarray],
    hazard_oof: dict[str, float],
    *,
    false_rate: float,
    progress: Callable[[str], None],
) -> dict:
    """The harm-in-context combiner: a logistic model over (question harm, passage hazard,
    their product) in logits (portal/safety/learned.context_features), fitted on the dev pairs
    with the hazard head's out-of-fold scores; thresholds per language at ``false_rate`` on the
    near misses: harmless questions over hazardous passages (a parent asking what to do after an
    overdose reads the same passage a poisoner would)."""
    questions = [r["question"] for r in pairs]
    harm = harm_probability(questions)
    x = np.array(
        [context_features(h, hazard_oof[r["passage"]]) for h, r in zip(harm, pairs, strict=True)]
    )
    y = np.array([int(r["expect"] == "refuse") for r in pairs])
    keys = [r["question"] + "\n" + r["passage"] for r in pairs]
    fold = np.array([fold_of(k, FOLDS) for k in keys])
    p = np.zeros(len(y))
    for k in range(FOLDS):
        train, held = fold != k, fold == k
        p[held] = _model(1.0).fit(x[train], y[train]).predict_proba(x[held])[:, 1]
    languages = np.array([r["language"] for r in pairs])
    patterns = np.array([r["pattern"] for r in pairs])
    thresholds, dev = {}, {"false_rate_target": false_rate, "oof_auc": round(_auc(y, p), 4)}
    near = patterns == "benign_q+hazard_p"
    for language in ("en", "zh"):
        mask = languages == language
        chooser = mask & (near | (y == 1))
        t = threshold_for(p[chooser], y[chooser], false_rate=false_rate)
        thresholds[language] = round(t, 6)
        dev[language] = {
            "recall": round(float((p[mask & (y == 1)] >= t).mean()), 4),
            "false_rate": round(float((p[mask & (y == 0)] >= t).mean()), 4),
            "by_pattern": {
                pattern: round(float((p[mask & (patterns == pattern)] >= t).mean()), 4)
                for pattern in sorted(set(patterns.tolist()))
            },
        }
    thresholds["*"] = max(thresholds.values())
    progress(f"context: out-of-fold AUC {dev['oof_auc']}")
    model = _model(1.0).fit(x, y)
    return {
        "inputs": "context_features",
        "weights": [round(float(v), 6) for v in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "thresholds": thresholds,
        "dev": dev,
    }


def _data_hash(parts: list[list[Row]]) -> str:
    digest = hashlib.sha256()
    for rows in parts:
        for r in rows:
            digest.update(f"{r.label}\t{r.language}\t{r.weight}\t{r.text}\n".encode())
    return digest.hexdigest()[:16]


def _guard_fit(
    rows: dict[str, list[Row]], pairs: list[dict], x_of: Callable[[list[Row]], np.ndarray], *,
    harm_false_rate: float, context_false_rate: float, context_pair_false_rate: float,
    medication_false_rate: float, cascade: bool, out_hidden: Path,
    progress: Callable[[str], None],
) -> tuple[dict, dict | None]:  # fmt: skip
    """The guard's heads (the classifier file's contents) and, when ``cascade``, the harm
    cascade's head file (written to ``out_hidden``)."""
    from portal.evaluation.hidden_fit import cascade_fit, cascade_specs

    harm, risk, hold = rows["harm"], rows["medication"], rows["medication_hold"]
    hazard = rows["hazard"]
    heads = {
        "harm": head_fit(
            "harm", harm, x_of(harm), false_rate=harm_false_rate, hard=HARM_HARD,
            choose_on=HARM_HARD, extra_rates={"context_floor": context_false_rate}, mlp=True,
            progress=progress,
        ),
        "medication": head_fit(
            "medication", risk, x_of(risk), false_rate=medication_false_rate,
            hard=MEDICATION_HARD, choose_on=MEDICATION_CHOOSE_ON, progress=progress,
        ),
        # Hold vs caution: a caution-labelled question that is held is safe, only slower, so
        # this head is allowed a looser false rate.
        "medication_hold": head_fit(
            "medication_hold", hold, x_of(hold), false_rate=0.25, progress=progress
        ),
        # Passages that would help a harmful request (the harm-in-context check's second input).
        "hazard": head_fit("hazard", hazard, x_of(hazard), false_rate=0.05, progress=progress),
        # Self-harm as the topic: a learned refusal of such a request leads with crisis lines.
        "self_harm": head_fit(
            "self_harm", rows["self_harm"], x_of(rows["self_harm"]), false_rate=0.02,
            progress=progress,
        ),
    }  # fmt: skip
    fitted = (
        cascade_fit(cascade_specs()["harm"], harm, heads["harm"], false_rate=harm_false_rate,
                    out=out_hidden, progress=progress)
        if cascade
        else None
    )  # fmt: skip
    hazard_oof = dict(zip([r.text for r in hazard], heads["hazard"]["dev"]["_oof"], strict=True))
    # The context questions are in the harm head's training rows: the combiner reads their
    # out-of-fold harm scores, as it will read unseen questions' scores in production.
    harm_oof = dict(zip([r.text for r in harm], heads["harm"]["dev"]["_oof"], strict=True))
    for head in heads.values():
        head["dev"].pop("_oof")

    def harm_probability(texts: list[str]) -> np.ndarray:
        return np.array([harm_oof[t] for t in texts])

    heads["context"] = context_fit(
        pairs, harm_probability, hazard_oof, false_rate=context_pair_false_rate, progress=progress
    )
    safety_hash = _data_hash([harm, risk, hold, hazard, rows["self_harm"]])
    safety = to_dict(
        version=f"safety-lrmlp-{safety_hash[:10]}",
        embedder=EMBEDDER,
        data_hash=safety_hash,
        heads=heads,
    )
    return safety, fitted


def _planted_fit(
    planted: list[Row], x_of: Callable[[list[Row]], np.ndarray], *, false_rate: float,
    cascade: bool, out_hidden: Path, progress: Callable[[str], None],
) -> tuple[dict, dict | None]:  # fmt: skip
    """The planted-instruction detector (its file's contents) and, when ``cascade``, its
    cascade's head file (written to ``out_hidden``)."""
    from portal.evaluation.hidden_fit import cascade_fit, cascade_specs

    head = head_fit(
        "planted", planted, x_of(planted), false_rate=false_rate, hard=PLANTED_HARD,
        progress=progress,
    )  # fmt: skip
    fitted = (
        cascade_fit(cascade_specs()["planted"], planted, head, false_rate=false_rate,
                    out=out_hidden, progress=progress)
        if cascade
        else None
    )  # fmt: skip
    head["dev"].pop("_oof")
    planted_hash = _data_hash([planted])
    data = to_dict(
        version=f"planted-lr-{planted_hash[:10]}",
        embedder=EMBEDDER,
        data_hash=planted_hash,
        heads={"planted": head},
    )
    return data, fitted


def safety_fit(
    *,
    harm_false_rate: float = 0.03,
    context_false_rate: float = 0.15,
    context_pair_false_rate: float = 0.05,
    medication_false_rate: float = 0.10,
    planted_false_rate: float = 0.005,
    out_safety: Path = SAFETY_FILE,
    out_planted: Path = PLANTED_FILE,
    out_hidden: Path = HIDDEN_FILE,
    out_planted_hidden: Path = PLANTED_HIDDEN_FILE,
    cascades: frozenset[str] = frozenset({"harm", "planted"}),
    parts: frozenset[str] = frozenset({"guard", "planted"}),
    cache: Path | None = None,
    progress: Callable[[str], None] = print,
) -> dict:
    """Fit the learned heads of ``parts`` ("guard": the input guard's classifier file,
    "planted": ingestion's detector file) and write their files, and the head file of each
    cascade named in ``cascades`` ("harm", "planted") whose part is fitted and whose model is
    there; returns the dev figures."""
    started = time.perf_counter()
    cache = EmbeddingCache(cache or Path(settings.DATA_DIR) / "cache" / "safety_fit.npz", EMBEDDER)
    rows, pairs = training_rows()
    progress("rows: " + ", ".join(f"{name} {len(part)}" for name, part in rows.items()))

    def x_of(rows: list[Row]) -> np.ndarray:
        return cache.embed([r.text for r in rows], progress)

    files: list[tuple[Path, dict]] = []
    heads: dict[str, dict] = {}
    fitted: dict[str, dict | None] = {}
    if "guard" in parts:
        safety, fitted["harm_cascade"] = _guard_fit(
            rows, pairs, x_of, harm_false_rate=harm_false_rate,
            context_false_rate=context_false_rate,
            context_pair_false_rate=context_pair_false_rate,
            medication_false_rate=medication_false_rate, cascade="harm" in cascades,
            out_hidden=out_hidden, progress=progress,
        )  # fmt: skip
        files.append((out_safety, safety))
        heads |= safety["heads"]
    if "planted" in parts:
        planted_file, fitted["planted_cascade"] = _planted_fit(
            rows["planted"], x_of, false_rate=planted_false_rate,
            cascade="planted" in cascades, out_hidden=out_planted_hidden, progress=progress,
        )  # fmt: skip
        files.append((out_planted, planted_file))
        heads |= planted_file["heads"]
    for path, data in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = {
        name: {k: v for k, v in head["dev"].items() if k != "by_source"}
        | {"thresholds": head["thresholds"]}
        for name, head in heads.items()
    }
    for name, data in fitted.items():
        if data is not None:
            summary[name] = {k: v for k, v in data["dev"].items() if k != "by_source"} | {
                k: data[k] for k in ("floors", "thresholds", "version")
            }
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["by_source"] = {name: head["dev"].get("by_source", {}) for name, head in heads.items()}
    for name, data in fitted.items():
        if data is not None:
            summary["by_source"][name] = data["dev"]["by_source"]
    return summary
