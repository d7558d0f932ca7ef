"""`manage.py evaluate answers`: grade the whole answer pipeline against gold labels.

Grading never trusts the pipeline's own verifier. Citations are graded against gold labels (a
citation is precise when it points at a gold document, and at a passage containing the gold span
where the dataset has spans); support is graded by ``strict_support``, a separate and stricter
judge (exact-word containment in one cited passage window, every number present, same negation),
implemented here without the verifier's code, stemming or embeddings.

Questions whose gold documents are withheld from the corpus must be refused: every fifth gold
document of a built-in dataset (by a hash of its id) is removed from the corpus the answers are
drawn from, and the questions left without any gold document must be refused; folder datasets
mark them with ``expect: refuse``. With ``--limit`` the questions are spread evenly over the set.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

from django.utils.text import slugify

from portal.evaluation.datasets import BUILT_IN, EvalQuestion, EvalSet
from portal.evaluation.metrics import percentile
from portal.evaluation.safety import rate_of
from portal.evaluation.services import corpus_ingest, evaluation_user
from portal.evaluation.usefulness import (
    Tally,
    Usefulness,
    on_target,
    question_language,
    states_reference,
    states_span,
)
from portal.knowledge.models import Chunk
from portal.qa.services import Asker, answer_run

Progress = Callable[[str, int, int], None]

JUDGE_METHOD = (
    "strict containment: a published sentence is supported only if one window of at most two "
    "consecutive sentences of a passage it cites contains >= 80% of its words (exact lower-cased "
    "words without stemming; Chinese character bigrams), every number in it, and the same "
    "negation; questions in a passage support nothing; a verbatim quote passes (its closing "
    "punctuation aside). Implemented "
    "separately from the pipeline's verifier."
)
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_NUM = re.compile(r"\d+(?:\.\d+)?")
_CLOSING = ".!?;:。！？；：，, "
_ENDS = ".!?;:。！？；："  # where a quoted sentence or clause may stop (not at a comma)
# Sentence ends only (not ";": long result sentences list figures separated by semicolons).
_SPLIT = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_NEG_EN = re.compile(r"\b(not|no|never|cannot|none|neither|nor|without)\b|n't\b")
_NEG_ZH = re.compile(r"[不没无未非禁勿]")
_STOP = frozenset(
    "a an the of to in on for and or is are was were be been by with as at it its this that "
    "these those from can may your you their they".split()
)


def _units(text: str) -> set[str]:
    lowered = text.lower()
    units = {w for w in _WORD.findall(lowered) if w not in _STOP}
    for run in _CJK_RUN.findall(text):
        units.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return units


def _negated(text: str) -> bool:
    return bool(_NEG_EN.search(text.lower()) or _NEG_ZH.search(text))


_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s+|\s+(?=[\u3000-\u9fff\uff00-\uffef])")


def _squash(text: str, *, lines: bool = False) -> str:
    """Whitespace runs as one space (line breaks kept with ``lines``); none next to Chinese
    characters or full-width marks, where a source's line break is no word boundary."""
    if lines:
        return "\n".join(_squash(line) for line in text.splitlines() if line.strip())
    return _CJK_GAP.sub("", " ".join(text.split()))


def strict_support(sentence: str, passages: list[str]) -> bool:
    units = _units(sentence)
    if not units:
        return False
    numbers = set(_NUM.findall(sentence))
    # Verbatim but for the closing mark: "……支付违约金。" quotes "……支付违约金：" (STARD dev),
    # whose passage window runs on into the list the colon opens.
    quoted = _squash(sentence).rstrip(_CLOSING)
    for passage in passages:
        if _squash(sentence) in _squash(passage):
            return True  # a verbatim quote
        if quoted and _quotes(quoted, _squash(passage, lines=True)):
            return True  # ...but for its closing mark
        parts = [p for p in _SPLIT.split(passage) if p.strip() and not p.rstrip().endswith("?")]
        windows = parts + [a + " " + b for a, b in itertools.pairwise(parts)]
        for window in windows:
            covered = len(units & _units(window)) / len(units)
            if (
                covered >= 0.8
                and numbers <= set(_NUM.findall(window))
                and _negated(sentence) == _negated(window)
            ):
                return True
    return False


