"""`manage.py name_fit`: fit the redactor's name tagger (portal/safety/names.py) on dev data.

Rows are tokens. Positive: a token of a labelled person's name in the redaction sets' dev halves
(pii_redaction, pii_redaction_v2, pii_redaction_v3) and in the written training set
(``train_v1.jsonl``, split "train", SOURCE.md). Negative: every other token of those questions
(look-alike places, organisations, drugs and eponyms among them), and every token of unlabelled
questions from the answer and safety sets' dev halves, which name no one (the STARD questions
that say 某 are left out: 张某 is a name the law reports anonymised). Tokens of other personal
data (IDs, phones, addresses) carry no weight: the rules find those.

A *gate* decides which questions pay for the forward pass (the guard's budget is a few ms per
question; the pass costs ~0.3 s): a head over the question's sentence embedding and n-grams
(the guard's own embedder, so the guard's embedding of the question is reused), fitted on
"names someone" vs not. Its per-language *floor* keeps ``gate_recall`` of the dev questions
that name someone; questions below it are left to the rules. The share of unlabelled (everyday)
questions above it is reported: that share pays.

Chosen out of fold (5 folds by question): C by token AUC, then per language the threshold and
the *veto* together (``pii.tagger_veto``: a rule's NAME span none of whose tokens scores the
veto is dropped, where the tagger read the question), by what the redactor as a whole does —
rules plus tagger, scored by ``evaluate pii``'s own span metrics on the labelled dev questions
— as the highest F-beta (recall weighted ``beta`` times) among the pairs whose precision stays
at or above ``min_precision`` (or, where the rules alone are already below it, no more than
``max_precision_drop`` below the rules' own) and whose firing on the unlabelled questions stays
at or below ``max_unlabelled`` (a flagged span there took a word a question needed). The veto's
rule sources are chosen the same way among ``VETO_SOURCE_SETS``. The test halves of the three
redaction sets are not read here.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from portal.evaluation.hidden_fit import _standardise, head_fields
from portal.evaluation.redaction import DATA, rows_load, rows_score
from portal.evaluation.safety_fit import EmbeddingCache, _auc, fold_of, head_fit
from portal.evaluation.safety_rows import Row
from portal.safety.names import name_runs, reads_question, span_peak, token_features
from portal.safety.pii import (
    PiiFinding,
    _resolve,
    pii_find,
    tagger_findings,
    tagger_veto,
    vetoable,
    with_tagger,
)

PII_DIR = DATA.parent
LABELLED = (
    (DATA, "dev"),
    (PII_DIR / "questions_v2.jsonl", "dev"),
    # v3 was measured before any fit was tuned on it (docs/evaluation.md), then joined as dev.
    (PII_DIR / "questions_v3.jsonl", "dev"),
    (PII_DIR / "train_v1.jsonl", "all"),
)
EVAL_DIR = Path(__file__).resolve().parent / "data"
UNLABELLED_FILES = (
    "medication_risk.jsonl",
    "medication_risk_v2.jsonl",
    "medication_risk_v3.jsonl",
    "safety_contrast.jsonl",
    "safety_contrast_v2.jsonl",
    "cvalues_answer.jsonl",
    "safety_imperative.jsonl",
)
UNLABELLED_DATASETS = (
    "cn_law", "pubmedqa", "doc2dial", "policyqa", "stard",
    "doc2dial_zh", "policyqa_zh", "pubmedqa_zh", "stard_en",
)  # fmt: skip
C_GRID = (0.01, 0.1)
FOLDS = 5
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.97, 0.05))
GATE_RECALL = 0.99  # of the dev questions that name someone, per language, above the gate
# The tagger's veto over the rules' names (pii.tagger_veto): 0 is off. Tried over each set of
# rule sources; the set whose chosen thresholds do best on dev ships (``_sources_score``).
VETO_GRID = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
VETO_SOURCE_SETS = (
    frozenset({"presidio"}),
    frozenset({"presidio", "cue_en"}),
    frozenset({"presidio", "cue_en", "cue_zh", "jieba"}),
)
# Pairs (and source sets) are ranked by F-beta over the redactor's span recall and precision,
# recall weighted beta times: a name left in a stored question is worse than a word lost.
RECALL_BETA = 2.0


@dataclass
class Question:
    text: str
    language: str
    source: str
    names: list[tuple[int, int]] = field(default_factory=list)
    ignore: list[tuple[int, int]] = field(default_factory=list)
    row: dict | None = None  # the labelled row, for evaluate pii's scoring


def labelled_questions() -> list[Question]:
    out = []
    for path, split in LABELLED:
        if not path.exists():
            continue
        for row in rows_load(split, path=path):
            spans = row["spans"]
            out.append(
                Question(
                    row["text"], row["language"], f"{path.stem}:{split}",
                    names=[(s["start"], s["end"]) for s in spans if s["type"] == "NAME"],
                    ignore=[(s["start"], s["end"]) for s in spans
                            if s["personal"] and s["type"] != "NAME"],
                    row=row,
                )
            )  # fmt: skip
    return out


def unlabelled_questions(per_set: int) -> list[Question]:
    """Dev questions that name no one, ``per_set`` from each source (the first in file order)."""
    from portal.evaluation.datasets import load
    from portal.safety.normalize import language_detect

    out: list[Question] = []
    for name in UNLABELLED_FILES:
        rows = [json.loads(x) for x in (EVAL_DIR / name).read_text("utf-8").splitlines() if x]
        texts = [r["prompt"] for r in rows if r.get("split") == "dev"][:per_set]
        out += [Question(t, language_detect(t), name) for t in texts]
    for name in UNLABELLED_DATASETS:
        texts = [q.question for q in load(name, "dev").questions if "某" not in q.question]
        out += [Question(t, language_detect(t), name) for t in texts[:per_set]]
    return out


class TokenCache:
    """Per-token states of training questions kept on disk between fits (float16)."""

    def __init__(self, path: Path, encode: Callable[[str], tuple[list, np.ndarray]]) -> None:
        self.path, self.encode = path, encode
        self.items: dict[str, tuple[list, np.ndarray]] = {}
        if path.exists():
            self.items = pickle.loads(path.read_bytes())  # noqa: S301 - our own cache file

    def get(self, text: str) -> tuple[list, np.ndarray]:
        key = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()
        if key not in self.items:
            spans, matrix = self.encode(text)
            self.items[key] = (spans, matrix.astype(np.float16))
        return self.items[key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(pickle.dumps(self.items, protocol=pickle.HIGHEST_PROTOCOL))


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


def token_rows(questions: list[Question], cache: TokenCache, progress: Callable[[str], None]):
    """Features, labels, weights and question index of every token."""
    xs, ys, ws, qs = [], [], [], []
    for i, q in enumerate(questions):
        spans, matrix = cache.get(q.text)
        if (i + 1) % 100 == 0:
            progress(f"encoded {i + 1}/{len(questions)} questions")
            cache.save()
        if not spans:
            continue
        xs.append(token_features(matrix.astype(np.float32)))
        ys += [int(_overlaps(s, q.names)) for s in spans]
        ws += [0.0 if _overlaps(s, q.ignore) and not _overlaps(s, q.names) else 1.0 for s in spans]
        qs += [i] * len(spans)
    cache.save()
    return np.vstack(xs), np.array(ys), np.array(ws), np.array(qs)


def _tagger_findings(
    q: Question, spans: list, probs: np.ndarray, threshold: float
) -> list[PiiFinding]:
    """As the redactor turns the tagger's runs into findings (``pii.tagger_findings``)."""
    return tagger_findings(q.text, name_runs(q.text, spans, probs, threshold))


