"""Evaluation sets: the built-in ones read from ../shared/datasets, and a folder format.

Folder format (anyone can bring their own):
- ``corpus.jsonl``: ``doc_id``, ``title``, ``text``, optional ``collection``, ``language``;
- ``questions.jsonl``: ``id``, ``question``, optional ``gold_doc_ids``, ``gold_spans``, ``answer``,
  ``expect`` (answer | refuse), ``forbidden`` (strings an answer must never contain), ``role``,
  ``collections`` (restrict retrieval to these corpus collections).
Each built-in set uses the dev/test split its SOURCE.md names. The cross-lingual sets
(``doc2dial_zh``, ``policyqa_zh``, ``pubmedqa_zh``, ``stard_en``) ask dev questions of a built-in
set in the other language: data/crosslingual/SOURCE.md. ``cn_law`` (citizens' questions on the
demo's twelve Chinese laws, data/cn_law_questions/SOURCE.md) and ``stard_cn_law`` (STARD dev
questions whose gold articles are in those laws) search the demo knowledge a citizen may read.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from django.conf import settings
from django.utils.text import slugify

# The public evaluation data lives beside the checkout (../shared/datasets); a checkout elsewhere
# points SHARED_DATASETS_DIR at it.
DATASETS_DIR = Path(
    os.environ.get("SHARED_DATASETS_DIR") or Path(settings.BASE_DIR).parent / "shared" / "datasets"
)


@dataclass(frozen=True)
class CorpusDoc:
    doc_id: str
    title: str
    text: str
    collection: str = ""
    language: str = ""


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    gold_doc_ids: tuple[str, ...] = ()
    gold_spans: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    answer: str = ""
    expect: str = "answer"
    forbidden: tuple[str, ...] = ()
    role: str = "citizen"
    # What a useful answer states, where it should not narrow citation grading: PolicyQA's
    # annotated answer spans (the gold paragraph is the citation target), and PubMedQA's
    # conclusion (off-target grading; the yes/no label is ``answer``).
    gold_answers: tuple[str, ...] = ()
    reference: str = ""
    # (gold document id, section heading): the part of the document that answers, where the
    # document is sectioned finely enough for a citation to name it (a law's article, 第十条).
    gold_sections: tuple[tuple[str, str], ...] = ()


@dataclass
class EvalSet:
    name: str
    split: str
    corpus: list[CorpusDoc]
    questions: list[EvalQuestion] = field(default_factory=list)
    # True when dev and test search the same corpus (STARD: one body of law, questions split),
    # so both splits share one ingested collection instead of embedding 58k articles twice.
    shared_corpus: bool = False
    # True when the questions say themselves which expect a refusal (as folder sets do), so the
    # answers evaluation withholds no gold document (cn_law: withholding one of twelve laws
    # would make a tenth of the written questions unanswerable by accident, not by design).
    labelled_refusals: bool = False


def _jsonl(path: Path):
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def pubmedqa(split: str) -> EvalSet:
    root = DATASETS_DIR / "pubmedqa_pqal"
    data = json.loads((root / "ori_pqal.json").read_text(encoding="utf-8"))
    test_ids = set(json.loads((root / "test_ground_truth.json").read_text(encoding="utf-8")))
    ids = [pmid for pmid in data if (pmid in test_ids) == (split == "test")]
    corpus, questions = [], []
    for pmid in ids:
        item = data[pmid]
        sections = "\n\n".join(
            f"## {label.title()}\n\n{text}"
            for label, text in zip(item["LABELS"], item["CONTEXTS"], strict=True)
        )
        corpus.append(CorpusDoc(pmid, f"PubMed {pmid}", sections, language="en"))
        questions.append(
            EvalQuestion(
                pmid,
                item["QUESTION"],
                gold_doc_ids=(pmid,),
                answer=item["final_decision"],
                reference=item.get("LONG_ANSWER", ""),
            )
        )
    return EvalSet("pubmedqa", split, corpus, questions)


def _doc2dial_split(title: str) -> str:
    return "dev" if hashlib.sha1(title.encode()).hexdigest()[0] in "01234567" else "test"  # noqa: S324


def doc2dial(split: str, *, history: bool = True) -> EvalSet:
    root = DATASETS_DIR / "doc2dial_rc_val"
    corpus = [
        CorpusDoc(row["title"], row["title"].split("#")[0], row["context"], language="en")
        for row in _jsonl(root / "documents.jsonl")
        if _doc2dial_split(row["title"]) == split
    ]
    wanted = {doc.doc_id for doc in corpus}
    questions = []
    for row in _jsonl(root / "questions.jsonl"):
        if row["title"] not in wanted:
            continue
        turns = row["question_with_history"].split("\t")
        # The newest turn comes first; with history, add the previous turn for context.
        parts = turns[:3] if history else turns[:1]
        text = " ".join(t.split(":", 1)[-1].strip() for t in parts)
        spans = tuple(s.strip() for s in row["answers"]["text"] if s.strip())
        questions.append(
            EvalQuestion(row["id"], text, gold_doc_ids=(row["title"],), gold_spans=spans)
        )
    return EvalSet("doc2dial", split, corpus, questions)


def policyqa(split: str) -> EvalSet:
    name = "test.json" if split == "test" else "dev.json"
    data = json.loads((DATASETS_DIR / "policyqa" / name).read_text(encoding="utf-8"))["data"]
    corpus, questions = [], []
    for policy in data:
        collection = slugify(policy["title"])
        # The same templated question is annotated on several paragraphs of one policy (730 of
        # 2,420 distinct questions in dev): each of them answers it, so all are gold, and the
        # question is asked once, under its first annotation's id.
        asked: dict[str, tuple[str, str, list[str]]] = {}  # normalized text -> id, text, gold
        spans: dict[str, list[str]] = {}  # normalized text -> the annotated answer spans
        for i, paragraph in enumerate(policy["paragraphs"]):
            doc_id = f"{policy['title']}#{i}"
            corpus.append(CorpusDoc(doc_id, doc_id, paragraph["context"], collection, "en"))
            for qa in paragraph["qas"]:
                key = " ".join(qa["question"].lower().split())
                gold = asked.setdefault(key, (qa["id"], qa["question"].strip(), []))[2]
                if doc_id not in gold:
                    gold.append(doc_id)
                for answer in qa.get("answers", []):
                    text = (answer.get("text") or "").strip()
                    if text and text not in spans.setdefault(key, []):
                        spans[key].append(text)
        # Templated questions match many paragraphs of any policy: search the question's own
        # policy, as the dataset's SOURCE.md recommends.
        questions.extend(
            EvalQuestion(
                qid,
                text,
                gold_doc_ids=tuple(gold),
                collections=(collection,),
                gold_answers=tuple(spans.get(key, ())),
            )
            for key, (qid, text, gold) in asked.items()
        )
    return EvalSet("policyqa", split, corpus, questions)


def stard(split: str) -> EvalSet:
    root = DATASETS_DIR / "stard_lecoqa_zh"
    corpus = [
        CorpusDoc(row["id"], row["name"], f"{row['name']}\n\n{row['content']}", language="zh")
        for shard in sorted(root.glob("corpus-*.jsonl"))
        for row in _jsonl(shard)
    ]
    questions = [
        EvalQuestion(
            str(row["query_id"]),
            row["question"],
            gold_doc_ids=tuple(row["gold_doc_ids"]),
            answer=row.get("answer") or "",
        )
        for row in _jsonl(root / "queries.jsonl")
        if row.get("split") == split
    ]
    return EvalSet("stard", split, corpus, questions, shared_corpus=True)


def cmb_clin(split: str) -> EvalSet:
    """CMB-Clin: 74 Chinese clinical cases and their 208 questions, graded on whether what is
    published is supported by the case (SOURCE.md: the case is the only grounding).

    Each case is a document in its own collection, and its questions search that collection, as
    PolicyQA's do their policy: "简述该病人的治疗原则" names no case. The question is prefixed with
    the case's disease, as staff name a record ("腹外疝病例：..."), so that when the case is
    withheld, retrieval over the other cases has something to look for and must come back empty.
    The set is small and has no split: it is held out, test only.
    """
    if split != "test":
        raise ValueError("CMB-Clin is held out and has a test split only (see its SOURCE.md)")
    cases = json.loads((DATASETS_DIR / "cmb_clin_zh" / "CMB-test-qa.json").read_text("utf-8"))
    corpus, questions = [], []
    for case in cases:
        doc_id = f"cmb-clin-{case['id']}"
        disease = case["title"].removeprefix("案例分析-").strip()
        corpus.append(CorpusDoc(doc_id, disease, case["description"], doc_id, "zh"))
        for n, qa in enumerate(case["QA_pairs"]):
            questions.append(
                EvalQuestion(
                    f"{doc_id}-{n}",
                    f"{disease}病例：{qa['question'].strip()}",
                    gold_doc_ids=(doc_id,),
                    collections=(doc_id,),
                    answer=qa["answer"],
                )
            )
    return EvalSet("cmb_clin", split, corpus, questions)


CROSSLINGUAL = Path(__file__).resolve().parent / "data" / "crosslingual" / "questions.jsonl"


def crosslingual(origin: str, language: str, split: str) -> EvalSet:
    """The built-in set ``origin`` with its questions asked in ``language``: the translated dev
    questions of data/crosslingual/questions.jsonl replace the original text (same id, gold
    documents, spans, answer and collections); the set keeps only those questions.

    The corpus stays the original one, so retrieval has to cross languages. doc2dial's
    translations are of the loader's default question text (with the previous turns)."""
    name = f"{origin}_{language}"
    if split != "dev":
        raise ValueError(
            f"{name} has dev questions only: no test translations exist yet "
            "(portal/evaluation/data/crosslingual/SOURCE.md)"
        )
    translated = {
        row["origin_id"]: row["question"]
        for row in _jsonl(CROSSLINGUAL)
        if row["origin_set"] == origin and row["language"] == language and row["split"] == split
    }
    original = BUILT_IN[origin](split)
    questions = [
        replace(q, question=translated[q.id]) for q in original.questions if q.id in translated
    ]
    missing = translated.keys() - {q.id for q in questions}
    if missing:
        raise ValueError(
            f"{name}: {len(missing)} translated questions are not in {origin} {split} "
            f"(e.g. {sorted(missing)[0]!r}); the shared dataset has changed"
        )
    return replace(original, name=name, questions=questions)