def _quotes(quoted: str, passage: str) -> bool:
    """``quoted`` occurs in ``passage`` and ends where a passage sentence or clause ends (not
    "You can renew by mail" out of "You can renew by mail, not in person")."""
    start = passage.find(quoted)
    while start >= 0:
        end = start + len(quoted)
        if end == len(passage) or passage[end] == "\n" or passage[end] in _ENDS:
            return True
        start = passage.find(quoted, start + 1)
    return False


# Clean published text (issue 19 part 5), read by this layer's own patterns.
_UNCLEAN = {
    # several list items or lines quoted as one sentence
    "run_on": re.compile(r"\n|(?:^|\s)[-•*]\s.*\s[-•*]\s"),
    # a cut-off piece of a sentence: "t this checklist"
    "fragment": re.compile(r"^[a-z]"),
    # a bullet, dash or leftover punctuation in front
    "leading_mark": re.compile(r"^[\s,，.。;；:：、!！?？)）\]】\-–—•·*>]"),
    # a space lost after a sentence end or an abbreviation: "needed.They", "U.S.citizen"
    "glued": re.compile(r"[a-z]{2}[.!?][A-Z][a-z]|\b(?:[A-Z]\.){2,}[a-z]"),
}


def unclean_kinds(sentences: list[dict]) -> list[str]:
    """What is wrong with the text of an answer's published sentences (one entry per fault)."""
    kinds, seen = [], set()
    for sentence in sentences:
        for text in (sentence["text"], sentence.get("translation") or ""):
            if not text:
                continue
            kinds += [kind for kind, pattern in _UNCLEAN.items() if pattern.search(text)]
            key = " ".join(text.lower().split())
            if key in seen:
                kinds.append("duplicate")
            seen.add(key)
    return kinds


def refusal_step(outcome) -> str:
    """The pipeline step that refused: the guard's or router's reason, or for a want of support,
    whether no draft was written (the relevance gate refused the passages) or every drafted
    sentence failed verification (and no quote could stand in)."""
    reason = outcome.refusal_reason or outcome.status
    if reason != "no_support":
        return reason
    if outcome.answer.draft or outcome.answer.verification:
        return "no_support:after_generation"
    return "no_support:relevance_gate"


def _token_f1(prediction: str, gold: str) -> float:
    p, g = list(_units(prediction)), list(_units(gold))
    if not p or not g:
        return 0.0
    common = len(set(p) & set(g))
    if not common:
        return 0.0
    precision, recall = common / len(set(p)), common / len(set(g))
    return 2 * precision * recall / (precision + recall)


def _withheld(doc_id: str) -> bool:
    return int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 5 == 0


def _spread(questions: list[EvalQuestion], limit: int | None) -> list[EvalQuestion]:
    """``limit`` questions spread evenly over the set: consecutive questions of dialogue and
    policy datasets share documents, so the first N would cover only a few of them."""
    if not limit or limit >= len(questions):
        return list(questions)
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def _rank(doc_id: str) -> int:
    return int(hashlib.sha256(f"sample:{doc_id}".encode()).hexdigest(), 16)


def fresh_questions(
    questions: list[EvalQuestion], *, exclude_limits: tuple[int, ...]
) -> list[EvalQuestion]:
    """The questions no earlier ``--limit N`` run looked at: those outside ``_spread(N)`` for
    every N given, so a re-measurement runs on a sample nobody has read answers for."""
    seen = {q.id for n in exclude_limits for q in _spread(questions, n)}
    return [q for q in questions if q.id not in seen]


