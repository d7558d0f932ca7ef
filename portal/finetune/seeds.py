"""Seed examples from the dev split of every answer set the product is evaluated on.

A registry of named seed builders (``SEEDS``), one small function per set: PubMedQA, doc2dial,
PolicyQA and STARD (English and Chinese), the Chinese law questions (``cn_law``), the demo
questions of the answer-quality work, and the cross-lingual questions (each set's dev questions
asked in the other language). Each yields answerable questions over their gold passage and
near-topic distractors, with a target of verbatim passage sentences: the sentences that hold the
gold answer span where the set labels one (doc2dial, PolicyQA, cn_law, demo), else the sentence
that best states the reference answer (PubMedQA's conclusion, LeCoQA's lawyer answer for STARD).
Questions a set labels as unanswerable (cn_law, demo) become refusals over their nearest passages.
``seed_examples`` adds, for one answerable question in ``REFUSE_EVERY``, the same question over
near-topic passages only (target ``NOT_IN_SOURCES``), and the DPO rejections
(``portal/finetune/preferences.py``).

**Splits.** Only dev rows are read (each SOURCE.md names the held-out split): the builders
check the ids they use against the test split where the data names one (``TestSplitError``),
and ``seed_examples`` refuses any example not labelled dev.

**Held out for the gate.** ``evaluate answers --limit n`` grades ``n`` questions spread evenly
over a set (``portal.evaluation.answers._spread``), so those, not the first ``n``, are what
training must not see. For each set, the questions ``--limit k`` grades are left out, with
``k = min(FINETUNE_HOLDOUT_DEV, half the set)`` (small sets keep half for training); any
``--limit`` that divides ``k`` grades a subset of them (``--limit 40`` or ``50`` of 200;
``--limit 14`` or ``28`` of cn_law's 28). A question id held out of one set is held out of
every set that shares its ids (``FAMILIES``: a translated question is its original's), so the
cross-lingual seed keeps only translations whose original no gate grades either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import islice

from django.conf import settings

import textkit
from ingestion.chunking import chunk_document
from ingestion.parsers import parse_bytes
from portal.evaluation import datasets as eval_sets
from portal.evaluation.answers import _spread as spread
from portal.finetune import preferences
from portal.finetune.datasets import (
    MAX_QUOTES,
    PASSAGES_PER_PROMPT,
    Example,
    NearTopic,
    TestSplitError,
    _assert_not_test,
    _sentences,
    _stable_key,
    assemble,
    best_sentences,
    refusal,
    span_sentences,
)
from portal.qa.prompts import REFUSAL_TOKEN
from portal.qa.verify import coverage
from textkit import content_units as lexical_units
from textkit import language_of

DEFAULT_PER_SEED = 300  # with every seed: ~1,480 SFT examples and ~540 DPO pairs (README)
REFUSE_EVERY = 5  # one answerable question in five is also asked over near-topic passages only
# DPO: one answer in four gets a perturbation the verifier rejects as its rejected answer, one in
# ten (never the same one) the refusal, and every other refusal twin the answer it must not give:
# as many pairs push towards answering as towards refusing.
PERTURB_EVERY = 4
REFUSED_EVERY = 10
DEMO_SET = eval_sets.DATA_DIR / "demo_questions"

# The evaluation sets whose dev questions share ids with each seed's (see the module docstring).
FAMILIES = {
    "pubmedqa": ("pubmedqa", "pubmedqa_zh"),
    "doc2dial": ("doc2dial", "doc2dial_zh"),
    "policyqa": ("policyqa", "policyqa_zh"),
    "stard": ("stard", "stard_en", "stard_cn_law"),
    "cn_law": ("cn_law",),
    "demo": (str(DEMO_SET),),
}


@cache
def _dev_ids(name: str) -> tuple[str, ...]:
    return tuple(q.id for q in eval_sets.load(name, "dev").questions)


def gate_questions(name: str, holdout: int) -> frozenset[str]:
    """The dev questions of evaluation set ``name`` the promotion gate may grade."""
    ids = list(_dev_ids(name))
    k = min(holdout, len(ids) // 2)
    return frozenset(spread(ids, k)) if k else frozenset()


@cache
def held_out(family: str, holdout: int) -> frozenset[str]:
    return frozenset().union(*(gate_questions(name, holdout) for name in FAMILIES[family]))


@dataclass(frozen=True)
class SeedRun:
    """One build of one seed: how many questions, how many gate questions are held out, and (for
    the cross-lingual seed) the question to ask instead of the set's own, by id."""

    limit: int
    holdout: int
    ask: dict[str, str] | None = None

    def asked(self, qid: str, own: str, held: frozenset[str]) -> str | None:
        """The question to ask for ``qid``; None to skip it (held out, or not translated)."""
        if qid in held:
            return None
        return own if self.ask is None else self.ask.get(qid)


