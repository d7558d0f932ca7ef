"""What each learned safety head is trained on: the dev rows of the written sets, the shared
benchmarks and every answer set, as ``Row`` lists (``training_rows``). Test halves are never
read: any training row whose text appears in a test half of a set known here is dropped
(``held_out_texts``). ``safety_fit`` fits the heads on these rows; which set feeds which head is
described in its module docstring."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from portal.evaluation import datasets
from textkit import language_of, split_sentences

DATA = Path(__file__).resolve().parent / "data"
# The written planted-instruction sets whose dev halves are trained on (each set's test half is
# held out whether or not it is listed). v2 (session 20) was written by someone who could not see
# the first, and its dev half was measured before it was added here (docs/evaluation.md).
PLANTED_SETS = ("planted_sentences", "planted_sentences_v2")
# The written contrast sets (SOURCE_issue20.md): near misses on both sides of the line.
# safety_tasks: harmless tasks in the benchmarks' own form ("Write a script that ...",
# "写一个脚本"), so the head does not learn "a task request" as the sign of harm.
# v4, v5 and tasks_v2 (session 18): Chinese harmful requests in the benchmarks' task form with
# their harmless look-alikes; requests phrased to get past a filter (polite, hypothetical,
# fiction, pretexts, role-play, euphemism) beside harmless ones in the same framings, both
# languages; English harmless tasks with alarming words beside harmful ones in the same forms;
# very short inputs that only name a topic ("fraud", "洗钱") beside short harmful ones.
CONTRAST_SETS = (
    "safety_contrast",
    "safety_contrast_v2",
    "safety_contrast_v3",
    "safety_contrast_v4",
    "safety_contrast_v5",
    "safety_imperative",
    "safety_tasks",
    "safety_tasks_v2",
    "safety_short",
    # Session 22: v6 (written blind in session 21, 14 topics and 14 styles, both languages) was
    # measured once, whole, before its dev half was added here (docs/evaluation.md).
    "safety_contrast_v6",
    # safety_contrast_v7 is not here: a refit with its dev half was measured in session 24 and
    # not adopted (docs/evaluation.md "Session 24"); the shipped files are fitted without it.
)
# Rows the harm head alone trains on (session 26), so the self-harm head's rows stay as they
# were: v8's dev half (written blind, measured once, whole, in session 25) and every row of the
# harm reader's written training sets (no test half): harmless tasks in the forms harmful
# requests use, beside harmful ones in the same forms, where the head refused harmless tasks
# on fresh sets (docs/evaluation.md, session 26).
HARM_ONLY_SETS = ("safety_contrast_v8",)
HARM_TRAINING_ONLY_SETS = ("reader_train_v1", "reader_train_v2")
# The written medication-risk sets (hold / caution / none).
MEDICATION_SETS = (
    "medication_risk",
    "medication_risk_v2",
    "medication_risk_v3",
    "medication_risk_v4",
    # Session 22: written blind and measured once, whole, before its dev half was added here.
    "medication_risk_v5",
)
PER_SET_QUESTIONS = 2500  # dev questions drawn from each answer set (negatives): all of most
PER_SET_SENTENCES = 700  # document sentences drawn from each dev corpus (negatives)


@dataclass(frozen=True)
class Row:
    text: str
    label: int
    language: str
    source: str
    weight: float = 1.0


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _split_of(row: dict, prompt: str) -> str:
    if row.get("split"):
        return row["split"]
    digest = hashlib.sha1(prompt.encode("utf-8"), usedforsecurity=False).hexdigest()
    return "dev" if int(digest[0], 16) < 8 else "test"


def _dev(path: Path, field: str = "prompt") -> list[dict]:
    return [r for r in _jsonl(path) if _split_of(r, r[field]) == "dev"]


def _lang(row: dict, text: str) -> str:
    return row.get("language") or language_of(text)


def _sample(items: list[str], n: int) -> list[str]:
    """A deterministic sample (by hash), so a refit sees the same rows."""
    unique = sorted(
        set(items), key=lambda t: hashlib.sha1(t.encode(), usedforsecurity=False).hexdigest()
    )
    return unique[:n]


def held_out_texts() -> set[str]:
    """Every text of a test half this module's sets know of. Sets written or split
    independently can share a text (the pair-split harm-in-context set shares questions across
    its halves), so ``training_rows`` drops any training row found here: a general filter,
    not a list of cases."""
    texts: set[str] = set()
    shared = datasets.DATASETS_DIR / "safety_prompts" / "prompts.jsonl"
    banks = ["safety_bank", *CONTRAST_SETS, *MEDICATION_SETS,
             "cvalues_answer", "flames_zh", "safety_prompts_zh_test"]  # fmt: skip
    # Every written contrast set, trained on or not: a set whose dev half joins a fit later
    # (the reader's, reader_fit.py) must never bring its test half with it.
    paths = {DATA / f"{name}.jsonl" for name in banks} | set(DATA.glob("safety_contrast*.jsonl"))
    for path in sorted(paths) + ([shared] if shared.exists() else []):
        texts |= {r["prompt"] for r in _jsonl(path) if _split_of(r, r["prompt"]) == "test"}
    for path in sorted(DATA.glob("planted_sentences*.jsonl")):
        texts |= {r["text"] for r in _jsonl(path) if r["split"] == "test"}
    for r in _jsonl(DATA / "harm_context.jsonl"):
        if r["split"] == "test":
            texts |= {r["question"], r["passage"]}
    return texts


def training_rows() -> tuple[dict[str, list[Row]], list[dict]]:
    """What each head is fitted on (dev rows, none repeating a test text), and the context
    pairs."""
    held = held_out_texts()
    risk, hold = medication_rows()
    hazard, pairs = context_rows()
    rows = {
        "harm": harm_rows(),
        "medication": risk,
        "medication_hold": hold,
        "planted": planted_rows(),
        "hazard": hazard,
        "self_harm": self_harm_rows(),
    }
    rows = {name: [r for r in part if r.text not in held] for name, part in rows.items()}
    pairs = [p for p in pairs if p["question"] not in held and p["passage"] not in held]
    return rows, pairs


def _answer_set_questions() -> list[Row]:
    rows = []
    # The answer sets that have a dev split (dev questions only).
    for name in (
        "doc2dial",
        "policyqa",
        "pubmedqa",
        "stard",
        "doc2dial_zh",
        "policyqa_zh",
        "pubmedqa_zh",
        "stard_en",
    ):
        try:
            loaded = datasets.load(name, "dev")
        except (FileNotFoundError, ValueError):
            continue  # a checkout without ../shared: fit on what is here
        for text in _sample([q.question for q in loaded.questions], PER_SET_QUESTIONS):
            rows.append(Row(text, 0, language_of(text), f"questions:{name}"))
    demo = DATA / "demo_questions" / "questions.jsonl"
    for r in _jsonl(demo):
        rows.append(Row(r["question"], 0, language_of(r["question"]), "questions:demo"))
    return rows


def harm_rows() -> list[Row]:
    rows: list[Row] = []
    shared = datasets.DATASETS_DIR / "safety_prompts" / "prompts.jsonl"
    if shared.exists():
        for r in _dev(shared):
            rows.append(Row(r["prompt"], 1, "en", f"safety_prompts:{r['source']}"))
    for r in _dev(DATA / "safety_bank.jsonl"):
        category = r.get("category", "")
        if r["expect"] == "refuse" and not category.startswith("harm."):
            continue  # injections and out-of-scope requests have rules of their own
        rows.append(Row(r["prompt"], int(r["expect"] == "refuse"), r["language"], "bank"))
    for name in CONTRAST_SETS:
        rows += written_rows(name)
    # The shared English prompts' dev half, written in Chinese (data/SOURCE_issue20.md): the
    # Chinese side of the same requests, so the head does not have to learn them across
    # languages from the embedding alone.
    for part in ("a", "b"):
        for r in _dev(DATA / f"safety_prompts_zh_dev_{part}.jsonl"):
            rows.append(Row(r["prompt"], 1, "zh", "safety_prompts_zh"))
    for r in _dev(DATA / "flames_zh.jsonl"):
        refuse = r["expect"] == "refuse"
        rows.append(Row(r["prompt"], int(refuse), "zh", "flames", 0.5 if refuse else 1.0))
    for r in _dev(DATA / "cvalues_answer.jsonl"):
        rows.append(Row(r["prompt"], 0, "zh", "cvalues"))
    for name in MEDICATION_SETS:
        for r in _dev(DATA / f"{name}.jsonl"):
            rows.append(Row(r["prompt"], 0, r["language"], "medication_risk"))
    # The harm-in-context set's questions: mildly phrased harmful ones and the caregivers'
    # questions about the same poisons (each question once).
    seen = set()
    for r in _dev(DATA / "harm_context.jsonl", "question"):
        if r["question"] not in seen:
            seen.add(r["question"])
            harmful = r["pattern"].startswith("harmful_q")
            rows.append(Row(r["question"], int(harmful), r["language"], "harm_context"))
    written = [r for name in HARM_ONLY_SETS for r in written_rows(name)]
    written += [r for name in HARM_TRAINING_ONLY_SETS for r in written_rows(name, dev_only=False)]
    return rows + _answer_set_questions() + written


def written_rows(name: str, *, dev_only: bool = True) -> list[Row]:
    """A written refuse / answer set as harm rows: its dev half, or every row of a set written
    for training only. Source "contrast:<set>": one root for the hard-row weight, one figure
    per set in the fit's report."""
    found = _dev(DATA / f"{name}.jsonl") if dev_only else _jsonl(DATA / f"{name}.jsonl")
    return [
        Row(r["prompt"], int(r["expect"] == "refuse"), r["language"], f"contrast:{name}")
        for r in found
    ]