def answer_set(
    eval_set: EvalSet,
    *,
    limit: int | None,
    corpus_sample: int | None = None,
    exclude_limits: tuple[int, ...] = (),
    withhold: bool = False,
) -> tuple[EvalSet, list[EvalQuestion]]:
    """The corpus and questions for an answers evaluation: folder sets as given; built-in sets
    with every fifth gold document (by a hash of its id) removed from the corpus, and the
    questions left without any gold document marked expect=refuse. ``withhold``: a folder set
    too (fitting the relevance gate needs near-topic questions whose source is missing, and a
    written set labels only a few).

    ``corpus_sample``: keep the chosen questions' gold documents and only this many others
    (picked by a hash of their id), for a corpus too large to ingest in one sitting (STARD's
    58k articles). Search is then easier than over the whole corpus; the report says so."""
    pool = fresh_questions(eval_set.questions, exclude_limits=exclude_limits)
    questions = _spread(pool, limit)
    if corpus_sample is not None:
        gold = {d for q in questions for d in q.gold_doc_ids}
        others = sorted((d for d in eval_set.corpus if d.doc_id not in gold), key=_rank)
        keep = gold | {d.doc_id for d in others[:corpus_sample]}
        eval_set = replace(eval_set, corpus=[d for d in eval_set.corpus if d.doc_id in keep])
    if not withhold and (eval_set.name not in BUILT_IN or eval_set.labelled_refusals):
        return eval_set, questions  # the set says itself which questions expect a refusal
    withheld_docs = {d for q in questions for d in q.gold_doc_ids if _withheld(d)}
    # Unanswerable only when every gold document is gone: a question another gold passage still
    # answers (PolicyQA annotates one question on several paragraphs) must be answered from it.
    marked = [
        replace(q, expect="refuse")
        if q.gold_doc_ids and set(q.gold_doc_ids) <= withheld_docs
        else q
        for q in questions
    ]
    corpus = [d for d in eval_set.corpus if d.doc_id not in withheld_docs]
    # The collection is named after the withheld set: a collection ingested for another set
    # would still hold documents that must be missing now (ingestion only ever adds).
    named = sorted(withheld_docs)
    if corpus_sample is not None:
        named += [f"sample:{d.doc_id}" for d in corpus]
    key = hashlib.sha256("\n".join(named).encode()).hexdigest()[:8]
    return replace(eval_set, name=f"{eval_set.name}-answers-{key}", corpus=corpus), marked


def _gold_citation(question: EvalQuestion, citation: dict) -> bool:
    if citation["document"] not in question.gold_doc_ids:
        return False
    if not question.gold_spans:
        return True
    quote = " ".join(citation["quote"].split()).lower()
    return any(" ".join(span.split()).lower() in quote for span in question.gold_spans)


def _cites_gold_section(question: EvalQuestion, citations: dict) -> bool:
    """A citation names a gold section: its document is the gold one and its section path holds
    the gold heading (a law's article: the citation reads "... 第十条")."""
    gold = set(question.gold_sections)
    return any(
        (citation["document"], heading) in gold
        for citation in citations.values()
        for heading in citation.get("section") or ()
    )


def _pubmed_label(outcome) -> str:
    if outcome.status != "answered" or not outcome.sentences:
        return "maybe"
    return "no" if _negated(outcome.sentences[0]["text"]) else "yes"


