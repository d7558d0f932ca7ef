"""Regenerate the demo knowledge base in demo/knowledge/ from the shared datasets.

The generated files are committed; this script is only needed to rebuild them, never at run time.
It uses the standard library only and is deterministic: running it twice gives identical files.

    python3 demo/build_demo_kb.py [--datasets PATH] [--out PATH]

Sources (read-only, see each folder's SOURCE.md):
  doc2dial_rc_val/documents.jsonl  -> knowledge/public-services/   (6 US government service pages)
  pubmedqa_pqal/ori_pqal.json      -> knowledge/medical-research/  (6 PubMed abstracts, dev PMIDs)
  cmb_clin_zh/CMB-test-qa.json     -> knowledge/clinical-cases-zh/ (3 case descriptions, no answers)
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEFAULT_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_OUT = DEMO_DIR / "knowledge"

DOC2DIAL_FILE = "doc2dial_rc_val/documents.jsonl"
PUBMEDQA_FILE = "pubmedqa_pqal/ori_pqal.json"
PUBMEDQA_TEST_FILE = "pubmedqa_pqal/test_ground_truth.json"
CMB_FILE = "cmb_clin_zh/CMB-test-qa.json"

# --------------------------------------------------------------------------------------------
# Selection. Every doc2dial title must be on the dev side of SOURCE.md's split (sha1(title)
# first hex digit 0-7) and every PMID outside test_ground_truth.json; both are checked below.
# --------------------------------------------------------------------------------------------

# (doc2dial title, output file stem, output format)
DOC2DIAL_DOCS = [
    (
        "Supplemental Security Income (SSI) Benefits | Social Security Administration#1_0",
        "ssa-supplemental-security-income",
        "md",
    ),
    (
        "Benefits Planner | Social Security Credits and Benefit Eligibility | SSA#1_0",
        "ssa-social-security-credits",
        "txt",
    ),
    ("Post-9/11 GI Bill | Veterans Affairs#1_0", "va-post-911-gi-bill", "md"),
    (
        "Financial Aid Eligibility | Federal Student Aid#1_0",
        "studentaid-financial-aid-eligibility",
        "html",
    ),
    ("Get a driver license#1_0", "nydmv-get-a-driver-license", "md"),
    ("Renew non-driver ID card#1_0", "nydmv-renew-non-driver-id-card", "md"),
]

# (PMID, output file stem)
PUBMED_DOCS = [
    ("24785562", "dexamethasone-vs-prednisone-pediatric-asthma"),
    ("11500608", "proton-pump-inhibitor-rebound-symptoms"),
    ("17606778", "vitamin-c-wrist-fracture-crps"),
    ("15466981", "psa-free-psa-prostate-cancer-detection"),
    ("18005142", "early-migraine-treatment"),
    ("21880023", "exercise-in-pregnancy-postnatal-depression"),
]

# (CMB-Clin id, a string in the JSON; output file stem)
CMB_CASES = [
    ("63", "acute-mastitis"),
    ("2", "hemorrhoids"),
    ("21", "erysipelas"),
]

AGENCIES = {
    "ssa": ("U.S. Social Security Administration", "ssa.gov"),
    "va": ("U.S. Department of Veterans Affairs", "va.gov"),
    "studentaid": ("Federal Student Aid, U.S. Department of Education", "studentaid.gov"),
    "dmv": ("New York State Department of Motor Vehicles", "dmv.ny.gov"),
}
# Title parts that only name the site, e.g. "... | Social Security Administration#1_0".
SITE_TITLE_PARTS = {
    "social security administration",
    "ssa",
    "veterans affairs",
    "va.gov",
    "federal student aid",
}

COLLECTIONS = {
    "public-services": {"language": "en", "audience": "public", "license": "CC-BY-3.0"},
    "medical-research": {"language": "en", "audience": "public", "license": "MIT"},
    "clinical-cases-zh": {"language": "zh", "audience": "staff", "license": "Apache-2.0"},
}

# Demo questions, written by hand from the generated documents. `evidence` is not written out:
# the build checks that it occurs in the expected document, so an edit that breaks a question
# fails loudly.
PS = "public-services/"
MR = "medical-research/"
CC = "clinical-cases-zh/"
QUESTIONS: list[dict[str, str]] = [
    {
        "question": "I'm 45 and have a disability. Can I apply for SSI online, or do I have to"
        " go to a Social Security office?",
        "language": "en",
        "expected_path": PS + "ssa-supplemental-security-income.md",
        "evidence": "You are eligible to file online for SSI if you: Are between the ages of 18",
    },
    {
        "question": "I became disabled at age 27. How many work credits do I need to qualify"
        " for Social Security disability benefits?",
        "language": "en",
        "expected_path": PS + "ssa-social-security-credits.txt",
        "evidence": "if you become disabled at age 27, you would need 3 years of work",
    },
    {
        "question": "My active duty ended in 2015. Will my Post-9/11 GI Bill benefits expire?",
        "language": "en",
        "expected_path": PS + "va-post-911-gi-bill.md",
        "evidence": "If your service ended on or after January 1, 2013, your benefits won't expire",
    },
    {
        "question": "Is there an income limit for getting federal student aid for college?",
        "language": "en",
        "expected_path": PS + "studentaid-financial-aid-eligibility.html",
        "evidence": "There is no income cut-off to qualify for federal student aid.",
    },
    {
        "question": "I just passed my road test in New York. What happens if I get a speeding"
        " ticket in the first six months?",
        "language": "en",
        "expected_path": PS + "nydmv-get-a-driver-license.md",
        "evidence": "your license will be suspended for 60 days if you are convicted",
    },
    {
        "question": "在美国需要攒够多少个社会保障积分（Social Security credits）才能领取退休金？",
        "language": "zh",
        "expected_path": PS + "ssa-social-security-credits.txt",
        "evidence": "you need 40 credits to qualify for retirement",
    },
    {
        "question": "我的纽约州非驾驶员身份证（non-driver ID）已经过期三年了，还能直接续办吗？",
        "language": "zh",
        "expected_path": PS + "nydmv-renew-non-driver-id-card.md",
        "evidence": "If it is expired for 2 years or more, you can't renew",
    },
    {
        "question": "Can my child take dexamethasone instead of prednisone for an asthma flare-up?",
        "language": "en",
        "expected_path": MR + "pmid-24785562-dexamethasone-vs-prednisone-pediatric-asthma.md",
        "evidence": "prednisone is not superior to dexamethasone",
    },
    {
        "question": "If I stop taking lansoprazole after a few days, will my heartburn come back"
        " worse than before?",
        "language": "en",
        "expected_path": MR + "pmid-11500608-proton-pump-inhibitor-rebound-symptoms.md",
        "evidence": "reflux score, 21.5 and 17.6, respectively (not significant)",
    },
    {
        "question": "I broke my wrist. Does taking vitamin C help prevent complex regional pain"
        " syndrome, and which dose was tested?",
        "language": "en",
        "expected_path": MR + "pmid-17606778-vitamin-c-wrist-fracture-crps.md",
        "evidence": "1.8% (two of 114) in the 500-mg group",
    },
    {
        "question": "Does exercising during pregnancy lower the risk of postnatal depression?",
        "language": "en",
        "expected_path": MR + "pmid-21880023-exercise-in-pregnancy-postnatal-depression.md",
        "evidence": "Among women who did not exercise prior to pregnancy",
    },
    {
        "question": "哺乳期急性乳腺炎那个病例，患者的血常规和乳腺超声检查结果是什么？",
        "language": "zh",
        "expected_path": CC + "cmb-clin-63-acute-mastitis.md",
        "evidence": "左乳外上可见大小约5cm×5cm无回声区，可见分隔。",
    },
    {
        "question": "痔的病例中，患者肛门肿物脱出和便血各有多长时间？结肠镜检查发现了什么？",
        "language": "zh",
        "expected_path": CC + "cmb-clin-02-hemorrhoids.md",
        "evidence": "反复肛门部肿物脱出2年，便血1周。",
    },
    {
        "question": "丹毒病例的患者有哪些基础疾病？血糖和糖化血红蛋白是多少？",
        "language": "zh",
        "expected_path": CC + "cmb-clin-21-erysipelas.md",
        "evidence": "既往糖尿病病史10年，足癣病史30年",
    },
]


@dataclass
class Doc:
    path: str  # relative to the output folder, with "/" separators
    collection: str
    title: str
    source: str
    origin_id: str
    text: str


# --------------------------------------------------------------------------------------------
# doc2dial: US government service pages
# --------------------------------------------------------------------------------------------

# Page furniture that the DMV pages carry after their content.
DMV_TRAILER = 'Show "do it online" button in megamenu'
# Dashes that are real dashes although both sides are words.
KEEP_DASH = {("Bill", "Harry")}
FUNCTION_WORDS = {"there", "it", "you", "we", "they", "he", "she", "this", "that", "these"}


def doc2dial_split(title: str) -> str:
    digit = hashlib.sha1(title.encode("utf-8"), usedforsecurity=False).hexdigest()[0]
    return "dev" if digit in "01234567" else "held-out"


def clean_title(raw: str) -> str:
    """'Post-9/11 GI Bill | Veterans Affairs#1_0' -> 'Post-9/11 GI Bill'."""
    title = re.sub(r"#\d+_\d+$", "", raw)
    parts = [p.strip() for p in title.split("|")]
    parts = [p for p in parts if p and p.lower() not in SITE_TITLE_PARTS]
    # "Benefits Planner | Social Security Credits and Benefit Eligibility": the last part is the
    # page, the earlier ones are site sections.
    return parts[-1]


def _fix_dash(match: re.Match[str]) -> str:
    left, right = match.groups()
    dash = f"{left} - {right}"
    if (left, right) in KEEP_DASH or right.lower() in FUNCTION_WORDS:
        return dash  # "you can't renew - there are no exceptions"
    if left.isdigit() and right.isdigit():
        return f"{left}-{right}"  # phone numbers, ZIP+4
    if re.fullmatch(r"[A-Z]{1,2}", left):
        return dash  # "class D - Operator", "class M - motorcycle license"
    if right[0].isupper() and (left.islower() or left.isdigit()):
        return dash  # "Before age 24 - You may qualify"
    return f"{left}-{right}"  # "out - of - state", "Non - Driver", "SSA - L8151"


def _pair_quotes(text: str, quote: str, standalone: re.Pattern[str]) -> str:
    """Pair quotes up in order and fix their spacing: `or' No Fee' ID` -> `or 'No Fee' ID`.

    Left alone when a paragraph has an odd number of quotes, since pairing would be a guess.
    """
    positions = [m.start() for m in standalone.finditer(text)]
    if not positions or len(positions) % 2:
        return text
    out, last = [], 0
    for open_at, close_at in zip(positions[::2], positions[1::2], strict=True):
        before = text[last:open_at].rstrip(" ")
        if before and not before.endswith("("):
            before += " "  # keep/restore the space before the opening quote
        inner = text[open_at + 1 : close_at].strip()
        out.append(f"{before}{quote}{inner}{quote}")
        last = close_at + 1
    out.append(text[last:])
    return "".join(out)


GLUED = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])|(?<=[a-z])(?=\d{3,}\b)|(?<=\d)(?=[A-Z][a-z])")
SINGLE_QUOTE = re.compile(r"(?<![A-Za-z])'|'(?![A-Za-z])")  # not an apostrophe inside a word
DOUBLE_QUOTE = re.compile(r'"')


def clean_text(text: str) -> str:
    """Undo doc2dial's tokenisation: spaced punctuation, dropped apostrophes, link markers."""
    text = re.sub(r"\s*\[\d+\s*\]", "", text)  # link markers "[3 ]"
    text = re.sub(r"^share link\s+", "", text)  # studentaid.gov widget label
    text = re.sub(r"(?<=[.!?]) [1-9] (?=[A-Z])", " ", text)  # footnote numbers "later. 2 Learn"
    text = re.sub(r"\s+([,.;:?!)])", r"\1", text)
    # Words glued together when links were dropped: "AidGraphic", "Vehicles207", "6Utica".
    text = GLUED.sub(" ", text)
    text = re.sub(r"\(\s+", "(", text)
    text = _pair_quotes(text, '"', DOUBLE_QUOTE)
    text = _pair_quotes(text, "'", SINGLE_QUOTE)
    # Dropped apostrophes: "don t" -> "don't", "you re" -> "you're", "VA s" -> "VA's".
    text = re.sub(r"\b(\w+n) t\b", r"\1't", text)
    text = re.sub(r"\b([Yy]ou|[Ww]e|[Tt]hey|[Ww]ho) (re|ve|ll|d)\b", r"\1'\2", text)
    text = re.sub(r"\bI (m|ve|ll|d)\b", r"I'\1", text)
    text = re.sub(r"\b([A-Za-z]+) s\b", r"\1's", text)
    # Spaced hyphens; loop because matches overlap ("out - of - state").
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"(\w+) - (\w+)", _fix_dash, text)
    return re.sub(r"\s{2,}", " ", text).strip()


