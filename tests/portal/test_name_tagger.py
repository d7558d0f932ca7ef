"""The question redactor's learned name tagger (portal/safety/names.py): per-token states of the
local LLM (llm_backend.hidden.TokenEncoder), a logistic head per token, runs of flagged tokens as
NAME findings beside the rules'. Span arithmetic and the fit are checked on made-up data, the
encoder and the shipped head on the real model. Recall and precision are measured by `evaluate
pii` on the labelled sets, not asserted here."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from django.test import override_settings

from ingestion.cascade import head_load
from llm_backend.hidden import _char_offsets, model_sha256, token_encoder_for
from portal.evaluation.name_fit import VETO_GRID, Question, _choose, _choose_sources, name_fit
from portal.safety import names
from portal.safety.names import NAME_TAGGER_FILE, name_spans, runs_from_tokens, span_peak
from portal.safety.pii import PiiFinding, pii_find, redact_with_findings, tagger_veto


def test_runs_join_the_tokens_of_one_name_and_trim_what_the_tokens_carry():
    text = "Can Mary-Kate O'Neill's son apply? 阿依古丽·买买提的医保"
    tokens = [(0, 3), (3, 8), (8, 9), (9, 13), (13, 15), (15, 21), (21, 23), (23, 27),
              (27, 34), (35, 39), (39, 40), (40, 43), (43, 44), (44, 46)]  # fmt: skip
    assert [text[s:e] for s, e in tokens][:9] == [
        "Can",
        " Mary",
        "-",
        "Kate",
        " O",
        "'Neill",
        "'s",
        " son",
        " apply?",
    ]
    probs = np.array([0.1, 0.9, 0.2, 0.8, 0.9, 0.9, 0.7, 0.1, 0.0, 0.9, 0.3, 0.9, 0.1, 0.0])
    runs = runs_from_tokens(text, tokens, probs, 0.5)
    # "-" scores low but only joins; "'s" is flagged but is not part of the name; "·" joins.
    assert [text[s:e] for s, e in runs] == ["Mary-Kate O'Neill", "阿依古丽·买买提"]
    assert runs_from_tokens(text, tokens, probs, 0.95) == []


def test_a_low_scoring_separator_joins_but_a_word_between_does_not():
    text = "王芳和李强"
    tokens = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    probs = np.array([0.9, 0.9, 0.1, 0.9, 0.9])
    assert [text[s:e] for s, e in runs_from_tokens(text, tokens, probs, 0.5)] == ["王芳", "李强"]


def test_the_veto_drops_a_rule_name_no_token_of_which_the_tagger_reads_as_a_name():
    # "Is Juneteenth a holiday for Ann Lee at the Utica office?", tokenised
    tokens = [(0, 2), (2, 15), (15, 28), (28, 32), (32, 36), (36, 43), (43, 49), (49, 56)]
    probs = np.array([0.0, 0.02, 0.01, 0.9, 0.8, 0.0, 0.03, 0.0])
    holiday = PiiFinding("NAME", 3, 13, source="presidio")
    person = PiiFinding("NAME", 28, 35, source="presidio")
    town = PiiFinding("NAME", 43, 48, source="cue_en")
    phone = PiiFinding("PHONE", 3, 13)
    rules = [holiday, person, town, phone]

    def peak(start, end):
        return span_peak(tokens, probs, start, end)

    assert peak(3, 13) == 0.02 and peak(28, 35) == 0.9 and peak(0, 0) == 0.0
    # Only NAME findings of the veto's sources are judged; a name the tagger reads stays.
    assert tagger_veto(rules, peak, 0.05, frozenset({"presidio"})) == [person, town, phone]
    assert tagger_veto(rules, peak, 0.05, frozenset({"presidio", "cue_en"})) == [person, phone]
    assert tagger_veto(rules, peak, 0.01, frozenset({"presidio"})) == rules  # 0.02 >= 0.01
    assert tagger_veto(rules, peak, 0.0, frozenset({"presidio"})) == rules  # 0 is off


def test_the_fit_ranks_by_f_beta_then_the_smaller_veto_then_the_fewest_sources():
    def figures(t, v, recall, precision):
        return {"threshold": t, "veto": v, "recall": recall, "precision": precision}

    fits = {
        (0.6, 0.05): figures(0.6, 0.05, 0.937, 0.909),
        (0.6, 0.3): figures(0.6, 0.3, 0.932, 0.931),  # a name fewer, 2% more precise
        (0.4, 0.3): figures(0.4, 0.3, 0.960, 0.700),
    }
    assert _choose(fits, 2.0) == fits[(0.6, 0.3)]
    assert _choose(fits, 10.0) == fits[(0.4, 0.3)]  # recall all but alone
    same = {(0.6, 0.0): figures(0.6, 0.0, 0.9, 0.95), (0.6, 0.1): figures(0.6, 0.1, 0.9, 0.95)}
    assert _choose(same, 2.0)["veto"] == 0.0  # a tie: no veto
    sets = (frozenset({"presidio"}), frozenset({"presidio", "cue_en"}))
    chosen = {"zh": figures(0.5, 0.0, 0.9, 0.95), "en": figures(0.5, 0.1, 0.9, 0.93)}
    by_sources = {"presidio": chosen, "cue_en+presidio": dict(chosen)}
    assert _choose_sources(by_sources, sets, 2.0) == sets[0]  # a tie: the fewer sources
    by_sources["cue_en+presidio"] = chosen | {"en": figures(0.5, 0.1, 0.9, 0.96)}
    assert _choose_sources(by_sources, sets, 2.0) == sets[1]


def test_a_token_that_ends_inside_a_character_takes_the_whole_character():
    floor, ceil = _char_offsets("a𠮷b")  # 𠮷 is four bytes in UTF-8
    assert floor == [0, 1, 1, 1, 1, 2, 3]
    assert ceil == [0, 1, 2, 2, 2, 2, 3]
    # A token ending in the middle of 𠮷 (byte 3) ends after it; one starting there starts at it.
    assert ceil[3] == 2 and floor[3] == 1


def test_the_token_encoder_reads_every_token_of_the_question_once(qwen_gguf):
    encoder = token_encoder_for(str(qwen_gguf), 2)
    text = "我外婆孙秀兰在马鞍山住院，Can her grandson Tomasz visit?"
    spans, matrix = encoder.encode(text)
    assert matrix.shape[0] == len(spans) and matrix.shape[1] > 100
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert "".join(text[s:e] for s, e in spans) == text
    # The second reading differs from a first one: its states have seen the whole question.
    again, matrix_again = encoder.encode(text)
    assert again == spans and np.allclose(matrix, matrix_again, atol=1e-3)


@pytest.mark.skipif(not NAME_TAGGER_FILE.exists(), reason="no shipped name tagger head")
def test_the_shipped_tagger_finds_names_without_cues_and_leaves_places(qwen_gguf):
    head = head_load(str(NAME_TAGGER_FILE))
    assert head.model_sha256 == model_sha256(str(qwen_gguf))
    with override_settings(SAFETY_PII_TAGGER_MODEL=qwen_gguf, SAFETY_PII_TAGGER=True):
        text = "上官婉清去年从石家庄调到郑州，她的养老保险关系怎么转？"
        found = [text[s:e] for s, e in name_spans(text, "zh")]
        assert "上官婉清" in found and not any("石家庄" in f or "郑州" in f for f in found)
        text = "Can Oluwaseun Adeyemi keep Medicaid if she moves from Madison to Jackson?"
        found = [text[s:e] for s, e in name_spans(text, "en")]
        assert any("Adeyemi" in f for f in found)
        assert not any("Madison" in f or "Jackson" in f or "Medicaid" in f for f in found)
        redacted, findings = redact_with_findings("上官婉清的医保卡丢了怎么补？")
        assert redacted.startswith("<NAME>") and any(f.source == "tagger" for f in findings)


@pytest.mark.skipif(not NAME_TAGGER_FILE.exists(), reason="no shipped name tagger head")
def test_the_shipped_tagger_vetoes_a_drug_spacy_calls_a_person_and_keeps_a_person(qwen_gguf):
    drug = "Does Gabapentin interact with Tramadol?"
    person = "My daughter Emily Carter needs a new Medicaid card, where do I go?"
    with override_settings(SAFETY_PII_TAGGER_MODEL=qwen_gguf, SAFETY_PII_TAGGER=True):
        assert names.veto_threshold("en") > 0 and "presidio" in names.veto_sources()
        # spaCy tags the drug a PERSON; the gate passes over the question, so it is read for
        # the veto alone, and no token of "Tramadol" reads as a name.
        assert [f.source for f in pii_find(drug, use_tagger=False)] == ["presidio"]
        assert not names.gate_passes(drug, "en")
        assert pii_find(drug) == []
        assert redact_with_findings(person)[0].startswith("My daughter <NAME> needs")
    with override_settings(SAFETY_PII_TAGGER_MODEL=qwen_gguf, SAFETY_PII_TAGGER_VETO="0"):
        assert [f.source for f in pii_find(drug)] == ["presidio"]  # veto off: the rule stands
    with override_settings(SAFETY_PII_TAGGER_MODEL=qwen_gguf, SAFETY_PII_TAGGER_VETO_READS=False):
        assert [f.source for f in pii_find(drug)] == ["presidio"]  # not read: not judged


def test_the_tagger_is_off_by_setting_and_for_a_head_fitted_on_another_model(tmp_path):
    text = "上官婉清的医保卡丢了怎么补？"
    with override_settings(SAFETY_PII_TAGGER=False):
        assert names.tagger_head() is None and name_spans(text, "zh") == []
        assert all(f.source != "tagger" for f in pii_find(text))
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF not this model")
    with override_settings(SAFETY_PII_TAGGER=True, SAFETY_PII_TAGGER_MODEL=other):
        assert names.tagger_head() is None and name_spans(text, "zh") == []


class MadeUpEncoder:
    """One token per character; dimension 0 says "in a name" for the characters of the made-up
    names, with noise elsewhere, so a fit has something to learn and a threshold to choose."""

    NAMES = ("甄一", "Qx Zv")

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def encode(self, text: str):
        spans = [(i, i + 1) for i in range(len(text))]
        matrix = self.rng.normal(0, 1, (len(text), 4)).astype(np.float32)
        for name in self.NAMES:
            at = text.find(name)
            while at >= 0:
                matrix[at : at + len(name), 0] += 6.0
                at = text.find(name, at + 1)
        return spans, matrix


def _labelled(text: str, language: str, name: str) -> Question:
    start = text.find(name)
    span = {"start": start, "end": start + len(name), "text": name, "type": "NAME",
            "personal": True}  # fmt: skip
    row = {"id": text, "split": "dev", "language": language, "text": text, "spans": [span]}
    return Question(text, language, "made_up", names=[(start, start + len(name))], row=row)


def _made_up_embedding(texts: list[str]) -> np.ndarray:
    """A sentence "embedding" whose first dimension says the text names someone (the gate)."""
    rng = np.random.default_rng(len(texts))
    named = np.array([[float(any(n in t for n in MadeUpEncoder.NAMES))] for t in texts])
    return np.hstack([named, rng.normal(0, 0.1, (len(texts), 3))])


def test_the_fit_chooses_a_threshold_per_language_on_the_redactors_span_metrics(tmp_path):
    labelled = [_labelled(f"请问{i}号甄一的低保怎么办{i}", "zh", "甄一") for i in range(40)]
    labelled += [_labelled(f"Can Qx Zv get benefit number {i}?", "en", "Qx Zv") for i in range(40)]
    unlabelled = [Question(f"低保怎么申请第{i}次", "zh", "made_up") for i in range(40)]
    unlabelled += [Question(f"How do I apply for benefit {i}?", "en", "made_up") for i in range(40)]
    head = name_fit(
        model_path=tmp_path / "made-up.gguf",
        model_sha256="0" * 64,
        encode=MadeUpEncoder().encode,
        cache_path=tmp_path / "cache.pkl",
        labelled=labelled,
        unlabelled=unlabelled,
        embedder="made-up",
        embed=_made_up_embedding,
        progress=lambda m: None,
    )
    assert set(head["thresholds"]) == {"zh", "en", "*"}
    for language in ("zh", "en"):
        figures = head["dev"][language]
        assert figures["recall_names"] >= 0.95 and figures["precision"] >= 0.95
        assert figures["unlabelled_fired"] <= 0.01
    assert head["dev"]["oof_token_auc"] > 0.95
    assert set(head["veto"]) == {"zh", "en", "*"} and set(head["veto"].values()) <= set(VETO_GRID)
    assert head["veto_sources"] and set(head["veto_sources"]) <= {"presidio", "cue_en",
                                                                  "cue_zh", "jieba"}  # fmt: skip
    # The gate lets (nearly) every question that names someone through, and few others.
    assert head["gate"]["heads"]["names"]["thresholds"]["zh"] > 0
    assert head["dev"]["gate_zh"]["named_questions_passed"] >= 0.95
    assert head["dev"]["gate_en"]["encoded_share_unlabelled"] < 0.5
    assert (tmp_path / "cache.pkl").exists()
    json.dumps(head)  # the head file is plain JSON
