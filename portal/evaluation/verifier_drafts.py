"""Dev drafts for the verifier: what the model really writes, kept as data.

The verifier's support score is fitted, and each of its checks is judged, on sentences the
generation model drafted for *dev* questions, labelled by the independent strict judge. This
module makes that set without the database: for each dev question it takes a few passages the way
retrieval would hand them over (the gold paragraph of the gold document, its runner-up paragraph,
and one paragraph of another document as a near-topic distractor), prompts the configured model
with the answer prompt, and records every drafted sentence with the labels it cited.

Written once to ``portal/evaluation/data/verifier_dev_drafts.jsonl`` (with the model's SHA-256 and
the prompt version in every row), so fitting and reporting are reproducible without running the
model. Test splits are refused here: their sentences must never shape a check.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import textkit
from llm_backend.base import Backend, GenerationRequest
from llm_backend.grammars import citation_grammar
from portal.evaluation.datasets import EvalSet
from portal.evaluation.datasets import load as dataset_load

DATA_DIR = Path(__file__).resolve().parent / "data"
DEV_DRAFTS = DATA_DIR / "verifier_dev_drafts.jsonl"
DEV_SETS = ("pubmedqa", "doc2dial", "policyqa", "stard")
_PARAGRAPH_MAX = 600


class SplitRefused(ValueError):
    """Drafts for the verifier come from dev splits only."""


@dataclass(frozen=True)
class DraftItem:
    dataset: str
    question_id: str
    question: str
    language: str
    passages: dict[str, str]  # label -> text
    titles: dict[str, str]  # label -> document title
    gold_labels: tuple[str, ...]


def _paragraphs(text: str) -> list[str]:
    """Blank-line paragraphs, short ones merged, long ones cut at sentence ends near the cap."""
    out: list[str] = []
    buffer = ""
    for block in re.split(r"\n\s*\n", text):
        block = " ".join(block.split())
        if not block:
            continue
        if buffer and len(buffer) + len(block) > _PARAGRAPH_MAX:
            out.append(buffer)
            buffer = ""
        buffer = f"{buffer} {block}".strip()
        while len(buffer) > _PARAGRAPH_MAX * 1.5:
            cut = max(buffer.rfind(". ", 0, _PARAGRAPH_MAX), buffer.rfind("。", 0, _PARAGRAPH_MAX))
            cut = cut + 1 if cut > 0 else _PARAGRAPH_MAX
            out.append(buffer[:cut].strip())
            buffer = buffer[cut:].strip()
    if buffer:
        out.append(buffer)
    return out


def _overlap(question: str, paragraph: str) -> float:
    words = set(re.findall(r"[a-z]{3,}|[\u4e00-\u9fff]{2}", question.lower()))
    if not words:
        return 0.0
    return sum(1 for w in words if w in paragraph.lower()) / len(words)


def _items(evalset: EvalSet, *, limit: int, seed: int) -> Iterator[DraftItem]:
    docs = {doc.doc_id: doc for doc in evalset.corpus}
    others = [doc for doc in evalset.corpus]
    rng = random.Random(f"{evalset.name}:{seed}")  # noqa: S311 - a sample, not a secret
    questions = [q for q in evalset.questions if q.gold_doc_ids and q.gold_doc_ids[0] in docs]
    rng.shuffle(questions)
    for question in questions[:limit]:
        gold = docs[question.gold_doc_ids[0]]
        paragraphs = _paragraphs(gold.text) or [gold.text]
        ranked = sorted(paragraphs, key=lambda p: _overlap(question.question, p), reverse=True)
        spanned = [p for p in paragraphs if any(s[:60] in p for s in question.gold_spans)]
        first = (spanned or ranked)[0]
        chosen = [first, *[p for p in ranked if p != first][:1]]
        distractor = rng.choice(others)
        while distractor.doc_id in question.gold_doc_ids and len(others) > 1:
            distractor = rng.choice(others)
        far = sorted(
            _paragraphs(distractor.text) or [distractor.text],
            key=lambda p: _overlap(question.question, p),
            reverse=True,
        )[0]
        texts = [(p, gold.title, True) for p in chosen] + [(far, distractor.title, False)]
        rng.shuffle(texts)
        passages = {str(i): t for i, (t, _, _) in enumerate(texts, start=1)}
        titles = {str(i): title for i, (_, title, _) in enumerate(texts, start=1)}
        gold_labels = tuple(str(i) for i, (_, _, g) in enumerate(texts, start=1) if g)
        language = "zh" if evalset.name in ("stard", "cmb_clin") else "en"
        yield DraftItem(
            evalset.name,
            question.id,
            question.question,
            language,
            passages,
            titles,
            gold_labels,
        )


def drafts_collect(
    *,
    backend: Backend,
    prompt_for: Callable[[DraftItem], tuple[list[dict], str]],
    split_sentences: Callable[[str], list],
    datasets: tuple[str, ...] = DEV_SETS,
    split: str = "dev",
    per_set: int = 80,
    max_sentences: int = 3,
    max_tokens: int = 160,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> Iterator[dict]:
    """One row per dev question: the passages, the raw draft and its sentences with labels."""
    if split != "dev":
        raise SplitRefused("verifier drafts are made from dev splits only")
    for name in datasets:
        items = list(_items(dataset_load(name, split), limit=per_set, seed=seed))
        for n, item in enumerate(items, start=1):
            messages, prompt_version = prompt_for(item)
            request = GenerationRequest(
                messages=messages,
                max_tokens=max_tokens,
                temperature=0.0,
                grammar=citation_grammar(
                    list(item.passages), max_sentences, latin_only=item.language == "en"
                ),
                question=item.question,
                passages=tuple(item.passages.items()),
                language=item.language,
            )
            stream = backend.stream(request)
            try:
                raw = "".join(stream)
            finally:
                stream.close()
            sentences = [
                {"text": s.text, "labels": list(s.labels)} for s in split_sentences(raw) if s.text
            ]
            if progress:
                progress(name, n, len(items))
            yield {
                "source": f"{name}:dev",
                "question_id": item.question_id,
                "question": item.question,
                "language": item.language,
                "passages": item.passages,
                "titles": item.titles,
                "gold_labels": list(item.gold_labels),
                "draft": raw,
                "sentences": sentences,
                "model": backend.model_id,
                "prompt_version": prompt_version,
            }


def drafts_read(path: Path = DEV_DRAFTS) -> list[dict]:
    """The stored dev drafts; refuses rows whose source is not a dev split."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not str(row.get("source", "")).endswith(":dev"):
            raise SplitRefused(f"{path}:{n}: source {row.get('source')!r} is not a dev split")
        rows.append(row)
    return rows


