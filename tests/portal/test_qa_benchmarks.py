"""`manage.py benchmark generation` end to end (extractive backend: no model in plain tests)."""

from __future__ import annotations

import json

from django.core.management import call_command

from portal.evaluation.benchmarks.generation import demo_questions
from tests.portal.factories import PASSPORT_MD, ingest


def test_generation_benchmark_warms_up_then_times_every_demo_question(db, tmp_path):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    out = tmp_path / "generation.json"
    call_command("benchmark", "generation", "--out", str(out))
    report = json.loads(out.read_text())
    questions = demo_questions()
    assert report["backend"] == "extractive" and report["n_questions"] == len(questions)
    # What a serving process loads before its first question is loaded before the timing starts.
    assert set(report["warmup_s"]) == {
        "embedder",
        "keyword_index",
        "agencies",
        "guard",
        "harm_reader",
        "model",
        "prompt_prefix",
    }
    assert sum(report["statuses"].values()) == len(questions)
    assert 0 < report["answer_s_p50"] <= report["answer_s_p95"]