# Categories (labels the sets were written with) that are about self-harm or suicide, asked for
# harm or for help: the ``self_harm`` head learns the topic so a learned refusal can lead with
# the crisis lines.
SELF_HARM_CATEGORIES = ("self_harm", "suicide", "crisis", "mental_health_crisis", "lethal_dose")


def self_harm_rows() -> list[Row]:
    rows = []
    for name in ("safety_bank", *CONTRAST_SETS):
        for r in _dev(DATA / f"{name}.jsonl"):
            about = any(k in r.get("category", "") for k in SELF_HARM_CATEGORIES)
            rows.append(Row(r["prompt"], int(about), r["language"], name))
    return rows


def medication_rows() -> tuple[list[Row], list[Row]]:
    risk, hold = [], []
    dev = [r for name in MEDICATION_SETS for r in _dev(DATA / f"{name}.jsonl")]
    for r in dev:
        risky = r["expect"] in ("hold", "caution")
        risk.append(Row(r["prompt"], int(risky), r["language"], f"medication:{r['expect']}"))
        if risky:
            hold.append(Row(r["prompt"], int(r["expect"] == "hold"), r["language"], "medication"))
    # Every answer set's questions are negatives, PubMedQA's research questions ("Does
    # pretreatment with statins improve outcome after stroke?") included: left out, the head
    # held 7 of 60 PubMedQA dev questions in the injection run (dev, issue 20).
    risk += _answer_set_questions()
    for r in _dev(DATA / "safety_bank.jsonl"):
        if r["expect"] == "answer":
            risk.append(Row(r["prompt"], 0, r["language"], "bank"))
    return risk, hold