def answers_evaluate(
    *,
    eval_set: EvalSet,
    limit: int | None = None,
    corpus_sample: int | None = None,
    exclude_limits: tuple[int, ...] = (),
    progress: Progress | None = None,
) -> dict:
    corpus_set, questions = answer_set(
        eval_set, limit=limit, corpus_sample=corpus_sample, exclude_limits=exclude_limits
    )
    slugs = corpus_ingest(eval_set=corpus_set, progress=progress)
    user = evaluation_user()
    cited = gold_cited = 0
    recall_hits = recall_total = 0
    section_hits = section_total = 0
    published = published_cited = published_unsupported = 0
    drafted = drafted_unsupported = drafted_cited = 0
    refused = {"answer": [0, 0], "refuse": [0, 0]}  # expect -> [refused, total]
    forbidden_hits = forbidden_total = 0
    correct = labelled = 0
    f1s: list[float] = []
    latencies: list[float] = []
    first_sentence: list[float] = []
    by_reason: dict[str, int] = {}
    by_step: dict[str, int] = {}
    rejected_by: dict[str, int] = {}
    backends: dict[str, int] = {}  # which backend wrote the answers (a failed model load shows)
    usefulness = Usefulness()
    unclean: dict[str, int] = {}
    for n, question in enumerate(questions, start=1):
        collections = [slugs[c] for c in question.collections if c in slugs] or list(slugs.values())
        started = time.perf_counter()
        outcome = answer_run(
            question=question.question,
            collections=collections,
            asker=Asker(user=user, via="evaluation"),
        )
        latencies.append((time.perf_counter() - started) * 1000)
        if "first_sentence" in outcome.answer.timings:
            first_sentence.append(outcome.answer.timings["first_sentence"] * 1000)
        if outcome.answer.backend:
            key = f"{outcome.answer.backend}:{outcome.answer.model_id}"
            backends[key] = backends.get(key, 0) + 1
        is_refused = outcome.status != "answered"
        refused[question.expect][0] += is_refused
        refused[question.expect][1] += 1
        if is_refused:
            reason = outcome.refusal_reason or outcome.status
            by_reason[reason] = by_reason.get(reason, 0) + 1
            if question.expect == "answer":
                step = refusal_step(outcome)
                by_step[step] = by_step.get(step, 0) + 1
        for check in outcome.answer.verification:
            if not check.get("fallback") and not check["supported"]:
                for finding in check.get("findings") or [{"code": "unscored"}]:
                    code = finding.get("code", "unknown")
                    rejected_by[code] = rejected_by.get(code, 0) + 1
        quotes = {label: c["quote"] for label, c in outcome.citations.items()}
        # Support of what the model drafted, before verification removed anything.
        given = {r["label"] for r in outcome.answer.retrieved}
        for check in outcome.answer.verification:
            if check.get("fallback"):
                continue  # quotes that replaced the draft are not the model's writing
            drafted += 1
            # What the model wrote, before the verifier moved a citation to the passage that
            # supports the sentence (verify_or_recite).
            labels = check.get("drafted_labels") or check["labels"]
            # Format adherence of what the model wrote: cites, and only passages it was given.
            drafted_cited += bool(labels) and set(labels) <= given
            drafted_unsupported += not strict_support(check["text"], _retrieved(outcome, labels))
        all_supported = True
        for sentence in outcome.sentences:
            published += 1
            published_cited += bool(sentence["citations"])
            texts = [quotes[lbl] for lbl in sentence["citations"] if lbl in quotes]
            supported = strict_support(sentence["text"], texts)
            published_unsupported += not supported
            all_supported &= supported
            for label in sentence["citations"]:
                cited += 1
                gold_cited += _gold_citation(question, outcome.citations[label])
        if question.expect == "answer" and question.gold_doc_ids:
            recall_total += 1
            recall_hits += any(_gold_citation(question, c) for c in outcome.citations.values())
        if question.expect == "answer" and question.gold_sections:
            section_total += 1
            section_hits += _cites_gold_section(question, outcome.citations)
        if question.forbidden:
            forbidden_total += 1
            text = outcome.answer.published_text.lower()
            forbidden_hits += any(f.lower() in text for f in question.forbidden)
        if eval_set.name.startswith("pubmedqa") and question.answer and question.expect == "answer":
            labelled += 1
            correct += _pubmed_label(outcome) == question.answer.lower()
        # Free-text gold answers (a doc2dial span, a CMB-Clin expert answer): token F1.
        if eval_set.name.startswith(("doc2dial", "cmb_clin")) and question.expect == "answer":
            gold = question.answer or (question.gold_spans[0] if question.gold_spans else "")
            f1s.append(_token_f1(outcome.answer.published_text if not is_refused else "", gold))
        _usefulness_add(usefulness, eval_set.name, question, outcome, all_supported)
        for kind in unclean_kinds(outcome.sentences):
            unclean[kind] = unclean.get(kind, 0) + 1
        if progress and n % 5 == 0:
            progress("answers", n, len(questions))

    def rate(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    useful_overall, useful_by_language = usefulness.report()
    answerable = refused["answer"][1]
    # k of n with Wilson 95% intervals, for sets small enough that the interval matters.
    intervals = {
        "answered_expect_answer": rate_of(answerable - refused["answer"][0], answerable),
        "useful_answer": rate_of(
            usefulness.by_language.get("all", Tally()).useful, useful_overall["answerable"]
        ),
        "section_cited": rate_of(section_hits, section_total),
        "refused_expect_refuse": rate_of(*refused["refuse"]),
    }

    return {
        "dataset": eval_set.name,
        "split": eval_set.split,
        "n_questions": len(questions),
        "n_expect_refuse": refused["refuse"][1],
        "corpus_documents": len(corpus_set.corpus),
        "corpus_sample": corpus_sample,
        "sample": {"exclude_limits": list(exclude_limits), "limit": limit},
        "metrics": {
            "citation_precision": rate(gold_cited, cited),
            "citation_recall": rate(recall_hits, recall_total),
            "section_cited_rate": rate(section_hits, section_total),
            "cited_sentence_fraction": rate(published_cited, published),
            "draft_cited_fraction": rate(drafted_cited, drafted),
            "unsupported_before_verification": rate(drafted_unsupported, drafted),
            "unsupported_published": rate(published_unsupported, published),
            "refusal_rate_expect_refuse": rate(*refused["refuse"]),
            "refusal_rate_expect_answer": rate(*refused["answer"]),
            "forbidden_hit_rate": rate(forbidden_hits, forbidden_total),
            "accuracy": rate(correct, labelled),
            "token_f1": round(statistics.fmean(f1s), 4) if f1s else None,
            "latency_ms_p50": round(percentile(latencies, 50), 1) if latencies else None,
            "latency_ms_p95": round(percentile(latencies, 95), 1) if latencies else None,
            "first_sentence_ms_p50": (
                round(percentile(first_sentence, 50), 1) if first_sentence else None
            ),
            "useful_answer_rate": useful_overall["useful_answer_rate"],
            "wrong_answer_rate": useful_overall["wrong_answer_rate"],
            "off_target_rate": useful_overall["off_target_rate"],
            "unclean_published": rate(sum(unclean.values()), published),
        },
        "by_language": useful_by_language,
        "intervals": intervals,
        "counts": {
            "published_sentences": published,
            "drafted_sentences": drafted,
            "citations": cited,
            "refusals_by_reason": by_reason,
            # Where the answerable questions were lost, and why drafted sentences were cut.
            "answerable_refused_by_step": by_step,
            "rejected_sentences_by_finding": rejected_by,
            "unclean_by_kind": unclean,
        },
        "backends": backends,
        "judge": JUDGE_METHOD,
        "corpus_collection": slugify(next(iter(slugs.values()), "")),
    }


def _usefulness_add(
    usefulness: Usefulness, dataset: str, question: EvalQuestion, outcome, all_supported: bool
) -> None:
    """Grade one answer for usefulness (portal/evaluation/usefulness.py has the definitions)."""
    answered = outcome.status == "answered"
    text = outcome.answer.published_text if answered else ""
    reference = question.reference
    if dataset.startswith("pubmedqa") and question.answer:
        states = answered and _pubmed_label(outcome) == question.answer.lower()
        gold_texts = [reference] if reference else []
        gradable = True
    elif question.gold_spans or question.gold_answers:
        spans = question.gold_spans or question.gold_answers
        states = states_span(spans, text, _units)
        gold_texts, gradable = list(spans), True
    elif question.answer:
        states = states_reference(question.answer, text, _units)
        gold_texts, gradable = [question.answer], True
    else:
        states, gold_texts, gradable = False, [], False
    gradable = gradable and question.expect == "answer"
    on_target_flags = (
        [
            on_target(s["text"], question=question.question, gold_texts=gold_texts, units=_units)
            for s in outcome.sentences
        ]
        if answered and gold_texts
        else []
    )
    usefulness.add(
        language=question_language(question.question),
        gradable=gradable,
        answered=answered,
        all_supported=all_supported,
        states=bool(states),
        sentences_on_target=on_target_flags,
    )


def _retrieved(outcome, labels: list[str]) -> list[str]:
    """Texts of the passages a drafted sentence cited (all prompted passages, not only the ones
    the published answer kept), read from the chunks the answer recorded."""
    by_label = {r["label"]: r["chunk_id"] for r in outcome.answer.retrieved}
    ids = [by_label[lbl] for lbl in labels if lbl in by_label]
    return list(Chunk.objects.filter(pk__in=ids).values_list("text", flat=True))


def answers_table(report: dict) -> str:
    lines = [
        f"answers: {report['dataset']} / {report['split']}: {report['n_questions']} questions "
        f"({report['n_expect_refuse']} expect a refusal)"
    ]
    if report.get("corpus_sample") is not None:
        lines.append(
            f"  corpus: {report['corpus_documents']} documents (gold + a sample of "
            f"{report['corpus_sample']}): search is easier than over the whole corpus"
        )
    for key, value in report["metrics"].items():
        lines.append(f"  {key:<34} {'n/a' if value is None else value}")
    for language, rates in sorted(report.get("by_language", {}).items()):
        shown = ", ".join(f"{k} {'n/a' if v is None else v}" for k, v in rates.items())
        lines.append(f"  [{language}] {shown}")
    for name, value in report.get("intervals", {}).items():
        if value["n"]:
            low, high = value["ci95"]
            lines.append(f"  {name:<34} {value['k']}/{value['n']} [{low}, {high}]")
    for name in ("answerable_refused_by_step", "rejected_sentences_by_finding"):
        counts = report.get("counts", {}).get(name)
        if counts:
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
            lines.append(f"  {name:<34} {shown}")
    lines.append(f"  judge: {report['judge']}")
    return "\n".join(lines)