def name_fit(
    *,
    model_path: Path,
    model_sha256: str,
    encode: Callable[[str], tuple[list, np.ndarray]],
    cache_path: Path,
    per_set: int = 200,
    min_precision: float = 0.95,
    max_unlabelled: float = 0.01,
    max_precision_drop: float = 0.02,
    labelled: list[Question] | None = None,
    unlabelled: list[Question] | None = None,
    embedder: str = "",
    embed: Callable[[list[str]], np.ndarray] | None = None,
    gate_recall: float = GATE_RECALL,
    veto_source_sets: tuple[frozenset[str], ...] = VETO_SOURCE_SETS,
    veto_reads: bool = True,
    beta: float = RECALL_BETA,
    progress: Callable[[str], None] = print,
) -> dict:
    """The head file's contents (ingestion/cascade.py ``HiddenHead``, floors unused) with dev
    figures per threshold and language."""
    from sklearn.linear_model import LogisticRegression

    labelled = labelled_questions() if labelled is None else labelled
    unlabelled = unlabelled_questions(per_set) if unlabelled is None else unlabelled
    questions = labelled + unlabelled
    progress(f"{len(labelled)} labelled, {len(unlabelled)} unlabelled questions")
    cache = TokenCache(cache_path, encode)
    x, y, w, qi = token_rows(questions, cache, progress)
    z, mean, scale = _standardise(x)
    z = z.astype(np.float32)  # ~66k tokens x 1,792 features: half the memory and fit time
    progress(f"{len(y)} tokens, {int(y.sum())} in names")
    fold = np.array([fold_of(q.text, FOLDS) for q in questions])[qi]
    weights = w * np.where(y == 1, (y == 0).sum() / max(y.sum(), 1) / 4, 1.0)
    best = None
    for c in C_GRID:
        p = np.zeros(len(y))
        for k in range(FOLDS):
            train, held = (fold != k) & (w > 0), fold == k
            model = LogisticRegression(C=c, max_iter=2000)
            model.fit(z[train], y[train], sample_weight=weights[train])
            p[held] = model.predict_proba(z[held])[:, 1]
        auc = _auc(y[w > 0], p[w > 0])
        progress(f"C={c}: out-of-fold token AUC {auc:.4f}")
        if best is None or auc > best[0]:
            best = (auc, c, p)
    auc, c, oof = best
    # Per question: its tokens' spans and out-of-fold probabilities; the rules' findings once.
    per_q: dict[int, tuple[list, np.ndarray]] = {}
    for i, q in enumerate(questions):
        spans, _ = cache.get(q.text)
        per_q[i] = (spans, oof[qi == i])
    # Every question's, the unlabelled too: the veto may take back a rule's name there.
    rules = {i: pii_find(q.text, use_tagger=False) for i, q in enumerate(questions)}
    gate, gate_oof = _gate_fit(
        questions, embedder=embedder, embed=embed, cache_dir=cache_path.parent,
        recall=gate_recall, progress=progress,
    )  # fmt: skip
    floors = gate["heads"]["names"]["thresholds"]

    def passes(i: int) -> bool:
        q = questions[i]
        return gate_oof[i] >= floors.get(q.language, floors["*"])

    dev: dict = {"C": c, "oof_token_auc": round(auc, 4), "n_tokens": len(y),
                 "n_name_tokens": int(y.sum()), "min_precision": min_precision,
                 "max_unlabelled": max_unlabelled, "max_precision_drop": max_precision_drop,
                 "by_threshold": {}}  # fmt: skip
    rules_only = {}
    for language in ("zh", "en"):
        rows = [q.row for q in labelled if q.language == language]
        found = {q.text: rules[i] for i, q in enumerate(labelled)}
        rules_only[language] = rows_score(rows, lambda t, f=found: f[t], with_misses=False)
    dev["rules_only"] = {k: _brief(v) for k, v in rules_only.items()}
    redactor = _Redactor(questions, len(labelled), rules, per_q, passes)
    thresholds, vetoes = {}, {}
    for sources in veto_source_sets:
        tag = "+".join(sorted(sources))
        for language in ("zh", "en"):
            own = dev["rules_only"][language]["precision"]
            floor = min(min_precision, own - max_precision_drop)
            grid = redactor.grid(language, sources, veto_reads, progress)
            for (t, v), figures in grid.items():
                dev["by_threshold"][f"{tag}:{language}:{t}:{v}"] = figures
            fits = {
                k: f
                for k, f in grid.items()
                if f["precision"] >= floor and f["unlabelled_fired"] <= max_unlabelled
            }
            dev.setdefault("by_sources", {}).setdefault(tag, {})[language] = (
                _choose(fits, beta) if fits else None
            )  # fmt: skip
        progress(f"veto over {tag}: {dev['by_sources'][tag]}")
    chosen_sources = _choose_sources(dev["by_sources"], veto_source_sets, beta)
    for language in ("zh", "en"):
        chosen = dev["by_sources"]["+".join(sorted(chosen_sources))][language]
        thresholds[language] = chosen["threshold"] if chosen else 1.0
        vetoes[language] = chosen["veto"] if chosen else 0.0
        dev[language] = chosen
        idx = [i for i, q in enumerate(labelled) if q.language == language]
        everyday = [passes(len(labelled) + j) for j, q in enumerate(unlabelled)
                    if q.language == language]  # fmt: skip
        dev[f"gate_{language}"] = {
            "floor": floors.get(language),
            "encoded_share_unlabelled": round(float(np.mean(everyday)), 4) if everyday else None,
            "named_questions_passed": round(float(np.mean(
                [passes(i) for i in idx if labelled[i].names])), 4),
        }  # fmt: skip
    vetoes["*"] = min(vetoes.values())
    dev["veto_reads"] = veto_reads
    dev["beta"] = beta
    thresholds["*"] = max(thresholds.values())
    model = LogisticRegression(C=c, max_iter=2000).fit(
        z[w > 0], y[w > 0], sample_weight=weights[w > 0]
    )
    digest = hashlib.sha256(
        "\n".join(sorted(f"{q.source}\t{q.text}\t{q.names}" for q in questions)).encode("utf-8")
    ).hexdigest()
    return {
        "version": f"names-lr-{digest[:10]}",
        "data_hash": digest,
        "model_sha256": model_sha256,
        "model_file": model_path.name,
        **head_fields(model, mean, scale),
        "floors": {},
        "thresholds": thresholds,
        "veto": vetoes,
        "veto_sources": sorted(chosen_sources),
        "gate": gate,
        "dev": dev,
    }