def folder(path: Path, split: str) -> EvalSet:
    corpus = [
        CorpusDoc(
            str(row["doc_id"]),
            row.get("title") or str(row["doc_id"]),
            row["text"],
            row.get("collection", ""),
            row.get("language", ""),
        )
        for row in _jsonl(path / "corpus.jsonl")
    ]
    questions = [
        EvalQuestion(
            str(row["id"]),
            row["question"],
            gold_doc_ids=tuple(map(str, row.get("gold_doc_ids", []))),
            gold_spans=tuple(row.get("gold_spans", [])),
            collections=tuple(row.get("collections", [])),
            answer=row.get("answer", ""),
            expect=row.get("expect", "answer"),
            forbidden=tuple(row.get("forbidden", [])),
            role=row.get("role", "citizen"),
            gold_sections=_gold_sections(row),
        )
        for row in _jsonl(path / "questions.jsonl")
    ]
    return EvalSet(path.name, split, corpus, questions)


def _gold_sections(row: dict) -> tuple[tuple[str, str], ...]:
    return tuple((str(g["doc_id"]), g["section"]) for g in row.get("gold_sections", []))


DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_KNOWLEDGE = Path(settings.BASE_DIR) / "demo" / "knowledge"
CN_LAW_QUESTIONS = DATA_DIR / "cn_law_questions" / "questions.jsonl"


