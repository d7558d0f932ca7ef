"""The verifier case corpus (tests/verifier_cases/*.jsonl), run at production settings.

Production settings: the verifier configuration built from settings, the shipped support scorer
and the product's real embedder. Cases from a test split are refused outright.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portal.qa.conf import verifier_config
from portal.qa.engine.relevance import embed_texts
from portal.qa.verify import PassageEvidence, claim_verify

CASES_DIR = Path(__file__).resolve().parents[1] / "verifier_cases"


def _cases() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                out.append((f"{path.name}:{n}", json.loads(line)))
    return out


CASES = _cases()


def test_the_corpus_is_not_empty_and_well_formed():
    assert len(CASES) >= 20
    for where, case in CASES:
        assert case["expect"] in ("supported", "unsupported", "trivial"), where
        assert set(case["cites"]) <= set(case["passages"]), where
        assert case["source"], where
        if case["expect"] != "supported":
            assert case["code"], f"{where}: say which finding an unsupported case must carry"


def test_no_case_comes_from_a_test_split():
    """Test splits are for final figures: a rule written from one of their sentences is tuning
    on the test set. CI fails on such a case."""
    offending = [where for where, case in CASES if str(case["source"]).endswith(":test")]
    assert offending == [], f"cases from a test split: {offending}"


@pytest.mark.parametrize(("where", "case"), CASES, ids=[w for w, _ in CASES])
def test_case(where, case, settings):
    # Given the passages and the claim as the model (or a person) wrote it
    evidence = {label: PassageEvidence.of(label, text) for label, text in case["passages"].items()}
    # When it is verified exactly as the engine does in production
    verdict = claim_verify(
        case["sentence"], case["cites"], evidence, config=verifier_config(), embed=embed_texts
    )
    # Then the verdict is what a reader expects, for the reason the case names
    codes = verdict.codes
    if case["expect"] == "supported":
        assert verdict.supported, f"{where}: {case['why']} -> {codes} p={verdict.probability:.2f}"
    elif case["expect"] == "trivial":
        assert verdict.trivial and case["code"] in codes, f"{where}: {codes}"
    else:
        assert not verdict.supported, f"{where}: {case['why']} (p={verdict.probability:.2f})"
        assert case["code"] in codes, f"{where}: expected {case['code']}, got {codes}"