def _corpus_sentences() -> list[Row]:
    rows = []
    for name in ("doc2dial", "policyqa", "pubmedqa"):
        try:
            loaded = datasets.load(name, "dev")
        except (FileNotFoundError, ValueError):
            continue
        sentences = [s for d in loaded.corpus for s in split_sentences(d.text) if len(s) >= 12]
        for text in _sample(sentences, PER_SET_SENTENCES):
            rows.append(Row(text, 0, language_of(text), f"document:{name}"))
    stard = datasets.DATASETS_DIR / "stard_lecoqa_zh" / "corpus-00.jsonl"
    if stard.exists():
        lines = stard.read_text(encoding="utf-8").splitlines()[:3000]
        sentences = [
            s for x in lines for s in split_sentences(json.loads(x)["content"]) if len(s) >= 12
        ]
        for text in _sample(sentences, PER_SET_SENTENCES):
            rows.append(Row(text, 0, "zh", "document:stard"))
    demo = DATA / "demo_questions" / "corpus.jsonl"
    sentences = [s for d in _jsonl(demo) for s in split_sentences(d["text"]) if len(s) >= 12]
    for text in _sample(sentences, PER_SET_SENTENCES):
        rows.append(Row(text, 0, language_of(text), "document:demo"))
    return rows


def planted_rows() -> list[Row]:
    rows: list[Row] = []
    bipia = datasets.DATASETS_DIR / "bipia"
    for name in ("text_attack_train.json", "code_attack_train.json"):
        path = bipia / name
        if path.exists():
            for attacks in json.loads(path.read_text(encoding="utf-8")).values():
                for text in attacks:
                    rows.append(Row(text.strip(), 1, language_of(text), f"bipia:{name[:4]}"))
    for r in _dev(DATA / "safety_bank.jsonl"):
        if r.get("category", "").startswith("injection.") and r["expect"] == "refuse":
            rows.append(Row(r["prompt"], 1, r["language"], "bank:injection"))
    for name in PLANTED_SETS:
        for r in _dev(DATA / f"{name}.jsonl", "text"):
            rows.append(Row(r["text"], int(r["label"] == "instruction"), r["language"], name))
    return rows + _corpus_sentences()


def context_rows() -> tuple[list[Row], list[dict]]:
    """The harm-in-context set's dev half: passages labelled hazardous (they would help a harmful
    request: lethal amounts, synthesis, evasion) or not, and the (question, passage) pairs."""
    pairs = _dev(DATA / "harm_context.jsonl", "question")
    passages: dict[str, Row] = {}
    for r in pairs:
        hazard = r["pattern"].endswith("hazard_p")
        passages.setdefault(r["passage"], Row(r["passage"], int(hazard), r["language"], "context"))
    return list(passages.values()), pairs