def is_heading(line: str) -> bool:
    return len(line) <= 90 and not line.endswith((".", "!"))


def parse_doc2dial(context: str, title: str) -> list[tuple[str, str]]:
    """Context -> [("h", heading) | ("p", paragraph)].

    doc2dial contexts are blocks separated by blank lines; a block's first line is a heading
    when more lines follow it, and a one-line block is a heading when it is short and does not
    end like a sentence.
    """
    cut = context.find(DMV_TRAILER)
    if cut != -1:
        context = context[:cut]
    items: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", context):
        lines = [clean_text(line) for line in block.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        if len(lines) > 1 or is_heading(lines[0]):
            items.append(("h", lines[0]))
            lines = lines[1:]
        items.extend(("p", line) for line in lines)
    # The page's own <h1> repeats the title.
    if items and items[0][0] == "h" and items[0][1].lower() == title.lower():
        items.pop(0)
    # Headings left dangling at the end (the contexts are cut off mid-page).
    while items and items[-1][0] == "h":
        items.pop()
    return items


def render_markdown(title: str, items: list[tuple[str, str]], footer: str) -> str:
    parts = [f"# {title}"]
    for kind, text in items:
        parts.append(f"## {text}" if kind == "h" else text)
    parts.append(footer)
    return "\n\n".join(parts) + "\n"


def render_text(title: str, items: list[tuple[str, str]], footer: str) -> str:
    parts = [title + "\n" + "=" * len(title)]
    for kind, text in items:
        parts.append(text + "\n" + "-" * len(text) if kind == "h" else text)
    parts.append(footer)
    return "\n\n".join(parts) + "\n"


def render_html(title: str, items: list[tuple[str, str]], footer: str) -> str:
    def esc(text: str) -> str:
        return html.escape(text, quote=False)

    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "</head>",
        "<body>",
        f"<h1>{esc(title)}</h1>",
    ]
    for kind, text in items:
        lines.append(f"<h2>{esc(text)}</h2>" if kind == "h" else f"<p>{esc(text)}</p>")
    lines += [f'<p class="source">{esc(footer)}</p>', "</body>", "</html>"]
    return "\n".join(lines) + "\n"