@dataclass(frozen=True)
class Seeded:
    """A seed example and what its refusal twin and DPO rejection need."""

    example: Example
    pool: NearTopic  # the set's passages that near-topic ones are drawn from
    probe: str  # the question in the passages' language (ranks near-topic passages)
    gold_docs: tuple[str, ...] = ()  # never near-topic: they answer
    avoid: tuple[str, ...] = field(default=())  # texts a near-topic passage must not hold
    # False where the set's other passages may well answer too (PolicyQA), so no refusal twin.
    refusable: bool = True


def _answer(
    *,
    id: str,
    source: str,
    language: str,
    question: str,
    probe: str,
    gold: list[tuple[str, str, str, list[str]]],  # (doc id, title, passage, quotes)
    pool: NearTopic,
    meta: dict,
    avoid: Iterable[str] = (),
    also_gold: Iterable[str] = (),  # documents that answer too, though not quoted
) -> Seeded | None:
    """The gold passages with 0..(room) near-topic distractors; None when nothing quotes."""
    gold = [g for g in gold if g[3]][:PASSAGES_PER_PROMPT]
    if not gold:
        return None
    gold_docs = tuple(dict.fromkeys([*(g[0] for g in gold), *also_gold]))
    avoid = tuple(avoid) + tuple(q for g in gold for q in g[3])
    room = PASSAGES_PER_PROMPT - len(gold)
    count = _stable_key(f"distractors:{id}") % (room + 1)
    distractors = pool.nearest(probe, k=count, exclude=gold_docs, avoid=avoid) if count else []
    example = assemble(
        id=id,
        source=source,
        language=language,
        question=question,
        gold=[(title, text, quotes) for _doc, title, text, quotes in gold],
        distractors=distractors,
        meta=meta,
    )
    if not example.chosen:  # no quote stood verbatim in its passage: nothing to learn
        return None
    return Seeded(example, pool, probe, gold_docs, avoid)


def _refusal(
    *, id: str, source: str, question: str, probe: str, pool: NearTopic, meta: dict,
    exclude: Iterable[str] = (), avoid: Iterable[str] = (),
) -> Seeded | None:  # fmt: skip
    """The question over its 1-3 nearest passages (none of them gold)."""
    count = 1 + _stable_key(f"refuse:{id}") % PASSAGES_PER_PROMPT
    passages = pool.nearest(probe, k=count, exclude=exclude, avoid=avoid)
    if not passages:
        return None
    language = language_of(passages[0][1])
    example = refusal(
        id=id, source=source, language=language, question=question, passages=passages, meta=meta
    )
    return Seeded(example, pool, probe, tuple(exclude), tuple(avoid))


def _chunks(name: str, text: str) -> list[str]:
    """The document cut as ingestion cuts it (the passages retrieval would return)."""
    parsed = parse_bytes(text.encode("utf-8"), filename=name)
    return [
        chunk.text
        for chunk in chunk_document(
            parsed,
            max_chars=settings.INGEST_CHUNK_MAX_CHARS,
            overlap_chars=settings.INGEST_CHUNK_OVERLAP_CHARS,
        )
    ]


def _stating(quotes: list[str]) -> list[str]:
    """Quotes that state something: a study's objective ("to determine whether ...") asks."""
    return [q for q in quotes if not textkit.qualifiers_of(q).asks]


