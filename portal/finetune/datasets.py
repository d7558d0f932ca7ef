"""Training examples for the fine-tuning loop: review decisions plus seed data from dev splits.

Every example is stored as the prompt's inputs (question, labelled passages, language) and the
target text, not as the rendered prompt: ``portal.qa.prompts.build_prompt`` renders it at training
time, exactly as the answer pipeline does, and the dataset's hash does not depend on the
per-process canary inside the system prompt.

Targets are written in the format the prompt teaches (``sentence [1].`` / ``句子[1]。``), and
seed targets are sentences copied verbatim from the passage they cite: the model should learn to
cite and to stay inside its sources, which is what the verifier and the promotion gate measure.

Seeds come from dev/train splits only (each SOURCE.md names the held-out split;
``_assert_not_test`` refuses anything else), and the first ``FINETUNE_HOLDOUT_DEV`` dev questions of
each built-in set are left out too, because ``evaluate answers --split dev --limit N`` grades
exactly those and the promotion gate must not grade an adapter on what it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from portal.evaluation import datasets as eval_sets
from portal.qa.prompts import REFUSAL_TOKEN
from portal.qa.sentences import split_sentences
from portal.qa.verify import coverage
from textkit import content_units as lexical_units

SEEDS = ("pubmedqa", "doc2dial", "stard")
PASSAGE_MAX_CHARS = 400  # as ANSWER_PASSAGE_MAX_CHARS: the pipeline prompts passages this long
PASSAGES_PER_PROMPT = 3  # as ANSWER_PROMPT_PASSAGES
REFUSE_EVERY = 5  # one seed example in five becomes "unrelated passages -> NOT_IN_SOURCES"
_END_PUNCT = re.compile(r"[.。!！?？;；]+$")


class TestSplitError(ValueError):
    """A seed example came from a test split: refusing to build (the numbers would be void)."""


@dataclass(frozen=True)
class Example:
    id: str
    source: str  # "review:<decision>" or "seed:<dataset>"
    language: str
    question: str
    passages: list[tuple[str, str, str]]  # (label, title, text), as build_prompt takes them
    chosen: str  # the target answer (SFT completion, DPO chosen)
    rejected: str = ""  # the DPO rejected answer; empty = SFT only
    meta: dict = field(default_factory=dict)

    def row(self) -> dict:
        data = asdict(self)
        data["passages"] = [list(p) for p in self.passages]
        return data


def render_answer(sentences: Iterable[tuple[str, Iterable[str]]], *, language: str) -> str:
    """Sentences with their labels in the one-shot format: ``text [1].`` / ``文本[1]。``."""
    parts = []
    for text, labels in sentences:
        text = text.strip()
        punct = _END_PUNCT.search(text)
        end = punct.group() if punct else ("。" if language == "zh" else ".")
        body = text[: punct.start()] if punct else text
        markers = "".join(f"[{label}]" for label in labels)
        parts.append(f"{body}{markers}{end}" if language == "zh" else f"{body} {markers}{end}")
    return ("" if language == "zh" else " ").join(parts)


def normalize_answer(text: str, *, language: str) -> str:
    """Any cited text (the pipeline puts markers after the full stop) in the one-shot format."""
    if text.strip() == REFUSAL_TOKEN:
        return REFUSAL_TOKEN
    return render_answer(((s.text, s.labels) for s in split_sentences(text)), language=language)


def _sentences(text: str) -> list[str]:
    return [s.text for s in split_sentences(text) if s.text]


def trim_around(text: str, keep: list[str], *, max_chars: int = PASSAGE_MAX_CHARS) -> str:
    """The passage cut to ``max_chars`` around the sentences in ``keep`` (which always stay)."""
    sentences = _sentences(text)
    if len(text) <= max_chars or not sentences:
        return text
    chosen = {i for i, s in enumerate(sentences) if s in keep}
    if keep and not chosen:
        return text  # a quote that is not a whole sentence of it: cutting could lose it
    chosen = chosen or {0}
    used = sum(len(sentences[i]) + 1 for i in chosen)
    lo, hi = min(chosen), max(chosen)
    while True:
        grew = False
        for i in (hi + 1, lo - 1):
            if 0 <= i < len(sentences) and used + len(sentences[i]) + 1 <= max_chars:
                chosen.add(i)
                used += len(sentences[i]) + 1
                lo, hi = min(chosen), max(chosen)
                grew = True
        if not grew:
            break
    return " ".join(sentences[i] for i in sorted(chosen))


def best_sentences(target: str, text: str, *, n: int = 1) -> list[str]:
    """The passage sentences that best cover ``target`` (most-covering first), at most ``n``."""
    units = lexical_units(target)
    scored = [(coverage(lexical_units(s), units), s) for s in _sentences(text) if len(s) > 15]
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [s for score, s in scored[:n] if score > 0]


def _stable_rng(key: str) -> random.Random:
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:16], 16)
    return random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret


def _assemble(
    *,
    id: str,
    source: str,
    language: str,
    question: str,
    gold: list[tuple[str, str, list[str]]],  # (title, text, sentences to quote)
    distractors: list[tuple[str, str]],
    meta: dict,
) -> Example:
    """Gold passages and distractors shuffled into labels 1..k (the model must find the right one);
    the target quotes the gold sentences, each cited to its passage."""
    rng = _stable_rng(id)
    items = [("gold", title, text, quotes) for title, text, quotes in gold]
    items += [("other", title, text, []) for title, text in distractors]
    items = items[:PASSAGES_PER_PROMPT]
    rng.shuffle(items)
    passages, answer = [], []
    for n, (_kind, title, text, quotes) in enumerate(items, start=1):
        trimmed = trim_around(text, quotes)
        passages.append((str(n), title, trimmed))
        # Only quotes that stand verbatim in the passage (a source's own "[8]" is read as a marker
        # by the sentence splitter, and the target would then differ from its passage).
        answer += [(q, [str(n)]) for q in quotes if _END_PUNCT.sub("", q) in trimmed]
    chosen = render_answer(answer, language=language) if answer else ""
    # A synthetic preference: the same answer without its citations is worse (format adherence).
    rejected = " ".join(q for q, _ in answer)
    return Example(id, source, language, question, passages, chosen, rejected, meta)


def _refusal(example: Example, unrelated: list[tuple[str, str]]) -> Example:
    """The question with passages from other items: the only right answer is the refusal, and
    answering anyway (copying a passage sentence, cited) is the rejected behaviour."""
    passages = [(str(n), t, trim_around(x, [])) for n, (t, x) in enumerate(unrelated, 1)]
    invented = best_sentences(example.question, passages[0][2]) or _sentences(passages[0][2])[:1]
    rejected = render_answer([(invented[0], ["1"])], language=example.language) if invented else ""
    return Example(
        example.id + ":refuse",
        example.source,
        example.language,
        example.question,
        passages,
        REFUSAL_TOKEN,
        rejected,
        {**example.meta, "refusal": True},
    )


# --- Seeds ------------------------------------------------------------------------------------


def _assert_not_test(dataset: str, ids: set[str], test_ids: set[str]) -> None:
    leaked = ids & test_ids
    if leaked:
        raise TestSplitError(
            f"{dataset}: {len(leaked)} seed examples are from the test split "
            f"(e.g. {sorted(leaked)[:3]}); seed data must come from dev/train splits only"
        )


def seed_pubmedqa(*, limit: int, holdout: int) -> Iterator[Example]:
    """PubMedQA dev: each conclusion sentence cited to the abstract sentence that best states it."""
    root = eval_sets.DATASETS_DIR / "pubmedqa_pqal"
    data = json.loads((root / "ori_pqal.json").read_text(encoding="utf-8"))
    test_ids = set(json.loads((root / "test_ground_truth.json").read_text(encoding="utf-8")))
    dev = [pmid for pmid in data if pmid not in test_ids][holdout:]
    _assert_not_test("pubmedqa", set(dev), test_ids)
    made = 0
    for i, pmid in enumerate(dev):
        if made >= limit:
            break
        item = data[pmid]
        contexts = list(zip(item["LABELS"], item["CONTEXTS"], strict=True))
        gold: list[tuple[str, str, list[str]]] = []
        for conclusion in _sentences(item["LONG_ANSWER"])[:2]:
            ranked = sorted(
                ((best_sentences(conclusion, text), label, text) for label, text in contexts),
                key=lambda r: (
                    coverage(lexical_units(r[0][0]), lexical_units(conclusion)) if r[0] else 0.0
                ),
                reverse=True,
            )
            quotes, label, text = ranked[0]
            if quotes and not any(text == g[1] for g in gold):
                gold.append((f"PubMed {pmid} {label.title()}", text, quotes))
        if not gold:
            continue
        other = data[dev[(i + 1) % len(dev)]]
        distractors = [(f"PubMed {dev[(i + 1) % len(dev)]}", t) for t in other["CONTEXTS"][:2]]
        example = _assemble(
            id=f"pubmedqa:{pmid}",
            source="seed:pubmedqa",
            language="en",
            question=item["QUESTION"],
            gold=gold,
            distractors=distractors,
            meta={"split": "dev", "pmid": pmid},
        )
        if example.chosen:  # no quote stood verbatim in its passage: nothing to learn
            made += 1
            yield example


def _window(context: str, span: str, *, max_chars: int = PASSAGE_MAX_CHARS) -> str:
    """A passage-sized piece of the document that holds the whole span, starting on a line or
    sentence boundary when one is near (as a chunk of the ingested page would)."""
    at = context.find(span)
    lead = max(0, (max_chars - len(span)) // 2)
    start = max(0, at - lead)
    if start:
        cut = max(context.rfind("\n", start, at), context.rfind(". ", start, at))
        start = cut + 1 if cut >= 0 else start
    end = max(at + len(span), start + max_chars)
    return context[start:end].strip()


def seed_doc2dial(*, limit: int, holdout: int) -> Iterator[Example]:
    """doc2dial dev: the gold span (a sentence of the agency page) cited to its passage."""
    root = eval_sets.DATASETS_DIR / "doc2dial_rc_val"
    docs = {row["title"]: row for row in eval_sets._jsonl(root / "documents.jsonl")}
    dev_titles = {t for t in docs if eval_sets._doc2dial_split(t) == "dev"}
    test_titles = set(docs) - dev_titles
    rows = [r for r in eval_sets._jsonl(root / "questions.jsonl") if r["title"] in dev_titles]
    rows = rows[holdout:]
    _assert_not_test("doc2dial", {r["title"] for r in rows}, test_titles)
    titles = sorted(dev_titles)
    made = 0
    for row in rows:
        if made >= limit:
            break
        spans = [s.strip() for s in row["answers"]["text"] if s.strip()]
        context = docs[row["title"]]["context"]
        # Fragments ("call 518 - 486 - 9786") make poor answers: keep sentence-sized spans.
        if not spans or not 30 <= len(spans[0]) <= 300 or len(spans[0].split()) < 6:
            continue
        if spans[0] not in context:
            continue
        span = spans[0].rstrip(" ,;:")  # spans may stop mid-sentence; the quote must end cleanly
        turns = row["question_with_history"].split("\t")
        question = " ".join(t.split(":", 1)[-1].strip() for t in turns[:3])
        other = docs[titles[(titles.index(row["title"]) + 7) % len(titles)]]
        example = _assemble(
            id=f"doc2dial:{row['id']}",
            source="seed:doc2dial",
            language="en",
            question=question,
            gold=[(row["title"].split("#")[0], _window(context, span), _sentences(span)[:2])],
            distractors=[(other["title"].split("#")[0], other["context"][:PASSAGE_MAX_CHARS])],
            meta={"split": "dev", "title": row["title"]},
        )
        if example.chosen:  # no quote stood verbatim in its passage: nothing to learn
            made += 1
            yield example


def seed_stard(*, limit: int, holdout: int) -> Iterator[Example]:
    """STARD dev: the gold statute articles' sentences that best match LeCoQA's lawyer answer."""
    root = eval_sets.DATASETS_DIR / "stard_lecoqa_zh"
    queries = list(eval_sets._jsonl(root / "queries.jsonl"))
    test_ids = {str(q["query_id"]) for q in queries if q.get("split") == "test"}
    dev = [q for q in queries if q.get("split") == "dev"][holdout:][: limit * 2]
    _assert_not_test("stard", {str(q["query_id"]) for q in dev}, test_ids)
    wanted = {d for q in dev for d in q["gold_doc_ids"]}
    articles = {
        row["id"]: row
        for shard in sorted(root.glob("corpus-*.jsonl"))
        for row in eval_sets._jsonl(shard)
        if row["id"] in wanted
    }
    made = 0
    for i, q in enumerate(dev):
        if made >= limit:
            break
        gold = []
        for doc_id in q["gold_doc_ids"][:2]:
            article = articles.get(doc_id)
            if article is None:
                continue
            quotes = best_sentences(q.get("answer") or q["question"], article["content"])
            if quotes:
                gold.append((article["name"], article["content"], quotes))
        if not gold:
            continue
        other = dev[(i + 11) % len(dev)]
        distractors = [
            (articles[d]["name"], articles[d]["content"])
            for d in other["gold_doc_ids"][:1]
            if d in articles and d not in q["gold_doc_ids"]
        ]
        example = _assemble(
            id=f"stard:{q['query_id']}",
            source="seed:stard",
            language="zh",
            question=q["question"],
            gold=gold,
            distractors=distractors,
            meta={"split": "dev", "query_id": q["query_id"]},
        )
        if example.chosen:  # no quote stood verbatim in its passage: nothing to learn
            made += 1
            yield example


SEED_BUILDERS = {"pubmedqa": seed_pubmedqa, "doc2dial": seed_doc2dial, "stard": seed_stard}


def seed_examples(names: Iterable[str], *, per_seed: int, holdout: int) -> list[Example]:
    """Seed examples with one in ``REFUSE_EVERY`` turned into an unanswerable one."""
    out: list[Example] = []
    for name in names:
        if name not in SEED_BUILDERS:
            raise ValueError(f"unknown seed {name!r}; choose from {', '.join(SEEDS)}")
        made = list(SEED_BUILDERS[name](limit=per_seed, holdout=holdout))
        for i, example in enumerate(made):
            if i % REFUSE_EVERY == REFUSE_EVERY - 1 and len(made) > 2:
                # Passages of two other questions of the same set: same domain, wrong topic.
                a, b = made[(i + 1) % len(made)], made[(i + 2) % len(made)]
                unrelated = [(p[1], p[2]) for p in (a.passages[0], b.passages[0])]
                out.append(_refusal(example, unrelated))
            else:
                out.append(example)
    return out


# --- Files and hash ---------------------------------------------------------------------------


def content_hash(sft: list[dict], dpo: list[dict], *, prompt_version: str) -> str:
    digest = hashlib.sha256(prompt_version.encode())
    for name, rows in (("sft", sft), ("dpo", dpo)):
        digest.update(name.encode())
        for row in rows:
            digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def write_jsonl(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
