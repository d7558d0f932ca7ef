"""`manage.py safety_fit`: the heads are trained on dev rows only and their thresholds come from
out-of-fold dev scores (the full fit runs in about a minute and is not repeated here)."""

import json
from dataclasses import replace

import numpy as np
import pytest

from ingestion.classify import EmbeddingClassifier, to_dict
from ingestion.embedding import load_embedder
from portal.evaluation import safety_fit, safety_rows
from portal.evaluation.safety import prompts_load

pytestmark = pytest.mark.django_db


def _test_texts() -> set[str]:
    texts = set()
    for name in ("bank", "contrast", "contrast_v2", "contrast_v3", "imperative", "tasks",
                 "medication",
                 "medication_v2", "medication_v3", "cvalues", "flames", "safety_prompts",
                 "safety_prompts_zh"):  # fmt: skip
        try:
            texts |= {r["prompt"] for r in prompts_load(name, split="test")}
        except FileNotFoundError:
            continue  # a checkout without ../shared
    path = safety_rows.DATA / "planted_sentences.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["split"] == "test":
            texts.add(row["text"])
    return texts


def test_no_training_row_comes_from_a_test_split():
    held_out = _test_texts()
    rows, pairs = safety_rows.training_rows()
    for part in rows.values():
        assert part
        overlap = {r.text for r in part} & held_out
        # Counts only: a failure must not print test items.
        assert not overlap, f"{len(overlap)} training rows repeat a test-half text"
    assert pairs and all(p["split"] == "dev" for p in pairs)
    # Both languages and both labels reach every head.
    for name in ("harm", "medication", "planted", "hazard"):
        assert {(r.language, r.label) for r in rows[name]} >= {
            ("en", 0), ("en", 1), ("zh", 0), ("zh", 1)
        }  # fmt: skip


def _toy() -> tuple[list, np.ndarray]:
    harmful_en = [f"How can I hurt neighbour number {i} without being caught?" for i in range(12)]
    harmless_en = [f"How do I apply for housing benefit in district {i}?" for i in range(12)]
    harmful_zh = [f"怎样伤害第{i}号邻居而不被发现？" for i in range(12)]
    harmless_zh = [f"第{i}区的住房补贴怎么申请？" for i in range(12)]
    rows = [
        safety_rows.Row(t, label, lang, "contrast")
        for texts, label, lang in (
            (harmful_en, 1, "en"), (harmless_en, 0, "en"), (harmful_zh, 1, "zh"),
            (harmless_zh, 0, "zh"),
        )
        for t in texts
    ]  # fmt: skip
    x = load_embedder("use-multilingual").embed([r.text for r in rows]).astype(np.float64)
    return rows, x


def test_head_fit_chooses_each_languages_threshold_on_out_of_fold_scores():
    rows, x = _toy()
    lines = []
    head = safety_fit.head_fit(
        "harm", rows, x, false_rate=0.1, hard=frozenset({"contrast"}),
        choose_on=frozenset({"contrast"}), extra_rates={"context_floor": 0.5},
        progress=lines.append,
    )  # fmt: skip
    assert len(lines) == len(safety_fit.C_GRID)  # one out-of-fold AUC per candidate
    for language in ("en", "zh"):
        dev = head["dev"][language]
        assert dev["false_rate_chosen_on"] <= 0.1
        assert dev["recall"] > 0.9  # an easy, separable toy set
        assert head["dev"]["context_floor"][language] <= head["thresholds"][language]
    assert len(head["weights"]) == 512 and head["ngrams"]


def test_a_head_with_a_network_member_is_stored_and_scores_as_its_threshold_assumed():
    rows, x = _toy()
    head = safety_fit.head_fit(
        "harm", rows, x, false_rate=0.1, hard=frozenset({"contrast"}), mlp=True,
        progress=lambda line: None,
    )  # fmt: skip
    network = head["mlp"]
    assert len(network["w1"]) == 512 and len(network["w1"][0]) == safety_fit.MLP_HIDDEN
    assert len(network["w2"]) == safety_fit.MLP_HIDDEN
    loaded = EmbeddingClassifier.from_dict(
        to_dict(version="toy", embedder="use-multilingual", data_hash="0" * 16,
                heads={"harm": head})
    ).heads["harm"]  # fmt: skip
    texts = [r.text for r in rows]
    vectors = x.astype(np.float32)
    blended = loaded.probabilities(vectors, texts)
    linear = replace(loaded, mlp=None).probabilities(vectors, texts)
    assert not np.allclose(blended, linear)  # the network member takes part
    labels = np.array([r.label for r in rows])
    languages = np.array([r.language for r in rows])
    fired = blended >= np.array([head["thresholds"][lang] for lang in languages])
    assert fired[labels == 1].mean() > 0.9 and fired[labels == 0].mean() <= 0.2


def test_the_fit_command_refuses_unknown_parts_and_cascades():
    from django.core.management import CommandError, call_command

    for option in ("--parts", "--cascades"):
        with pytest.raises(CommandError, match=option):
            call_command("safety_fit", option, "everything")