# --- The registry -----------------------------------------------------------------------------

Builder = Callable[[SeedRun], Iterator[Seeded]]
SEEDS: dict[str, Builder] = {}


def seed(name: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        SEEDS[name] = fn
        return fn

    return register


@cache
def _pubmedqa() -> tuple[dict, frozenset[str]]:
    root = eval_sets.DATASETS_DIR / "pubmedqa_pqal"
    data = json.loads((root / "ori_pqal.json").read_text(encoding="utf-8"))
    test_ids = json.loads((root / "test_ground_truth.json").read_text(encoding="utf-8"))
    return data, frozenset(test_ids)  # the test file is read for its ids only, to leave them out


@cache
def _pubmedqa_pool(held: frozenset[str]) -> NearTopic:
    data, test_ids = _pubmedqa()
    return NearTopic(
        (pmid, f"PubMed {pmid} {label.title()}", text)
        for pmid, item in data.items()
        if pmid not in test_ids and pmid not in held
        for label, text in zip(item["LABELS"], item["CONTEXTS"], strict=True)
    )


@seed("pubmedqa")
def seed_pubmedqa(run: SeedRun) -> Iterator[Seeded]:
    """PubMedQA dev: each conclusion sentence cited to the abstract sentence that best states it."""
    data, test_ids = _pubmedqa()
    held = held_out("pubmedqa", run.holdout)
    dev = [pmid for pmid in data if pmid not in test_ids]
    _assert_not_test("pubmedqa", set(dev), set(test_ids))
    pool = _pubmedqa_pool(held)
    for pmid in dev:
        item = data[pmid]
        question = run.asked(pmid, item["QUESTION"], held)
        if question is None:
            continue
        contexts = list(zip(item["LABELS"], item["CONTEXTS"], strict=True))
        gold: list[tuple[str, str, str, list[str]]] = []
        for conclusion in _sentences(item["LONG_ANSWER"])[:2]:
            units = lexical_units(conclusion)
            ranked = sorted(
                ((best_sentences(conclusion, text), label, text) for label, text in contexts),
                key=lambda r: coverage(lexical_units(r[0][0]), units) if r[0] else 0.0,
                reverse=True,
            )
            quotes, label, text = ranked[0]
            quotes = _stating(quotes)
            if quotes and not any(text == g[2] for g in gold):
                gold.append((pmid, f"PubMed {pmid} {label.title()}", text, quotes))
        made = _answer(
            id=f"pubmedqa:{pmid}", source="seed:pubmedqa", language="en", question=question,
            probe=item["QUESTION"], gold=gold, pool=pool,
            meta={"split": "dev", "qid": pmid, "pmid": pmid},
        )  # fmt: skip
        if made:
            yield made


def _doc2dial_window(context: str, span: str, *, max_chars: int = 400) -> str:
    """A passage-sized piece of the page that holds the whole span, starting on a line or
    sentence boundary when one is near (as a chunk of the ingested page would)."""
    at = context.find(span)
    lead = max(0, (max_chars - len(span)) // 2)
    start = max(0, at - lead)
    if start:
        cut = max(context.rfind("\n", start, at), context.rfind(". ", start, at))
        start = cut + 1 if cut >= 0 else start
    end = max(at + len(span), start + max_chars)
    return context[start:end].strip()


@cache
def _doc2dial() -> tuple[dict, NearTopic]:
    root = eval_sets.DATASETS_DIR / "doc2dial_rc_val"
    docs = {
        row["title"]: row
        for row in eval_sets._jsonl(root / "documents.jsonl")
        if eval_sets._doc2dial_split(row["title"]) == "dev"
    }
    # A page comes in several sections ("<title>#1_0", "#3_0") that repeat its text: the page,
    # not the section, is the document that near-topic passages must not come from.
    pool = NearTopic(
        (_page(title), _page(title), chunk)
        for title in sorted(docs)
        for chunk in _chunks("page.txt", docs[title]["context"])
    )
    return docs, pool


def _page(title: str) -> str:
    return title.split("#")[0]


@seed("doc2dial")
def seed_doc2dial(run: SeedRun) -> Iterator[Seeded]:
    """doc2dial dev: the page sentences holding the gold span, cited to a passage around it."""
    docs, pool = _doc2dial()
    held = held_out("doc2dial", run.holdout)
    for q in eval_sets.doc2dial("dev").questions:
        title = q.gold_doc_ids[0]
        if eval_sets._doc2dial_split(title) != "dev":
            raise TestSplitError(f"doc2dial: {title!r} is a test document")
        question = run.asked(q.id, q.question, held)
        spans = list(q.gold_spans)
        # Fragments ("call 518 - 486 - 9786") make poor answers: keep sentence-sized spans.
        if question is None or not spans or not 30 <= len(spans[0]) <= 300:
            continue
        context = docs[title]["context"]
        if len(spans[0].split()) < 6 or spans[0] not in context:
            continue
        span = spans[0].rstrip(" ,;:")
        window = _doc2dial_window(context, span)
        quotes = span_sentences(window, [span])
        if len(quotes) > MAX_QUOTES:
            continue
        made = _answer(
            id=f"doc2dial:{q.id}", source="seed:doc2dial", language="en", question=question,
            probe=q.question, gold=[(_page(title), _page(title), window, quotes)], pool=pool,
            meta={"split": "dev", "qid": q.id, "title": title}, avoid=[span],
        )  # fmt: skip
        if made:
            yield made


@cache
def _policyqa() -> tuple[eval_sets.EvalSet, dict[str, NearTopic]]:
    eval_set = eval_sets.policyqa("dev")  # reads dev.json only
    by_policy: dict[str, list[tuple[str, str, str]]] = {}
    for doc in eval_set.corpus:
        by_policy.setdefault(doc.collection, []).append((doc.doc_id, doc.title, doc.text))
    return eval_set, {policy: NearTopic(rows) for policy, rows in by_policy.items()}


@seed("policyqa")
def seed_policyqa(run: SeedRun) -> Iterator[Seeded]:
    """PolicyQA dev: the paragraph sentences holding an annotated answer span. Distractors are
    the same policy's other paragraphs, as the product searches one policy."""
    eval_set, pools = _policyqa()
    paragraphs = {doc.doc_id: doc for doc in eval_set.corpus}
    held = held_out("policyqa", run.holdout)
    for q in eval_set.questions:
        question = run.asked(q.id, q.question, held)
        if question is None:
            continue
        gold = []
        for doc_id in q.gold_doc_ids:
            quotes = span_sentences(paragraphs[doc_id].text, q.gold_answers)
            if quotes and len(quotes) <= 2 and all(len(s) <= 400 for s in quotes):
                gold.append((doc_id, doc_id.split("#")[0], paragraphs[doc_id].text, quotes))
                break  # one paragraph that says it is an answer; its siblings may say it too
        made = _answer(
            id=f"policyqa:{q.id}", source="seed:policyqa", language="en", question=question,
            probe=q.question, gold=gold, pool=pools[q.collections[0]],
            meta={"split": "dev", "qid": q.id}, avoid=q.gold_answers, also_gold=q.gold_doc_ids,
        )  # fmt: skip
        if made:
            # No refusal twin: a templated question ("Do they share my location?") is answered
            # by many paragraphs of a policy, annotated or not (730 of 2,420 dev templates are
            # annotated on several), so a near-topic paragraph is no safe refusal.
            yield replace(made, refusable=False)


@cache
def _stard(held: frozenset[str]) -> tuple[list[dict], dict[str, dict], NearTopic]:
    root = eval_sets.DATASETS_DIR / "stard_lecoqa_zh"
    queries = list(eval_sets._jsonl(root / "queries.jsonl"))
    test_ids = {str(q["query_id"]) for q in queries if q.get("split") == "test"}
    dev = [q for q in queries if q.get("split") == "dev"]
    _assert_not_test("stard", {str(q["query_id"]) for q in dev}, test_ids)
    # Articles some trainable dev question cites: the gold passages, and the near-topic pool.
    wanted = {d for q in dev if str(q["query_id"]) not in held for d in q["gold_doc_ids"]}
    articles = {
        row["id"]: row
        for shard in sorted(root.glob("corpus-*.jsonl"))
        for row in eval_sets._jsonl(shard)
        if row["id"] in wanted
    }
    # The law is the document: near-topic articles come from other laws, since another article
    # of the gold law often answers too (STARD labels the articles one lawyer cited).
    pool = NearTopic(
        (articles[d]["law"], articles[d]["name"], articles[d]["content"]) for d in sorted(articles)
    )
    return dev, articles, pool


@seed("stard")
def seed_stard(run: SeedRun) -> Iterator[Seeded]:
    """STARD dev: the gold statute articles' sentences that best match LeCoQA's lawyer answer."""
    held = held_out("stard", run.holdout)
    dev, articles, pool = _stard(held)
    for q in dev:
        qid = str(q["query_id"])
        question = run.asked(qid, q["question"], held)
        if question is None:
            continue
        gold = []
        for doc_id in q["gold_doc_ids"][:2]:
            article = articles.get(doc_id)
            if article is not None:
                quotes = _stating(
                    best_sentences(q.get("answer") or q["question"], article["content"])
                )
                gold.append((article["law"], article["name"], article["content"], quotes))
        made = _answer(
            id=f"stard:{qid}", source="seed:stard", language="zh", question=question,
            probe=q["question"], gold=gold, pool=pool,
            meta={"split": "dev", "qid": qid, "query_id": q["query_id"]},
            also_gold=[articles[d]["law"] for d in q["gold_doc_ids"] if d in articles],
        )  # fmt: skip
        if made:
            yield made


@cache
def _corpus_pool(name: str) -> tuple[eval_sets.EvalSet, dict[str, list[str]], NearTopic]:
    """A written set (cn_law, demo) with its documents cut into ingestion's chunks."""
    eval_set = eval_sets.load(name, "dev")
    chunks = {d.doc_id: _chunks(d.doc_id.rsplit("/", 1)[-1], d.text) for d in eval_set.corpus}
    titles = {doc.doc_id: doc.title for doc in eval_set.corpus}
    pool = NearTopic((d, titles[d], c) for d in sorted(chunks) for c in chunks[d])
    return eval_set, chunks, pool


def _written_set(run: SeedRun, *, name: str, family: str, source: str) -> Iterator[Seeded]:
    """Questions written for the demo documents: each gold document's chunk holding the most gold
    spans, quoted where the spans are; the questions labelled ``refuse`` over their nearest
    chunks."""
    eval_set, chunks, pool = _corpus_pool(name)
    held = held_out(family, run.holdout)
    titles = {doc.doc_id: doc.title for doc in eval_set.corpus}
    languages = {doc.doc_id: doc.language for doc in eval_set.corpus}
    for q in eval_set.questions:
        question = run.asked(q.id, q.question, held)
        if question is None:
            continue
        meta = {"split": "dev", "qid": q.id}
        if q.expect == "refuse":
            made = _refusal(
                id=f"{family}:{q.id}", source=source, question=question, probe=q.question,
                pool=pool, meta=meta, avoid=q.forbidden,
            )  # fmt: skip
        else:
            gold = []
            for doc_id in q.gold_doc_ids:
                held_spans = [
                    (sum(s in chunk for s in q.gold_spans), -i, chunk)
                    for i, chunk in enumerate(chunks.get(doc_id, []))
                ]
                hits, _, chunk = max(held_spans, default=(0, 0, ""))
                quotes = span_sentences(chunk, q.gold_spans) if hits else []
                if 0 < len(quotes) <= MAX_QUOTES:
                    gold.append((doc_id, titles[doc_id], chunk, quotes))
            language = languages.get(gold[0][0], "en") if gold else "en"
            made = _answer(
                id=f"{family}:{q.id}", source=source, language=language, question=question,
                probe=q.question, gold=gold[:2], pool=pool, meta=meta, avoid=q.gold_spans,
                also_gold=q.gold_doc_ids,
            )  # fmt: skip
        if made:
            yield made


@seed("cn_law")
def seed_cn_law(run: SeedRun) -> Iterator[Seeded]:
    """The Chinese law questions (cn_law dev) over the demo documents a citizen may read."""
    yield from _written_set(run, name="cn_law", family="cn_law", source="seed:cn_law")


@seed("demo")
def seed_demo(run: SeedRun) -> Iterator[Seeded]:
    """The demo questions (all dev): English, Chinese and cross-lingual, answers and refusals."""
    yield from _written_set(run, name=str(DEMO_SET), family="demo", source="seed:demo")


@seed("crosslingual")
def seed_crosslingual(run: SeedRun) -> Iterator[Seeded]:
    """The cross-lingual dev questions: the original set's example asked in the other language.
    The passages, target and prompt stay in the sources' language, as the pipeline answers in
    the language of its sources (``answer_language``)."""
    rows = list(eval_sets._jsonl(eval_sets.CROSSLINGUAL))
    leaked = {row["id"] for row in rows if row["split"] != "dev"}
    if leaked:
        raise TestSplitError(f"crosslingual: rows outside dev: {sorted(leaked)[:3]}")
    by_origin: dict[str, dict[str, str]] = {}
    for row in rows:
        by_origin.setdefault(row["origin_set"], {})[row["origin_id"]] = row["question"]
    # The sets in turn, so that a small --per-seed still has both directions.
    streams = [SEEDS[origin](replace(run, ask=by_origin[origin])) for origin in sorted(by_origin)]
    while streams:
        for stream in list(streams):
            made = next(stream, None)
            if made is None:
                streams.remove(stream)
                continue
            example = replace(made.example, id=f"crosslingual:{made.example.id}",
                              source="seed:crosslingual")  # fmt: skip
            yield replace(made, example=example)


# --- All seeds, with refusals and preferences ---------------------------------------------------


def _rejecting(example: Example, rejection: tuple[str, dict] | None) -> Example:
    if rejection is None:
        return example
    rejected, meta = rejection
    return replace(example, rejected=rejected, meta={**example.meta, **meta})


def _twin(item: Seeded) -> Seeded | None:
    """The answerable question over near-topic passages only: it must be refused."""
    example = item.example
    return _refusal(
        id=f"{example.id}:refuse", source=example.source, question=example.question,
        probe=item.probe, pool=item.pool, meta=example.meta, exclude=item.gold_docs,
        avoid=item.avoid,
    )  # fmt: skip


def seed_examples(names: Iterable[str], *, per_seed: int, holdout: int) -> list[Example]:
    """Up to ``per_seed`` questions per seed, refusal twins and DPO rejections added."""
    out: list[Example] = []
    for name in names:
        if name not in SEEDS:
            raise ValueError(f"unknown seed {name!r}; choose from {', '.join(SEEDS)}")
        answers = 0
        for item in islice(SEEDS[name](SeedRun(limit=per_seed, holdout=holdout)), per_seed):
            example = item.example
            if example.meta.get("split") != "dev":
                raise TestSplitError(f"{name}: {example.id} is not from a dev split")
            if example.chosen == REFUSAL_TOKEN:
                probe = item.probe
                out.append(_rejecting(example, preferences.answered_anyway(example, probe=probe)))
                continue
            i, answers = answers, answers + 1
            rejection = None
            if i % PERTURB_EVERY == 0:
                rejection = preferences.perturbed(example)
            elif i % REFUSED_EVERY == REFUSED_EVERY // 2:
                rejection = preferences.refused(example)
            out.append(_rejecting(example, rejection))
            twin = _twin(item) if item.refusable and i % REFUSE_EVERY == REFUSE_EVERY - 1 else None
            if twin is not None:
                refused, rejection = twin.example, None
                if i % (2 * REFUSE_EVERY) == REFUSE_EVERY - 1:
                    rejection = preferences.answered_anyway(refused, probe=item.probe)
                out.append(_rejecting(refused, rejection))
    return out