RENDERERS = {"md": render_markdown, "txt": render_text, "html": render_html}


def build_public_services(datasets: Path) -> list[Doc]:
    rows = {}
    with (datasets / DOC2DIAL_FILE).open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            rows[row["title"]] = row
    docs = []
    for raw_title, stem, fmt in DOC2DIAL_DOCS:
        row = rows[raw_title]
        if doc2dial_split(raw_title) != "dev":
            raise SystemExit(f"doc2dial document is on the held-out side: {raw_title!r}")
        title = clean_title(raw_title)
        agency, site = AGENCIES[row["domain"]]
        footer = f"Source: {agency} ({site}), via the doc2dial dataset; CC BY 3.0."
        items = parse_doc2dial(row["context"], title)
        docs.append(
            Doc(
                path=f"public-services/{stem}.{fmt}",
                collection="public-services",
                title=title,
                source=f"{site} page from doc2dial v1.0.1 (Feng et al., EMNLP 2020)",
                origin_id=raw_title,
                text=RENDERERS[fmt](title, items, footer),
            )
        )
    return docs


# --------------------------------------------------------------------------------------------
# PubMedQA: abstracts (without their conclusion, which PubMedQA keeps as the long answer)
# --------------------------------------------------------------------------------------------

SMALL_WORDS = {"and", "or", "of", "the", "in", "for", "to", "a", "an"}
INLINE_LABEL = re.compile(r"(?<=[.)])([A-Z]{3,}(?: [A-Z]{2,})*): ")


