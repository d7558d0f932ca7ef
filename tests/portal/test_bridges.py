"""Learned lay-to-official term bridges in the relevance gate's coverage (portal/qa/bridges.py)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from portal.qa import answerability, termvectors
from portal.qa.bridges import (
    FitParams,
    TermBridges,
    bridges_current,
    bridges_fit,
    bridges_load,
)

# Lay questions whose answering articles say 公安机关 where the asker says 派出所; every article
# of the corpus says 应当, so that word is no bridge however often it answers.
PAIRS = [
    ("派出所补办身份证要多久", ["公安机关应当自受理之日起六十日内发放居民身份证。"]),
    ("派出所不给我办户口怎么办", ["公民申请登记，公安机关应当依法办理。"]),
    ("派出所能查我的身份证吗", ["人民警察依法执行职务，公安机关应当出示执法证件。"]),
    ("失业金一个月领多少钱", ["失业保险金的标准应当不低于城市居民最低生活保障标准。"]),
]
CORPUS = [text for _, texts in PAIRS for text in texts] + [
    f"第{n}条 用人单位应当按时足额缴纳社会保险费。" for n in range(40)
]


def test_a_lay_word_is_bridged_to_the_official_word_its_answers_use() -> None:
    bridges = bridges_fit(PAIRS, CORPUS, params=FitParams(min_questions=3, min_lift=2.0))
    assert "公安机关" in bridges.targets("派出所")
    assert "应当" not in bridges.targets("派出所")  # in every passage: no lift
    assert bridges.targets("失业金") == ()  # asked once: too little to learn from
    assert bridges.version.startswith("bridges-") and bridges.meta["pairs"] == len(PAIRS)
    # The same pairs give the same file; other pairs another version.
    assert bridges_fit(PAIRS, CORPUS, params=FitParams(min_lift=2.0)).version == bridges.version
    assert bridges_fit(PAIRS[:3], CORPUS, params=FitParams(min_lift=2.0)).version != (
        bridges.version
    )


def test_a_bridged_term_earns_part_of_its_weight(settings) -> None:
    settings.ANSWER_BRIDGE_CREDIT = 0.5
    # The tokenizer gives 派出 / 派出所 and 身份 / 身份证; a fit bridges both of the first pair.
    bridges = TermBridges({"派出所": ("公安机关",), "派出": ("公安机关",)})
    question = "派出所 身份证"
    passage = "公安机关应当自受理之日起六十日内发放居民身份证。"
    plain = answerability.term_weights(question, None, bridges=None)
    bridged = answerability.term_weights(question, None, bridges=bridges)
    assert plain.coverage(passage) == pytest.approx(0.5)  # 身份(证) only
    assert bridged.coverage(passage) == pytest.approx(0.75)  # + half of 派出所
    assert bridged.coverage("居民身份证") == pytest.approx(0.5)  # the bridge's word is absent
    settings.ANSWER_BRIDGE_CREDIT = 0.0
    assert answerability.term_weights(question, None, bridges=bridges).coverage(passage) == (
        pytest.approx(0.5)
    )


def test_configured_bridges_follow_the_settings(settings, tmp_path) -> None:
    path = tmp_path / "bridges.json"
    path.write_text(json.dumps(TermBridges({"派出所": ("公安机关",)}, "bridges-x").to_json()))
    settings.ANSWER_TERM_BRIDGES_PATH = str(path)
    settings.ANSWER_TERM_BRIDGES = True
    assert bridges_current().targets("派出所") == ("公安机关",)
    weights = answerability.term_weights("派出所", None)
    assert weights.bridges == {"派出所": ("公安机关",)}
    settings.ANSWER_TERM_BRIDGES = False
    assert bridges_current() is None
    assert answerability.term_weights("派出所", None).bridges == {}
    settings.ANSWER_TERM_BRIDGES = True
    settings.ANSWER_BRIDGE_CREDIT = 1.5
    with pytest.raises(ImproperlyConfigured, match="ANSWER_BRIDGE_CREDIT"):
        bridges_current()


def test_bridges_are_off_by_default_and_a_missing_file_is_a_clear_error(settings, tmp_path):
    assert bridges_current() is None  # the dev figures did not justify them (decisions.md)
    settings.ANSWER_TERM_BRIDGES = True
    settings.ANSWER_TERM_BRIDGES_PATH = str(tmp_path / "absent.json")
    with pytest.raises(ImproperlyConfigured, match="bridges_fit"):
        bridges_current()
    fitted = bridges_fit(PAIRS, CORPUS, params=FitParams(min_lift=2.0))
    path = tmp_path / "fitted.json"
    path.write_text(json.dumps(fitted.to_json(), ensure_ascii=False), encoding="utf-8")
    settings.ANSWER_TERM_BRIDGES_PATH = str(path)
    loaded = bridges_load(path)
    assert loaded.version == fitted.version and loaded.meta["data_hash"] == fitted.meta["data_hash"]
    assert bridges_current().targets("派出所") == fitted.targets("派出所")


def test_bridges_fit_command_learns_from_a_dev_folder(tmp_path) -> None:
    corpus = [{"doc_id": f"d{i}", "text": text} for i, text in enumerate(CORPUS)]
    questions = [
        {"id": f"q{i}", "question": q, "gold_doc_ids": [f"d{i}"], "split": "dev"}
        for i, (q, _) in enumerate(PAIRS)
    ]
    folder = tmp_path / "set"
    folder.mkdir()
    for name, rows in (("corpus.jsonl", corpus), ("questions.jsonl", questions)):
        (folder / name).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    out = tmp_path / "out.json"
    call_command("bridges_fit", "--datasets", str(folder), "--min-lift", "2", "--out", str(out))
    written = json.loads(out.read_text(encoding="utf-8"))
    assert "公安机关" in written["bridges"]["派出所"]
    assert written["pairs"] == 4 and written["params"]["min_lift"] == 2.0


# --- near words (portal/qa/termvectors.py) ---------------------------------------------------
def test_a_chinese_term_is_met_by_a_passage_word_of_the_same_meaning(settings) -> None:
    """The real multilingual encoder: 社保 is near 社会保险 and not near 药品."""
    spec = settings.EMBEDDING_MODEL
    assert termvectors.near_terms(spec, ["社保"], ["社会保险", "缴纳"], 0.65) == {"社保"}
    assert termvectors.near_terms(spec, ["社保"], ["药品", "疫苗"], 0.65) == set()
    # Numbers, single characters, English words and the tokenizer's "_" pairs are never matched.
    assert termvectors.near_terms(spec, ["六十", "job", "_社保"], ["六十日", "work"], 0.0) == set()


def test_near_words_earn_part_of_a_terms_weight_when_on(settings) -> None:
    question = "社保 转移"
    passage = "社会保险关系可以转移接续。"
    settings.ANSWER_TERM_NEAR = False
    off = answerability.term_weights(question, None, bridges=None).coverage(passage)
    settings.ANSWER_TERM_NEAR, settings.ANSWER_TERM_NEAR_CREDIT = True, 0.5
    settings.ANSWER_TERM_NEAR_FLOOR = 0.65
    on = answerability.term_weights(question, None, bridges=None).coverage(passage)
    assert off == pytest.approx(0.5)  # 转移 only
    assert on == pytest.approx(0.75)  # + half of 社保
    settings.ANSWER_TERM_NEAR_FLOOR = 1.01
    assert answerability.term_weights(question, None, bridges=None).coverage(passage) == (
        pytest.approx(off)
    )
