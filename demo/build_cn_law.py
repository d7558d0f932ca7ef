"""Regenerate the Chinese law collection (demo/knowledge/cn-law/) from the STARD/LeCoQA corpus.

    python3 demo/build_cn_law.py PATH/TO/stard_lecoqa_zh [--out demo/knowledge]
        [--eval-corpus portal/evaluation/data/demo_questions/corpus.jsonl]

PATH is the dataset folder (only its ``corpus-0*.jsonl`` shards are read; the queries, their
split and provenance.tsv are never opened, so nothing here can learn which articles are gold).
The generated files are committed; this script is only needed to rebuild them, never at run time.
Standard library only and deterministic: running it twice gives identical files.

Each law becomes one Markdown document: ``# <law>`` then one ``## 第N条`` section per article, so
a chunk never crosses an article (ingestion/chunking.py keeps sections apart) and a citation's
section names the article. The corpus is split per article and carries no chapter (章/节)
headings, so none are written: inventing them would put words in the law's mouth.

Besides the documents it rewrites, in place and leaving other collections alone:
- ``manifest.json`` and ``questions.json``: the cn-law entries (demo/build_demo_kb.py keeps them);
- ``cn-law/SOURCE.md``: provenance and the legal basis for shipping the texts;
- the eval corpus ``portal/evaluation/data/demo_questions/corpus.jsonl``: its cn-law rows, since
  that corpus must equal demo/knowledge (tests/portal/test_demo_questions.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = DEMO_DIR / "knowledge"
DEFAULT_EVAL_CORPUS = (
    DEMO_DIR.parent / "portal" / "evaluation" / "data" / "demo_questions" / "corpus.jsonl"
)
COLLECTION = "cn-law"
SHARDS = "corpus-0*.jsonl"

# (law as the corpus names it, document title, file stem). National laws of the NPC Standing
# Committee carry their full name 中华人民共和国…法; State Council regulations (条例) have
# no prefix.
LAWS = [
    ("居民身份证法", "中华人民共和国居民身份证法", "prc-resident-identity-card-law"),
    ("护照法", "中华人民共和国护照法", "prc-passport-law"),
    ("出境入境管理法", "中华人民共和国出境入境管理法", "prc-exit-entry-administration-law"),
    ("社会保险法", "中华人民共和国社会保险法", "prc-social-insurance-law"),
    ("失业保险条例", "失业保险条例", "unemployment-insurance-regulations"),
    ("工伤保险条例", "工伤保险条例", "work-injury-insurance-regulations"),
    ("住房公积金管理条例", "住房公积金管理条例", "housing-provident-fund-regulations"),
    (
        "基本医疗卫生与健康促进法",
        "中华人民共和国基本医疗卫生与健康促进法",
        "prc-basic-healthcare-and-health-promotion-law",
    ),
    ("药品管理法", "中华人民共和国药品管理法", "prc-drug-administration-law"),
    ("疫苗管理法", "中华人民共和国疫苗管理法", "prc-vaccine-administration-law"),
    ("老年人权益保障法", "中华人民共和国老年人权益保障法", "prc-elderly-rights-law"),
    ("残疾人保障法", "中华人民共和国残疾人保障法", "prc-disabled-persons-protection-law"),
]

# Demo questions, written by hand for the laws (the way people ask, not the statute's words).
# `evidence` is not written out: the build checks it occurs in the expected document.
QUESTIONS = [
    ("如何办理护照？", "prc-passport-law", "普通护照由公安部出入境管理机构"),
    ("社保怎么转移？", "prc-social-insurance-law", "其基本养老保险关系随本人转移"),
    ("身份证丢了怎么办？", "prc-resident-identity-card-law", "居民身份证丢失的，应当申请补领"),
    ("工伤怎么认定？", "work-injury-insurance-regulations", "作出工伤认定的决定"),
]

MANIFEST_SOURCE = (
    "STARD/LeCoQA statute corpus (shared/datasets/stard_lecoqa_zh; article texts from STARD"
    " and LawRefBook)"
)
LICENSE = "public-domain (PRC Copyright Law art. 5)"

DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
UNITS = {"十": 10, "百": 100, "千": 1000}


def chinese_number(text: str) -> int:
    """'一百二十三' -> 123, '十' -> 10, '二十' -> 20 (article numbers stay below 10,000)."""
    total, digit = 0, 0
    for ch in text:
        if ch in DIGITS:
            digit = DIGITS[ch]
        elif ch in UNITS:
            total += (digit or 1) * UNITS[ch]
            digit = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + digit


ARTICLE = re.compile(r"第([零一二三四五六七八九十百千]+)条")


def read_articles(dataset: Path) -> dict[str, list[dict]]:
    """Rows of the wanted laws, in corpus order, from the corpus shards only."""
    wanted = {law for law, _, _ in LAWS}
    found: dict[str, list[dict]] = {law: [] for law in wanted}
    shards = sorted(dataset.glob(SHARDS))
    if not shards:
        raise SystemExit(f"no {SHARDS} in {dataset}")
    for shard in shards:
        with shard.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["law"] in wanted:
                    found[row["law"]].append(row)
    return found


def checked(law: str, rows: list[dict]) -> list[dict]:
    """Articles numbered 1..N with no gap or repeat, else the corpus changed: fail loudly."""
    if not rows:
        raise SystemExit(f"{law}: not in the corpus")
    numbers = []
    for row in rows:
        match = ARTICLE.fullmatch(row["article"])
        if match is None:
            raise SystemExit(f"{law}: unexpected article label {row['article']!r}")
        numbers.append(chinese_number(match.group(1)))
    if numbers != list(range(1, len(rows) + 1)):
        raise SystemExit(f"{law}: articles are not numbered 1..{len(rows)}")
    return rows


def paragraphs(content: str) -> list[str]:
    return [line.strip() for line in content.split("\n") if line.strip()]


def render(title: str, rows: list[dict]) -> str:
    parts = [f"# {title}"]
    for row in rows:
        parts.append(f"## {row['article']}")
        parts.extend(paragraphs(row["content"]))
    return "\n\n".join(parts) + "\n"


def sha256_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def source_md(dataset: Path, counts: list[tuple[str, str, int]]) -> str:
    shards = "\n".join(
        f"  - `{p.name}` (sha256 {sha256_prefix(p)}…)" for p in sorted(dataset.glob(SHARDS))
    )
    listing = "\n".join(
        f"- `{COLLECTION}/{stem}.md`: {title} ({n} articles)" for title, stem, n in counts
    )
    return f"""# cn-law/: Chinese national laws and State Council regulations (zh, audience: public)