def demo_citizen_corpus() -> list[CorpusDoc]:
    """The demo documents a citizen may read (manifest audience "public"), as the demo question
    set's corpus.jsonl copies them: what `load_demo` puts in the collections a citizen asks
    about, the staff-only clinical cases left out."""
    manifest = json.loads((DEMO_KNOWLEDGE / "manifest.json").read_text(encoding="utf-8"))
    public = {e["path"] for e in manifest if e.get("audience") == "public"}
    return [
        CorpusDoc(str(row["doc_id"]), row["title"], row["text"], row["collection"], row["language"])
        for row in _jsonl(DATA_DIR / "demo_questions" / "corpus.jsonl")
        if row["doc_id"] in public
    ]


def cn_law(split: str) -> EvalSet:
    """Citizens' questions on the demo's twelve Chinese laws, each labelled with its gold
    article(s), plus questions those laws do not answer (expect a refusal); split by a hash of
    the question (data/cn_law_questions/SOURCE.md). Searched over every public demo document."""
    questions = [
        EvalQuestion(
            row["id"],
            row["question"],
            gold_doc_ids=tuple(row["gold_doc_ids"]),
            gold_spans=tuple(row["gold_spans"]),
            answer=row["answer"],
            expect=row["expect"],
            role=row["role"],
            gold_sections=_gold_sections(row),
        )
        for row in _jsonl(CN_LAW_QUESTIONS)
        if row["split"] == split
    ]
    corpus = demo_citizen_corpus()
    return EvalSet("cn_law", split, corpus, questions, shared_corpus=True, labelled_refusals=True)


