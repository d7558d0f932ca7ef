"""The Chinese law collection of the demo (demo/knowledge/cn-law, built by demo/build_cn_law.py):
one document per law with one section per article, so answers cite the article; colloquial
questions (社保, 身份证丢了) are answered from the statutes' own words."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from portal.knowledge.models import Chunk
from portal.knowledge.services import collection_get_or_create
from portal.qa.services import answer_run
from tests.portal.factories import ingest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "knowledge"
EVAL_CORPUS = ROOT / "portal" / "evaluation" / "data" / "demo_questions" / "corpus.jsonl"
DATASET = ROOT.parent / "shared" / "datasets" / "stard_lecoqa_zh"
ARTICLE = re.compile(r"^第[零一二三四五六七八九十百]+条$")


def _entries() -> list[dict]:
    manifest = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
    return [e for e in manifest if e["collection"] == "cn-law"]


def _cn_law():
    return collection_get_or_create(
        slug="cn-law", audience="public", languages=["zh"], jurisdiction="cn"
    )


def _load(*titles: str) -> None:
    coll = _cn_law()
    by_title = {e["title"]: e for e in _entries()}
    for title in titles:
        path = DEMO / by_title[title]["path"]
        _, outcome = ingest(
            path.read_text(encoding="utf-8"), filename=path.name, coll=coll, title=title
        )
        assert outcome.status == "done", outcome.error_message


def test_each_law_is_one_document_with_its_articles_as_sections_and_no_invented_chapters():
    entries = _entries()
    assert len(entries) == 12
    assert {e["language"] for e in entries} == {"zh"} and {e["audience"] for e in entries} == {
        "public"
    }
    titles = {e["title"] for e in entries}
    assert {"中华人民共和国护照法", "中华人民共和国社会保险法", "工伤保险条例"} <= titles
    for entry in entries:
        text = (DEMO / entry["path"]).read_text(encoding="utf-8")
        lines = text.splitlines()
        assert lines[0] == f"# {entry['title']}"
        headings = [line[3:] for line in lines if line.startswith("## ")]
        assert headings[0] == "第一条" and all(ARTICLE.match(h) for h in headings), entry["path"]
        assert len(headings) == len(set(headings))
        assert not re.search(r"^#+ 第.+[章节]", text, re.M)  # the corpus has no chapters
    meta = json.loads((DEMO / "collections.json").read_text(encoding="utf-8"))["cn-law"]
    assert meta["jurisdiction"] == "cn" and meta["description"]
    assert "Copyright Law" in (DEMO / "cn-law" / "SOURCE.md").read_text(encoding="utf-8")


@pytest.mark.skipif(not DATASET.exists(), reason="the STARD corpus is not on this machine")
def test_the_generator_reproduces_the_committed_files(tmp_path):
    out = tmp_path / "knowledge"
    out.mkdir()
    for name in ("manifest.json", "questions.json"):
        shutil.copy(DEMO / name, out / name)
    shutil.copy(EVAL_CORPUS, tmp_path / "corpus.jsonl")
    script = ROOT / "demo" / "build_cn_law.py"
    argv = [sys.executable, str(script), str(DATASET), "--out", str(out)]
    argv += ["--eval-corpus", str(tmp_path / "corpus.jsonl")]
    subprocess.run(argv, check=True, capture_output=True)
    for entry in _entries():
        assert (out / entry["path"]).read_bytes() == (DEMO / entry["path"]).read_bytes()
    for name in ("manifest.json", "questions.json", "cn-law/SOURCE.md"):
        assert (out / name).read_bytes() == (DEMO / name).read_bytes(), name
    assert (tmp_path / "corpus.jsonl").read_bytes() == EVAL_CORPUS.read_bytes()


def test_a_passport_question_is_answered_citing_an_article_of_the_passport_law(db):
    _load("中华人民共和国护照法", "中华人民共和国出境入境管理法", "中华人民共和国居民身份证法")
    # Every passage sits under one article: the chunker never crosses a section.
    paths = Chunk.objects.values_list("heading_path", flat=True)
    assert paths and all(ARTICLE.match(path[-1]) for path in paths)

    outcome = answer_run(question="如何办理护照？")

    assert outcome.status == "answered", outcome.guidance
    cited = [c for c in outcome.citations.values() if c["document"] == "中华人民共和国护照法"]
    assert cited and all(ARTICLE.match(c["section"][-1]) for c in cited)
    assert all(s["citations"] for s in outcome.sentences)


def test_colloquial_short_forms_are_answered_from_the_statutes_words(db):
    """社保 is how people say 社会保险, 丢了 what the law calls 丢失: neither word is in the
    statutes, and both questions were refused before."""
    _load("中华人民共和国社会保险法", "中华人民共和国居民身份证法")

    transfer = answer_run(question="社保怎么转移？")
    lost = answer_run(question="身份证丢了怎么办？")

    assert transfer.status == "answered", transfer.guidance
    assert {c["document"] for c in transfer.citations.values()} == {"中华人民共和国社会保险法"}
    assert any("转移" in s["text"] for s in transfer.sentences)
    assert lost.status == "answered", lost.guidance
    assert any(
        c["section"][-1] == "第十一条" and "补领" in c["quote"] for c in lost.citations.values()
    )