Generated by `demo/build_cn_law.py` from the STARD/LeCoQA statute corpus in
`shared/datasets/stard_lecoqa_zh/` (see its `SOURCE.md`); do not edit by hand, run
`python3 demo/build_cn_law.py ../shared/datasets/stard_lecoqa_zh` again. Only the corpus shards
were read:
{shards}

- **Why these texts may be shipped:** laws, regulations and other legislative, administrative
  and judicial documents of state organs are not protected by copyright in China (Copyright Law
  of the People's Republic of China, art. 5). The corpus takes its article texts from STARD
  (github.com/oneal2000/STARD, MIT, (c) 2024 THUIR) and LawRefBook (github.com/LawRefBook/Laws,
  commit 2f4c5c23716267af9dbebbbbd6cbbf732b101981); the texts themselves are the state's.
- **Versions:** the corpus picks, per law, the LawRefBook version that matches STARD's article
  texts; an article may therefore be of another amendment year than the one in force today.
  These files are a demo, not an authoritative legal source: check the current text on the
  national database of laws and regulations (flk.npc.gov.cn) before relying on it.
- **Structure:** one document per law, titled with its name; each article (条) is a `## 第N条`
  section, so answers cite the article. The corpus is split per article and has no chapter
  (章/节) headings, so the documents have none either (none were invented).

{listing}
"""


def merge_manifest(path: Path, entries: list[dict]) -> None:
    """Replace this collection's entries in manifest.json, keeping every other entry in order."""
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    kept = [e for e in current if e["collection"] != COLLECTION]
    write(path, dump_json(kept + entries))


def demo_questions(texts: dict[str, str]) -> list[dict]:
    rows = []
    for question, stem, evidence in QUESTIONS:
        rel = f"{COLLECTION}/{stem}.md"
        if evidence not in texts[rel]:
            raise SystemExit(f"evidence not found in {rel}: {evidence!r}")
        rows.append({"question": question, "language": "zh", "expected_path": rel})
    return rows


def merge_questions(path: Path, rows: list[dict]) -> None:
    """Replace this collection's demo questions in questions.json, keeping every other one."""
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    kept = [q for q in current if not q["expected_path"].startswith(f"{COLLECTION}/")]
    write(path, dump_json(kept + rows))


def merge_eval_corpus(path: Path, rows: list[dict]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.strip() and json.loads(line)["collection"] != COLLECTION]
    added = [json.dumps(r, ensure_ascii=False) for r in rows]
    write(path, "\n".join(kept + added) + "\n")


def dump_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="the stard_lecoqa_zh folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--eval-corpus", type=Path, default=DEFAULT_EVAL_CORPUS)
    args = parser.parse_args()
    dataset, out = args.dataset.resolve(), args.out.resolve()

    found = read_articles(dataset)
    folder = out / COLLECTION
    entries, eval_rows, counts, wanted, texts = [], [], [], set(), {}
    for law, title, stem in LAWS:
        rows = checked(law, found[law])
        rel = f"{COLLECTION}/{stem}.md"
        text = render(title, rows)
        texts[rel] = text
        write(out / rel, text)
        wanted.add(out / rel)
        counts.append((title, stem, len(rows)))
        entries.append(
            {
                "path": rel,
                "collection": COLLECTION,
                "title": title,
                "language": "zh",
                "audience": "public",
                "source": MANIFEST_SOURCE,
                "license": LICENSE,
                "origin_id": law,
            }
        )
        eval_rows.append(
            {
                "doc_id": rel,
                "title": title,
                "text": text,
                "collection": COLLECTION,
                "language": "zh",
            }
        )
    for stale in sorted(p for p in folder.glob("*.md") if p not in wanted | {folder / "SOURCE.md"}):
        stale.unlink()
    write(folder / "SOURCE.md", source_md(dataset, counts))
    merge_manifest(out / "manifest.json", entries)
    merge_questions(out / "questions.json", demo_questions(texts))
    merge_eval_corpus(args.eval_corpus.resolve(), eval_rows)
    articles = sum(n for _, _, n in counts)
    print(f"wrote {len(LAWS)} laws ({articles} articles) to {folder}")


if __name__ == "__main__":
    main()