class _Redactor:
    """The redactor as ``pii_find`` runs it, from cached parts: the rules' findings, the tagger's
    out-of-fold token probabilities and the gate's out-of-fold decision, per question (labelled
    questions first, ``n_labelled`` of them, then the unlabelled)."""

    def __init__(self, questions, n_labelled, rules, per_q, passes) -> None:
        self.questions, self.n_labelled = questions, n_labelled
        self.rules, self.per_q, self.passes = rules, per_q, passes
        self._tagged: dict = {}
        self._vetoed: dict = {}

    def tagged(self, i: int, t: float) -> list[PiiFinding]:
        if (i, t) not in self._tagged:
            found = _tagger_findings(self.questions[i], *self.per_q[i], t) if self.passes(i) else []
            self._tagged[(i, t)] = found
        return self._tagged[(i, t)]

    def vetoed(self, i: int, v: float, sources, reads: bool) -> list[PiiFinding]:
        key = (i, v, sources, reads)
        if key not in self._vetoed:
            (spans, probs), rules = self.per_q[i], self.rules[i]
            if reads_question(self.passes(i), vetoable(rules, sources), v, reads):
                rules = tagger_veto(rules, lambda a, b: span_peak(spans, probs, a, b), v, sources)
            self._vetoed[key] = rules
        return self._vetoed[key]

    def find(self, i: int, t: float, v: float, sources, reads: bool) -> list[PiiFinding]:
        return _resolve(with_tagger(self.vetoed(i, v, sources, reads), self.tagged(i, t)))

    def grid(self, language: str, sources, reads: bool, progress) -> dict:
        """Dev figures of every (threshold, veto) pair for ``language``."""
        idx = [i for i in range(self.n_labelled) if self.questions[i].language == language]
        everyday = [i for i in range(self.n_labelled, len(self.questions))
                    if self.questions[i].language == language]  # fmt: skip
        rows = [self.questions[i].row for i in idx]
        read_for_veto = [not self.passes(i) and vetoable(self.rules[i], sources) for i in everyday]
        out = {}
        for t in THRESHOLDS:
            fired = [bool(self.tagged(i, t)) for i in everyday]
            for v in VETO_GRID:
                found = {self.questions[i].text: self.find(i, t, v, sources, reads) for i in idx}
                score = rows_score(rows, found.__getitem__, with_misses=False)
                rule_names = [
                    any(f.kind == "NAME" for f in self.vetoed(i, v, sources, reads))
                    for i in everyday
                ]
                out[(t, v)] = _brief(score) | {
                    "threshold": float(t),
                    "veto": v,
                    "unlabelled_fired": round(float(np.mean(fired)), 4) if fired else 0.0,
                    "unlabelled_rule_names": round(float(np.mean(rule_names)), 4)
                    if rule_names else 0.0,
                    "read_for_veto_unlabelled": round(float(np.mean(read_for_veto)), 4)
                    if read_for_veto and reads and v > 0 else 0.0,
                }  # fmt: skip
            progress(f"{language} t={t}: {out[(t, 0.0)]}")
        return out