def stard_cn_law(split: str) -> EvalSet:
    """STARD dev questions with at least one gold article in the demo's Chinese laws, asked of
    the demo knowledge; their gold is those articles (documents and 第N条 sections of the demo
    files). Only dev rows are read: STARD's test split is report-only (its SOURCE.md).

    No dev question has *all* its gold articles in the twelve laws (they also cite 民法典,
    劳动法, 保险法 ...), so these questions are only partly answerable from the demo."""
    if split != "dev":
        raise ValueError("stard_cn_law is drawn from STARD's dev split only")
    manifest = json.loads((DEMO_KNOWLEDGE / "manifest.json").read_text(encoding="utf-8"))
    # The corpus names a law as the manifest's origin_id does (demo/build_cn_law.py).
    demo_path = {e["origin_id"]: e["path"] for e in manifest if e["collection"] == "cn-law"}
    root = DATASETS_DIR / "stard_lecoqa_zh"
    article: dict[str, tuple[str, str]] = {}  # STARD doc id -> (demo path, 第N条)
    for shard in sorted(root.glob("corpus-*.jsonl")):
        for row in _jsonl(shard):
            if row["law"] in demo_path:
                article[row["id"]] = (demo_path[row["law"]], row["article"])
    questions = []
    for row in _jsonl(root / "queries.jsonl"):
        if row.get("split") != "dev":
            continue  # never keep a test row
        gold = [article[d] for d in row["gold_doc_ids"] if d in article]
        if not gold:
            continue
        questions.append(
            EvalQuestion(
                str(row["query_id"]),
                row["question"],
                gold_doc_ids=tuple(dict.fromkeys(path for path, _ in gold)),
                answer=row.get("answer") or "",
                gold_sections=tuple(gold),
            )
        )
    return EvalSet("stard_cn_law", split, demo_citizen_corpus(), questions, labelled_refusals=True)


BUILT_IN = {
    "pubmedqa": pubmedqa,
    "doc2dial": doc2dial,
    "policyqa": policyqa,
    "stard": stard,
    "cmb_clin": cmb_clin,
    "doc2dial_zh": partial(crosslingual, "doc2dial", "zh"),
    "policyqa_zh": partial(crosslingual, "policyqa", "zh"),
    "pubmedqa_zh": partial(crosslingual, "pubmedqa", "zh"),
    "stard_en": partial(crosslingual, "stard", "en"),
    "cn_law": cn_law,
    "stard_cn_law": stard_cn_law,
}


def load(name_or_folder: str, split: str) -> EvalSet:
    if name_or_folder in BUILT_IN:
        return BUILT_IN[name_or_folder](split)
    path = Path(name_or_folder)
    if (path / "corpus.jsonl").exists() and (path / "questions.jsonl").exists():
        return folder(path, split)
    raise ValueError(
        f"{name_or_folder!r} is neither a built-in dataset ({', '.join(BUILT_IN)}) nor a folder "
        "with corpus.jsonl and questions.jsonl"
    )