def title_case_label(label: str) -> str:
    words = label.lower().split()
    return " ".join(
        w if i and w in SMALL_WORDS else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def abstract_sections(labels: list[str], contexts: list[str]) -> list[tuple[str, str]]:
    """Pair labels with passages; split labels run into a passage ("...once daily.STUDY: ...")."""
    sections = []
    for label, passage in zip(labels, contexts, strict=True):
        pieces = INLINE_LABEL.split(passage.strip())
        sections.append((label, pieces[0].strip()))
        for i in range(1, len(pieces), 2):
            sections.append((pieces[i], pieces[i + 1].strip()))
    return sections


def build_medical_research(datasets: Path) -> list[Doc]:
    data = json.loads((datasets / PUBMEDQA_FILE).read_text(encoding="utf-8"))
    test = json.loads((datasets / PUBMEDQA_TEST_FILE).read_text(encoding="utf-8"))
    docs = []
    for pmid, stem in PUBMED_DOCS:
        if pmid in test:
            raise SystemExit(f"PMID {pmid} is in the PubMedQA test split")
        entry = data[pmid]
        title = entry["QUESTION"].strip()
        parts = [f"# {title}"]
        for label, passage in abstract_sections(entry["LABELS"], entry["CONTEXTS"]):
            parts += [f"## {title_case_label(label)}", passage]
        year = entry["YEAR"] or "year unknown"
        parts.append(f"Source: PubMed PMID {pmid} ({year})")
        docs.append(
            Doc(
                path=f"medical-research/pmid-{pmid}-{stem}.md",
                collection="medical-research",
                title=title,
                source=f"PubMed abstract PMID {pmid}, via PubMedQA PQA-L (Jin et al., EMNLP 2019)",
                origin_id=pmid,
                text="\n\n".join(parts) + "\n",
            )
        )
    return docs


# --------------------------------------------------------------------------------------------
# CMB-Clin: Chinese clinical case descriptions (the expert answers are not used)
# --------------------------------------------------------------------------------------------

CMB_SECTIONS = ("现病史", "体格检查", "辅助检查", "既往史、个人史", "病例资料")


def build_clinical_cases(datasets: Path) -> list[Doc]:
    cases = {c["id"]: c for c in json.loads((datasets / CMB_FILE).read_text(encoding="utf-8"))}
    docs = []
    for case_id, stem in CMB_CASES:
        case = cases[case_id]
        title = case["title"].split("案例分析-", 1)[1].strip()
        parts = [f"# {title}"]
        for raw in case["description"].split("\n"):
            line = raw.strip()
            if not line:
                continue
            # Leading spaces would make Markdown code blocks, so every line is its own paragraph.
            parts.append(f"## {line}" if line in CMB_SECTIONS else line)
        docs.append(
            Doc(
                path=f"clinical-cases-zh/cmb-clin-{int(case_id):02d}-{stem}.md",
                collection="clinical-cases-zh",
                title=title,
                source="CMB-Clin case description (Wang et al., NAACL 2024)",
                origin_id=case_id,
                text="\n\n".join(parts) + "\n",
            )
        )
    return docs


# --------------------------------------------------------------------------------------------
# Metadata files
# --------------------------------------------------------------------------------------------


def sha256_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def manifest(docs: list[Doc]) -> list[dict[str, str]]:
    return [
        {
            "path": d.path,
            "collection": d.collection,
            "title": d.title,
            "language": COLLECTIONS[d.collection]["language"],
            "audience": COLLECTIONS[d.collection]["audience"],
            "source": d.source,
            "license": COLLECTIONS[d.collection]["license"],
            "origin_id": d.origin_id,
        }
        for d in docs
    ]


def licenses_md(datasets: Path, docs: list[Doc]) -> str:
    def listing(collection: str) -> str:
        return "\n".join(
            f"- `{d.path}` ← `{d.origin_id}`" for d in docs if d.collection == collection
        )

    def src(rel: str) -> str:
        return f"`shared/datasets/{rel}` (sha256 {sha256_prefix(datasets / rel)}…)"

    return f"""# Demo knowledge base: sources and licences

Every document in this folder was generated by `demo/build_demo_kb.py` from the read-only
datasets in `shared/datasets/` (see each folder's `SOURCE.md`). Do not edit the documents by
hand: change the script and run `python3 demo/build_demo_kb.py` again.
`manifest.json` lists each document with its collection, language, audience, licence and
origin id; `questions.json` holds demo questions written for this demo.

## public-services/ (English, audience: public)

- Source: {src(DOC2DIAL_FILE)}, a re-packaging of
  `doc2dial_rc_val.csv.zip` from the doc2dial shared task
  (https://github.com/doc2dial/sharedtask-dialdoc2021, doc2dial v1.0.1).
- Licence: **CC BY 3.0** (https://creativecommons.org/licenses/by/3.0/), as listed on the
  dataset's Hugging Face card (IBM/doc2dial).
- Attribution: Song Feng, Hui Wan, Chulaka Gunasekara, Siva Sankalp Patel, Sachindra Joshi and
  Luis A. Lastras, "doc2dial: A Goal-Oriented Document-Grounded Dialogue Dataset", EMNLP 2020.
  The page texts are public web pages of the U.S. Social Security Administration (ssa.gov),
  the U.S. Department of Veterans Affairs (va.gov), Federal Student Aid (studentaid.gov) and
  the New York State Department of Motor Vehicles (dmv.ny.gov), as crawled for doc2dial
  (around 2020); they may be out of date.
- Changes made (as CC BY requires us to say): titles shortened (site name and doc2dial
  section suffix removed); tokenisation undone (spaced punctuation, dropped apostrophes,
  spaced hyphens); link markers such as "[3]" and page furniture (DMV menu labels,
  "share link") removed; headings kept as headings; one page is saved as HTML and one as plain
  text. Only documents on the dev side of the split recommended in SOURCE.md
  (sha1(title) first hex digit 0-7) were used.

{listing("public-services")}

## medical-research/ (English, audience: public)

- Source: {src(PUBMEDQA_FILE)}
  from PubMedQA (https://github.com/pubmedqa/pubmedqa), PQA-L expert-labelled set.
- Licence: **MIT** (PubMedQA repository, Copyright (c) 2019 pubmedqa). The abstract text comes
  from PubMed (U.S. National Library of Medicine); copyright in each abstract stays with its
  authors/publishers.
- Citation: Qiao Jin, Bhuwan Dhingra, Zhengping Liu, William Cohen and Xinghua Lu,
  "PubMedQA: A Dataset for Biomedical Research Question Answering", EMNLP 2019.
- Each file holds the article title (phrased as a question) and the labelled abstract
  passages; the abstract's conclusion is *not* included (PubMedQA keeps it as the reference
  answer). Only dev PMIDs were used, i.e. none of the 500 PMIDs in
  {src(PUBMEDQA_TEST_FILE)}.

{listing("medical-research")}

## clinical-cases-zh/ (Chinese, audience: staff)

- Source: {src(CMB_FILE)}, copied from CMB
  (https://github.com/FreedomIntelligence/CMB, commit b8d1005cc1c67b4fb9d96c2bcf43d741cfd45470).
- Licence: **Apache-2.0** (CMB repository LICENSE).
- Citation: Xidong Wang et al., "CMB: A Comprehensive Medical Benchmark in Chinese",
  NAACL 2024.
- Only the case descriptions (`description`) are used, with their section names as headings;
  the questions and expert answers are not included. Origin ids are CMB-Clin case ids.
  Clinical case notes are staff-only in this demo.

{listing("clinical-cases-zh")}

## cn-law/ (Chinese, audience: public)

Chinese national laws and State Council regulations, one document per law with one section per
article, generated by `demo/build_cn_law.py` from the STARD/LeCoQA statute corpus; public law
(PRC Copyright Law art. 5). Provenance and the list of laws: `cn-law/SOURCE.md`.
"""


def check_questions(docs: list[Doc]) -> None:
    by_path = {d.path: d for d in docs}
    for q in QUESTIONS:
        doc = by_path.get(q["expected_path"])
        if doc is None:
            raise SystemExit(f"question points at a missing document: {q}")
        if q["evidence"] not in doc.text:
            raise SystemExit(f"evidence not found in {q['expected_path']}: {q['evidence']!r}")


def dump_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    datasets, out = args.datasets.resolve(), args.out.resolve()

    docs = (
        build_public_services(datasets)
        + build_medical_research(datasets)
        + build_clinical_cases(datasets)
    )
    check_questions(docs)

    wanted = {out / d.path for d in docs}
    for collection in COLLECTIONS:  # drop documents that are no longer generated
        folder = out / collection
        if folder.is_dir():
            for stale in sorted(p for p in folder.iterdir() if p.is_file() and p not in wanted):
                stale.unlink()
    for d in docs:
        write(out / d.path, d.text)
    # Entries of collections other scripts generate (cn-law: demo/build_cn_law.py) are kept.
    path = out / "manifest.json"
    others = [
        e
        for e in (json.loads(path.read_text(encoding="utf-8")) if path.exists() else [])
        if e["collection"] not in COLLECTIONS
    ]
    write(path, dump_json(manifest(docs) + others))
    write(out / "LICENSES.md", licenses_md(datasets, docs))
    questions = [{k: q[k] for k in ("question", "language", "expected_path")} for q in QUESTIONS]
    path = out / "questions.json"
    questions += [
        q
        for q in (json.loads(path.read_text(encoding="utf-8")) if path.exists() else [])
        if q["expected_path"].split("/")[0] not in COLLECTIONS
    ]
    write(path, dump_json(questions))
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {len(docs)} documents and 3 metadata files to {out} ({total} bytes)")


if __name__ == "__main__":
    main()