def _f_beta(figures: dict, beta: float) -> float:
    r, p = figures["recall"], figures["precision"]
    return (1 + beta**2) * p * r / (beta**2 * p + r) if p + r else 0.0


def _choose(fits: dict, beta: float) -> dict:
    """The highest F-beta; then the smaller veto and the higher threshold (fewer words taken
    on one token's say)."""
    return max(
        fits.values(), key=lambda f: (round(_f_beta(f, beta), 6), -f["veto"], f["threshold"])
    )


def _choose_sources(by_sources: dict, sets, beta: float) -> frozenset[str]:
    """The source set whose choices have the highest mean F-beta over the two languages; on a
    tie the fewest sources (the first in ``sets``)."""

    def mean(tag: str) -> float:
        chosen = [c for c in by_sources[tag].values() if c]
        return round(float(np.mean([_f_beta(c, beta) for c in chosen])), 6) if chosen else 0.0

    tags = ["+".join(sorted(s)) for s in sets]
    tag = max(tags, key=lambda t: (mean(t), -tags.index(t)))
    return sets[tags.index(tag)]


def _gate_fit(
    questions: list[Question],
    *,
    embedder: str,
    embed: Callable[[list[str]], np.ndarray] | None,
    cache_dir: Path,
    recall: float,
    progress: Callable[[str], None],
) -> tuple[dict, np.ndarray]:
    """The gate (an ``ingestion.classify`` classifier dict with one head, ``names``, whose
    thresholds are the floors) and its out-of-fold scores, in ``questions``' order."""
    rows = [Row(q.text, int(bool(q.names)), q.language, q.source) for q in questions]
    key = hashlib.sha1(embedder.encode(), usedforsecurity=False).hexdigest()[:10]
    cache = EmbeddingCache(cache_dir / f"name-gate-{key}.npz", embedder, encode=embed)
    x = cache.embed([r.text for r in rows], progress)
    cache.save()
    head = head_fit("names", rows, x, false_rate=0.5, progress=progress)
    oof = head["dev"].pop("_oof")
    y = np.array([r.label for r in rows])
    languages = np.array([r.language for r in rows])
    floors = {}
    for language in ("en", "zh"):
        named = (languages == language) & (y == 1)
        if named.any():
            floors[language] = round(float(np.quantile(oof[named], 1 - recall)), 6)
    floors["*"] = min(floors.values()) if floors else 0.0
    head["thresholds"] = floors
    head["dev"]["floor_recall"] = recall
    head["dev"].pop("false_rate_target", None)
    digest = hashlib.sha256("\n".join(sorted(r.text for r in rows)).encode()).hexdigest()
    gate = {"version": f"names-gate-{digest[:10]}", "embedder": embedder,
            "data_hash": digest, "heads": {"names": head}}  # fmt: skip
    return gate, oof


def _brief(score: dict) -> dict:
    return {
        "recall": score["recall"]["all"]["rate"],
        "recall_names": score["recall"].get("type:NAME", {}).get("rate"),
        "precision": score["precision"]["all"]["rate"] if score["precision"] else 1.0,
        "kept": score["kept"]["all"]["rate"] if score["kept"] else 1.0,
    }