def drafts_digest(rows: list[dict]) -> str:
    """A content hash of the training rows, recorded with the fitted scorer."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


DEV_ANSWER_DRAFTS = DATA_DIR / "verifier_dev_answer_drafts.jsonl"
_DEV_COLLECTION = re.compile(r"^eval-(?P<name>.+?)(?:-answers-[0-9a-f]+)?-dev(?:-.+)?$")


def answer_source(collections: list[str]) -> str | None:
    """``<dataset>:dev`` when every collection an answer searched is a dev evaluation one."""
    names = set()
    for slug in collections:
        match = _DEV_COLLECTION.match(slug)
        if not match:
            return None
        names.add(match.group("name"))
    return f"{names.pop()}:dev" if len(names) == 1 else None


def drafts_from_answers(answers, *, chunk_texts: Callable[[list[int]], dict[int, tuple]]):
    """Rows in the drafts format from answers stored by ``evaluate answers`` on dev splits: what
    the model really wrote for the questions as the engine put them (translated where the
    sources are in another language), over the full passages it was verified against. Answers of
    test or product collections are skipped. ``chunk_texts(ids)`` -> {id: (text, title)}."""
    for answer in answers:
        source = answer_source(list(answer.collections or []))
        if source is None or not answer.verification:
            continue
        drafted = [v for v in answer.verification if not v.get("fallback")]
        if not drafted:
            continue
        labels = {r["label"]: r["chunk_id"] for r in answer.retrieved}
        chunks = chunk_texts(list(labels.values()))
        passages = {lbl: chunks[cid][0] for lbl, cid in labels.items() if cid in chunks}
        question = answer.question_translated or answer.question
        yield {
            "source": source,
            "question_id": f"answer-{answer.public_id}",
            "question": question,
            "language": textkit.language_of(question),
            "passages": passages,
            "titles": {lbl: chunks[cid][1] for lbl, cid in labels.items() if cid in chunks},
            "gold_labels": [],
            "draft": answer.draft.split("\n--- extractive fallback ---\n")[0],
            "sentences": [
                {"text": v["text"], "labels": v.get("drafted_labels") or v["labels"]}
                for v in drafted
            ],
            "model": answer.model_id,
            "prompt_version": answer.prompt_version,
        }
