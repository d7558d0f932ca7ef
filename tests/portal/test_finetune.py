"""The fine-tuning loop: review decisions and dev-split seeds -> dataset -> LoRA training (the tiny
configuration, on the CPU) -> the promotion gate -> serving -> answers carrying the adapter id.

Models here are real: tests/llm_backend/tiny_hf.py writes a 2-layer Qwen2 with random weights, and
training, saving, loading and generating go through transformers and peft for real.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portal.core.serving import serving_backend_config, serving_record
from portal.finetune import datasets as ds
from portal.finetune import seeds, selectors, services
from portal.finetune.models import Adapter, AdapterStatus, Dataset, ServingChange
from portal.qa import backends
from portal.qa.models import AnswerStatus
from portal.qa.prompts import REFUSAL_TOKEN
from portal.qa.services import answer_run
from portal.review.models import ReviewDecision
from portal.review.services import review_edit, review_reject
from tests.conftest import needs_shared_datasets
from tests.llm_backend.tiny_hf import tiny_qwen2
from tests.portal.factories import PASSPORT_MD, ingest

QUESTION = "How long does passport renewal by mail take?"
EDIT = "Renewal by mail takes 6 to 8 weeks [1]."


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    return tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2") / "tiny-qwen2")


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")


def _held(question: str = QUESTION):
    answer = answer_run(question=question).answer
    answer.status = AnswerStatus.HELD  # as the router does for a held category
    answer.save(update_fields=["status"])
    return answer


@pytest.fixture
def edited(knowledge, make_user) -> ReviewDecision:
    """A reviewer's edit of a held answer, through the review service."""
    answer = _held()
    answer.draft = "Renewal takes 2 weeks. [1]"  # what a small model wrote (wrong number)
    answer.save(update_fields=["draft"])
    result = review_edit(answer=answer, reviewer=make_user("reviewer"), text=EDIT, reason="fix")
    assert result.saved
    return ReviewDecision.objects.get(answer=answer)


def _metrics(csf: float, precision: float, unsupported: float) -> dict:
    return {
        "dataset": "pubmedqa",
        "split": "dev",
        "n_questions": 20,
        "metrics": {
            "draft_cited_fraction": csf,
            "citation_precision": precision,
            "unsupported_before_verification": unsupported,
        },
    }


# --- Dataset ----------------------------------------------------------------------------------


def test_review_edit_becomes_an_sft_pair_and_a_preference_over_the_draft(edited, settings):
    dataset = services.dataset_build(seeds=[])
    sft = ds.read_jsonl(Path(dataset.path) / "sft.jsonl")
    dpo = ds.read_jsonl(Path(dataset.path) / "dpo.jsonl")
    assert [r["source"] for r in sft] == ["review:edit"]
    row = sft[0]
    # The edited text in the prompt's one-shot format, the passages as the model was given them.
    assert row["chosen"] == "Renewal by mail takes 6 to 8 weeks [1]."
    assert row["question"] == QUESTION
    assert any("6 to 8 weeks" in text for _label, _title, text in row["passages"])
    assert dpo[0]["chosen"] == row["chosen"]
    assert dpo[0]["rejected"] == "Renewal takes 2 weeks [1]."
    # The rendered prompt is build_prompt's, ending with the question.
    example = services.training_examples(dataset, kind="sft")[0]
    assert example["messages"][0]["role"] == "system"
    assert example["messages"][-1]["content"].endswith(f"Question: {QUESTION}")
    assert "6 to 8 weeks" in example["messages"][-1]["content"]


def test_rejection_prefers_a_refusal_or_a_quote_and_personal_data_is_redacted(knowledge, make_user):
    answer = _held("How long does passport renewal by mail take? 13812345678")
    answer.draft = "Renewal is instant [1]."
    answer.save(update_fields=["draft"])
    review_reject(answer=answer, reviewer=make_user("reviewer"), reason="wrong")
    dataset = services.dataset_build(seeds=[])
    dpo = ds.read_jsonl(Path(dataset.path) / "dpo.jsonl")
    sft = ds.read_jsonl(Path(dataset.path) / "sft.jsonl")
    assert sft == []  # a rejected draft is never a target
    assert len(dpo) == 1 and dpo[0]["rejected"] == "Renewal is instant [1]."
    chosen = dpo[0]["chosen"]
    assert chosen == REFUSAL_TOKEN or ("6 to 8 weeks" in chosen and chosen.endswith("[1]."))
    assert "13812345678" not in json.dumps(dpo, ensure_ascii=False)


def test_content_hash_is_stable_and_moves_with_the_data(edited, tmp_path):
    first = services.dataset_build(seeds=[])
    again = services.dataset_build(seeds=[], out_dir=tmp_path)
    assert again.pk == first.pk and again.hash == first.hash
    assert Dataset.objects.count() == 1
    # Same rows, same hash, whatever the process (the canary is not part of stored rows).
    sft = ds.read_jsonl(Path(first.path) / "sft.jsonl")
    dpo = ds.read_jsonl(Path(first.path) / "dpo.jsonl")
    assert ds.content_hash(sft, dpo, prompt_version="cited-v1") == first.hash
    edited.final_text = (
        "Renewal by mail takes 6 to 8 weeks. [1] Expedited service takes 2 to 3 weeks. [1]"
    )
    edited.save(update_fields=["final_text"])
    assert services.dataset_build(seeds=[]).hash != first.hash


@pytest.fixture(scope="module")
def seeded() -> list[ds.Example]:
    """Ten questions of every seed (refusal twins and DPO rejections added), built once."""
    return seeds.seed_examples(list(seeds.SEEDS), per_seed=10, holdout=200)


@needs_shared_datasets
def test_seeds_come_from_dev_splits_outside_the_gate_holdout_and_include_refusals(db):
    from portal.evaluation.answers import _spread
    from portal.evaluation.datasets import DATASETS_DIR, _doc2dial_split, load, pubmedqa, stard

    dataset = services.dataset_build(seeds=["pubmedqa", "doc2dial", "stard"], per_seed=10)
    rows = ds.read_jsonl(Path(dataset.path) / "sft.jsonl")
    # Ten questions each, and for two of them (one in five) the same question over near-topic
    # passages only.
    assert dataset.counts["by_source"] == {
        "seed:doc2dial": 12,
        "seed:pubmedqa": 12,
        "seed:stard": 12,
    }
    assert dataset.counts["by_language"] == {"en": 24, "zh": 12}
    manifest = json.loads((Path(dataset.path) / "manifest.json").read_text())
    assert manifest["counts"]["dpo_by_source"] == dataset.counts["dpo_by_source"]
    pubmed_test = set(
        json.loads((DATASETS_DIR / "pubmedqa_pqal/test_ground_truth.json").read_text())
    )
    stard_test = {q.id for q in stard("test").questions}
    # What `evaluate answers --limit 200` grades, in the set and in its translation, is held out.
    gate_pubmed = {q.id for q in _spread(pubmedqa("dev").questions, 200)}
    gate_pubmed |= {q.id for q in _spread(load("pubmedqa_zh", "dev").questions, 25)}
    gate_stard = {q.id for q in _spread(stard("dev").questions, 200)}
    for row in rows:
        meta = row["meta"]
        assert meta["split"] == "dev"
        if row["source"] == "seed:pubmedqa":
            assert meta["pmid"] not in pubmed_test and meta["pmid"] not in gate_pubmed
        elif row["source"] == "seed:doc2dial":
            assert _doc2dial_split(meta["title"]) == "dev"
        else:
            assert str(meta["query_id"]) not in stard_test | gate_stard
            assert row["language"] == "zh"
    refusals = [r for r in rows if r["chosen"] == REFUSAL_TOKEN]
    assert len(refusals) == 6 and dataset.counts["refusals"] == len(refusals)
    answered = [r for r in rows if r["chosen"] != REFUSAL_TOKEN]
    for row in answered:
        # Every target sentence is copied from the passage its marker names.
        for sentence in ds.split_sentences(row["chosen"]):
            assert sentence.labels, row["chosen"]
            passage = {p[0]: p[2] for p in row["passages"]}[sentence.labels[0]]
            assert sentence.text.rstrip(".。") in passage
    with pytest.raises(ds.TestSplitError):
        ds._assert_not_test("pubmedqa", {"1", next(iter(pubmed_test))}, pubmed_test)


@needs_shared_datasets
def test_every_answer_set_seeds_examples_in_both_languages(seeded):
    sources = {e.source for e in seeded}
    assert sources == {f"seed:{name}" for name in seeds.SEEDS}
    languages = {ds.language_key(e.language, e.question) for e in seeded}
    assert {"en", "zh", "zh->en"} <= languages
    # Where a set labels the answer span, the target holds the sentence(s) that contain it.
    from portal.evaluation.datasets import CN_LAW_QUESTIONS, _jsonl

    spans = {row["id"]: row["gold_spans"] for row in _jsonl(CN_LAW_QUESTIONS)}
    cn_law = [e for e in seeded if e.source == "seed:cn_law" and e.chosen != REFUSAL_TOKEN]
    assert cn_law
    for example in cn_law:
        if not example.id.endswith(":refuse"):
            stated = [span.rstrip("。；") for span in spans[example.meta["qid"]]]
            assert any(span in example.chosen for span in stated), example.chosen


@needs_shared_datasets
def test_near_topic_refusals_come_from_the_same_set_and_never_from_the_gold(seeded):
    from portal.evaluation.datasets import DATASETS_DIR

    pubmed = json.loads((DATASETS_DIR / "pubmedqa_pqal/ori_pqal.json").read_text())
    by_id = {e.id: e for e in seeded}
    twins = [e for e in seeded if e.id.endswith(":refuse")]
    assert {e.source for e in twins} >= {"seed:pubmedqa", "seed:doc2dial", "seed:stard"}
    for twin in twins:
        assert twin.chosen == REFUSAL_TOKEN and twin.passages
        original = by_id[twin.id.removesuffix(":refuse")]
        cited = ds.split_sentences(original.chosen)
        gold = {
            title for label, title, _t in original.passages if any(label in s.labels for s in cited)
        }
        quoted = [s.text.rstrip(".。；;") for s in cited]
        for _label, title, text in twin.passages:
            assert not any(q in text for q in quoted), (twin.id, text)
            if twin.source == "seed:pubmedqa":
                pmid = title.split()[1]
                assert pmid in pubmed and pmid != original.meta["pmid"]
            if twin.source == "seed:stard":  # another law than the gold articles'
                assert not any(title.startswith(g.split("第")[0]) for g in gold)
        # Near-topic: the nearest passage shares content with the question (same domain), it is
        # not a random one.
        if "->" in ds.language_key(twin.language, twin.question):
            continue  # ranked by the question in the passages' language, not this one
        units = ds.word_units(original.question)
        held = ds.word_units(twin.passages[0][2])
        assert units & held, twin.id


@needs_shared_datasets
def test_dpo_perturbations_are_rejected_by_the_verifier_and_the_target_is_not(seeded):
    from portal.finetune import preferences

    perturbed = [e for e in seeded if e.meta.get("rejected_by", "").startswith("perturb:")]
    assert len({e.meta["rejected_by"] for e in perturbed}) >= 3
    for example in perturbed:
        rejected = preferences.verdicts(example.rejected, example.passages)
        assert any(not v.supported for v in rejected), example.rejected
        found = {code for v in rejected for code in v.codes}
        assert set(example.meta["findings"]) <= found
    kinds = {e.meta.get("rejected_by") for e in seeded if e.rejected}
    assert {"refuse_answerable", "answer_refusal"} <= kinds
    for example in seeded:
        if example.meta.get("rejected_by") == "refuse_answerable":
            assert example.rejected == REFUSAL_TOKEN != example.chosen
        if example.meta.get("rejected_by") == "answer_refusal":
            assert example.chosen == REFUSAL_TOKEN
            assert all(s.labels for s in ds.split_sentences(example.rejected))


@pytest.mark.parametrize(
    ("name", "sentence", "changed"),
    [
        ("number", "The licence fee is 40 dollars.", "The licence fee is 80 dollars."),
        ("age", "Residents aged 16 or older can apply.", "Residents aged 18 or older can apply."),
        ("condition", "Adults 16 or older can apply.", "Adults 16 or younger can apply."),
        ("negation", "You can renew by mail.", "You cannot renew by mail."),
        ("negation", "You cannot renew by mail.", "You can renew by mail."),
        ("negation", "可以凭本人的护照证明其身份。", "不得凭本人的护照证明其身份。"),
        ("age", "年满十六周岁的公民应当申领身份证。", "年满18周岁的公民应当申领身份证。"),
    ],
)  # fmt: skip
def test_each_perturbation_changes_what_a_small_model_gets_wrong(name, sentence, changed):
    from portal.finetune import preferences

    assert preferences.PERTURBATIONS[name](sentence, ("1",), ("1", "2")) == (changed, ("1",))
    moved = preferences.PERTURBATIONS["wrong_passage"](sentence, ("1",), ("1", "2"))
    assert moved == (sentence, ("2",))


def test_a_perturbation_is_kept_only_when_the_verifier_tells_it_from_the_target():
    from dataclasses import replace

    from portal.finetune import preferences

    passages = [
        ("1", "Licences", "Residents aged 16 or older can apply for a licence."),
        ("2", "Fees", "The licence fee is 40 dollars."),
    ]
    target = "Residents aged 16 or older can apply for a licence [1]."
    example = ds.Example("licence", "seed:test", "en", "Who can apply?", passages, target)
    rejected, meta = preferences.perturbed(example)
    assert rejected != target and meta["rejected_by"].startswith("perturb:")
    assert all(v.supported for v in preferences.verdicts(target, passages))
    assert any(not v.supported for v in preferences.verdicts(rejected, passages))
    # A target the verifier does not accept gives no pair: the change would not be the only
    # difference between chosen and rejected.
    assert (
        preferences.perturbed(replace(example, chosen="The licence fee is 90 dollars [2].")) is None
    )
    assert preferences.refused(example) == (REFUSAL_TOKEN, {"rejected_by": "refuse_answerable"})


def test_seed_rows_from_a_test_split_are_refused(db, monkeypatch):
    def leaky(run):
        example = ds.Example("leak:1", "seed:leaky", "en", "q?", [("1", "t", "x.")], "x [1].",
                             meta={"split": "test"})  # fmt: skip
        yield seeds.Seeded(example, ds.NearTopic([]), "q?")

    monkeypatch.setitem(seeds.SEEDS, "leaky", leaky)
    with pytest.raises(ds.TestSplitError):
        services.dataset_build(seeds=["leaky"])
    with pytest.raises(ValueError, match="unknown seed"):
        services.dataset_build(seeds=["nope"])


@needs_shared_datasets
def test_the_seed_hash_is_the_same_in_another_process(db):
    """Same inputs, same hash, whatever the process's string-hash seed (set order): this process
    draws a random one, the other runs without (PYTHONHASHSEED=0)."""
    import subprocess
    import sys

    script = (
        "import django; django.setup()\n"
        "from portal.finetune import datasets as ds, seeds\n"
        "rows = [e.row() for e in seeds.seed_examples(['pubmedqa', 'cn_law'], "
        "per_seed=8, holdout=200)]\n"
        "print(ds.content_hash(rows, [], prompt_version='v'))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "0", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    other = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    rows = [e.row() for e in seeds.seed_examples(["pubmedqa", "cn_law"], per_seed=8, holdout=200)]
    here = ds.content_hash(rows, [], prompt_version="v")
    assert other.stdout.strip().splitlines()[-1] == here


# --- Training ---------------------------------------------------------------------------------


@pytest.fixture
def dataset(edited) -> Dataset:
    return services.dataset_build(seeds=[])


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_tiny_sft_and_dpo_produce_adapters_whose_loss_decreases(dataset, tiny_base, settings):
    sft = services.adapter_train(kind="sft", base=str(tiny_base), dataset=dataset)
    losses = sft.training["losses"]
    assert len(losses) == 12 and _mean(losses[-3:]) < _mean(losses[:3])
    assert Path(sft.path, "adapter_config.json").is_file()
    assert Path(sft.path, "loss.png").read_bytes()[:4] == b"\x89PNG"  # the curve, beside it
    assert Path(sft.path).parent == Path(settings.DATA_DIR) / "adapters"
    assert sft.fingerprint.startswith(f"{sft.id}@sha256:")
    assert sft.dataset == dataset and sft.hyperparameters["config"] == "tiny"
    assert Adapter.objects.get(kind="base").base_model_id == sft.base_model_id

    dpo = services.adapter_train(kind="dpo", base="", dataset=dataset, start_from=sft)
    losses = dpo.training["losses"]
    assert losses[0] == pytest.approx(0.6931, abs=0.01)  # starts at the reference: log 2
    assert _mean(losses[-3:]) < _mean(losses[:3])
    assert dpo.parent == sft and dpo.base_model_dir == sft.base_model_dir
    assert dpo.training["extra"]["reward_accuracy"][-1] == 1.0
    assert Path(dpo.path, "loss.png").read_bytes()[:4] == b"\x89PNG"


# --- Gate, serving, rollback ------------------------------------------------------------------


def _adapter(id: str, dataset, base: Adapter, evaluation: dict | None) -> Adapter:
    adapter = Adapter.objects.create(
        id=id, kind="sft", base_model_dir=base.base_model_dir, base_model_id=base.base_model_id,
        path="", dataset=dataset,
    )  # fmt: skip
    if evaluation:
        services.evaluation_store(adapter=adapter, report=evaluation, limit=20)
    return Adapter.objects.get(pk=id)


@pytest.fixture
def base_row(db, tiny_base) -> Adapter:
    base = services.base_register(model_dir=tiny_base)
    services.evaluation_store(adapter=base, report=_metrics(0.6, 0.5, 0.4), limit=20)
    return base


def test_gate_refuses_a_worse_adapter_and_serves_a_better_one(base_row, dataset):
    worse = _adapter("sft-worse", dataset, base_row, _metrics(0.9, 0.7, 0.45))  # more unsupported
    result = services.adapter_promote(adapter=worse)
    assert not result.promoted and "unsupported_before_verification" in result.reason
    assert "0.4000" in result.table and "0.4500" in result.table and "FAIL" in result.table
    assert selectors.serving_adapter() is None

    unevaluated = _adapter("sft-unevaluated", dataset, base_row, None)
    assert not services.adapter_promote(adapter=unevaluated).promoted

    better = _adapter("sft-better", dataset, base_row, _metrics(0.9, 0.7, 0.3))
    result = services.adapter_promote(adapter=better)
    assert result.promoted and "FAIL" not in result.table
    assert selectors.serving_adapter() == better
    # The next candidate is compared with what serves now, not with the base.
    same = _adapter("sft-same", dataset, base_row, _metrics(0.9, 0.7, 0.3))
    result = services.adapter_promote(adapter=same)
    assert not result.promoted and "sft-better" in result.table
    assert selectors.serving_adapter().pk == "sft-better"


def test_rollback_restores_what_served_before(base_row, dataset):
    first = _adapter("sft-first", dataset, base_row, _metrics(0.8, 0.6, 0.3))
    second = _adapter("sft-second", dataset, base_row, _metrics(0.9, 0.7, 0.2))
    assert services.adapter_promote(adapter=first).promoted
    assert services.adapter_promote(adapter=second).promoted
    first.refresh_from_db()
    assert first.status == AdapterStatus.RETIRED
    assert services.adapter_rollback() == first
    assert selectors.serving_adapter() == first
    second.refresh_from_db()
    assert second.status == AdapterStatus.RETIRED
    assert services.adapter_rollback() is None  # back to the base model alone
    assert selectors.serving_adapter() is None
    with pytest.raises(services.FinetuneError):
        services.adapter_rollback()
    assert list(ServingChange.objects.values_list("action", flat=True)) == [
        "rollback", "rollback", "promote", "promote"
    ]  # fmt: skip


def test_promotion_and_rollback_write_the_serving_record_the_backend_reads(base_row, dataset):
    """qa.backends reads what serves from core's serving record, which promotion and rollback
    write (portal/core/serving.py), not from the fine-tuning registry."""
    config = {"kind": "transformers", "model_dir": "/models/base", "adapter_dir": None}
    assert serving_record() is None and serving_backend_config(config) == config
    adapter = _adapter("sft-record", dataset, base_row, _metrics(0.9, 0.7, 0.3))
    Adapter.objects.filter(pk=adapter.pk).update(path="/adapters/sft-record")
    assert services.adapter_promote(adapter=adapter).promoted
    record = serving_record()
    assert (record.adapter_id, record.base_model_dir, record.adapter_dir) == (
        "sft-record", base_row.base_model_dir, "/adapters/sft-record"
    )  # fmt: skip
    assert serving_backend_config(config) == {
        **config, "model_dir": base_row.base_model_dir, "adapter_dir": "/adapters/sft-record"
    }  # fmt: skip
    assert serving_backend_config({"kind": "llamacpp"}) == {"kind": "llamacpp"}
    # Evaluating another adapter while this one serves loads the other one, not this one.
    candidate = _adapter("sft-candidate", dataset, base_row, None)
    Adapter.objects.filter(pk=candidate.pk).update(path="/adapters/sft-candidate")
    candidate.refresh_from_db()
    pinned = serving_backend_config(services.backend_config_for(candidate))
    assert pinned["adapter_dir"] == "/adapters/sft-candidate"
    assert services.adapter_rollback() is None
    assert serving_record() is None and serving_backend_config(config) == config


def test_upgrade_migration_copies_the_serving_adapter_into_the_record(base_row, dataset):
    from django.apps import apps

    fill = importlib.import_module("portal.finetune.migrations.0002_serving_record")
    adapter = _adapter("sft-before-upgrade", dataset, base_row, None)
    Adapter.objects.filter(pk=adapter.pk).update(status=AdapterStatus.SERVING)
    fill.serving_record_fill(apps, None)
    assert serving_record().adapter_id == "sft-before-upgrade"


def test_promote_command_prints_the_table_and_fails_when_refused(base_row, dataset, capsys):
    _adapter("sft-cmd", dataset, base_row, _metrics(0.5, 0.7, 0.3))
    with pytest.raises(CommandError, match="draft_cited_fraction"):
        call_command("finetune", "promote", "sft-cmd")
    assert "draft_cited_fraction" in capsys.readouterr().out


# --- Registry page ----------------------------------------------------------------------------


def test_registry_page_plot_and_buttons_need_the_admin_role(
    client, make_user, dataset, tiny_base, caplog
):
    # Steps from the dataset's size: 4 passes over its one example at batch 2 = 2 steps, each
    # logged with its loss, seconds per step and the time left.
    with caplog.at_level(logging.INFO, logger="portal.finetune.training"):
        adapter = services.adapter_train(
            kind="sft", base=str(tiny_base), dataset=dataset, epochs=4, log_every=1
        )
    assert len(adapter.training["losses"]) == 2 and adapter.hyperparameters["steps"] == 2
    lines = [r.getMessage() for r in caplog.records if "s/step" in r.getMessage()]
    assert [line.split(" loss")[0] for line in lines] == ["sft step 1/2", "sft step 2/2"]
    assert all(" ETA 0:" in line for line in lines)
    client.force_login(make_user("reviewer", "another-reviewer"))
    assert client.get("/finetune/").status_code == 403
    assert client.post(f"/finetune/{adapter.id}/promote").status_code == 403
    client.force_login(make_user("admin", "admin-user"))
    page = client.get("/finetune/").content.decode()
    assert adapter.id in page and adapter.fingerprint in page
    plot = client.get(f"/finetune/{adapter.id}/loss.png")
    assert plot["Content-Type"] == "image/png" and plot.content[:4] == b"\x89PNG"
    # Not evaluated: the gate refuses, and the page shows why.
    response = client.post(f"/finetune/{adapter.id}/promote", follow=True)
    assert "not promoted" in response.content.decode()
    assert Adapter.objects.get(pk=adapter.id).status == AdapterStatus.TRAINED
    assert client.get(f"/finetune/{adapter.id}/promote").status_code == 405


# --- End to end -------------------------------------------------------------------------------


def test_reviewer_edit_to_training_to_gate_to_serving_answers_carry_the_adapter(
    edited, tiny_base, settings
):
    """A reviewer's edit -> dataset -> tiny SFT -> evaluated and gated -> serving -> the next
    answer, generated by the transformers backend with the adapter, records the adapter id."""
    id_file = settings.DATA_DIR / "ids" / "dataset"
    call_command("finetune", "dataset", "--seed", "none", "--id-file", str(id_file))
    dataset = Dataset.objects.get()
    assert id_file.read_text().strip() == dataset.hash
    call_command("finetune", "sft", "--base", str(tiny_base), "--dataset", dataset.hash[:12])
    adapter = Adapter.objects.get(kind="sft")
    base = Adapter.objects.get(kind="base")
    # Evaluation metrics stored as `finetune evaluate` stores them (the gate is under test here;
    # a random tiny model cannot be evaluated meaningfully).
    services.evaluation_store(adapter=base, report=_metrics(0.5, 0.5, 0.5), limit=20)
    services.evaluation_store(adapter=adapter, report=_metrics(0.8, 0.7, 0.3), limit=20)
    call_command("finetune", "promote", adapter.id)
    assert selectors.serving_adapter() == adapter

    # What the transformers backend reads once the serving adapter is wired into backends.py.
    settings.LLM_BACKEND_CONFIG = selectors.serving_backend_config(
        {"kind": "transformers", "model_dir": str(tiny_base), "adapter_dir": None,
         "device": "cpu", "dtype": "float32", "n_threads": 1}
    )  # fmt: skip
    settings.ANSWER_MAX_TOKENS = 16
    backends.backends_reset()
    try:
        backend = backends.generation_backend()
        assert (backend.kind, backend.adapter_id) == ("transformers", adapter.fingerprint)
        answer = answer_run(question=QUESTION).answer
    finally:
        backends.backends_reset()
    # The adapter drafted this answer. A random 2-layer model writes nothing the verifier accepts,
    # so the pipeline quotes the passages instead ("transformers+extractive"); either way the
    # answer names the model and adapter that drafted it.
    assert answer.timings.get("generate") is not None
    model_draft = answer.draft.split("--- extractive fallback ---")[0]
    assert model_draft.strip() or answer.completion_tokens > 0
    assert answer.backend in ("transformers", "transformers+extractive")
    assert answer.adapter_id == adapter.fingerprint

    call_command("finetune", "rollback")
    assert selectors.serving_backend_config({"kind": "transformers", "adapter_dir": None}) == {
        "kind": "transformers", "adapter_dir": None
    }  # fmt: skip


@pytest.mark.slow
def test_real_base_adapter_writes_the_published_answer_and_is_recorded(edited, settings):
    """The same loop on Qwen2.5-0.5B (the bundled GGUF converted by `finetune sft --base
    *.gguf`): one small LoRA step keeps the base's behaviour, so the adapter-backed model writes a
    cited answer that passes verification, and the answer records the adapter's id."""
    base = settings.BASE_DIR / "var" / "models" / "hf" / "qwen2.5-coder-0.5b-instruct-q4_k_m"
    if not (base / "config.json").is_file():
        pytest.skip("run `manage.py finetune sft --base var/models/<the GGUF>` once to convert it")
    dataset = services.dataset_build(seeds=[])
    adapter = services.adapter_train(
        kind="sft", base=str(base), dataset=dataset, config_name="cpu",
        overrides={"steps": 1, "grad_accum": 1, "lr": 1e-6, "max_len": 512, "rank": 4, "alpha": 8},
    )  # fmt: skip
    services.evaluation_store(adapter=Adapter.objects.get(kind="base"),
                              report=_metrics(0.5, 0.5, 0.5), limit=20)  # fmt: skip
    services.evaluation_store(adapter=adapter, report=_metrics(0.8, 0.7, 0.3), limit=20)
    assert services.adapter_promote(adapter=adapter).promoted
    settings.LLM_BACKEND_CONFIG = selectors.serving_backend_config(
        {"kind": "transformers", "model_dir": "", "adapter_dir": None,
         "device": "cpu", "dtype": "float32", "n_threads": 2}
    )  # fmt: skip
    settings.ANSWER_MAX_TOKENS = 48
    backends.backends_reset()
    try:
        answer = answer_run(question=QUESTION).answer
    finally:
        backends.backends_reset()
    assert answer.backend == "transformers", answer.draft
    assert answer.adapter_id == adapter.fingerprint
    assert "6 to 8 weeks" in answer.published_text


def test_sft_loss_weighs_every_answer_token_the_same(tiny_base):
    """A short refusal must not outweigh a long answer: the step's loss is the mean over all its
    answer tokens, not the mean of per-example means (which made an adapter refuse everything)."""
    import torch

    from portal.finetune.training import _answer_logps, answer_nll, encode, load_base

    tokenizer, model, _ = load_base(tiny_base, dtype="float32", device="cpu")
    messages = [{"role": "user", "content": QUESTION}]
    short = encode(tokenizer, messages, "NOT_IN_SOURCES", max_len=256)
    long = encode(tokenizer, messages, EDIT + " " + EDIT + " " + EDIT, max_len=256)
    pad = tokenizer.pad_token_id
    with torch.no_grad():
        nll = [float(answer_nll(torch, model, [row], pad, "cpu")) for row in (short, long)]
        # The same sums, read independently from the log-probabilities DPO uses.
        logps = _answer_logps(torch, model, [short, long], pad, "cpu").tolist()
    assert nll == pytest.approx([-x for x in logps], rel=1e-4)
    tokens = [len(ids) - start for ids, start in (short, long)]
    assert tokens[1] > 3 * tokens[0]
    token_mean = sum(nll) / sum(tokens)
    example_mean = (nll[0] / tokens[0] + nll[1] / tokens[1]) / 2
    # What training optimises for the step: sum of NLL over the step's answer tokens.
    assert (nll[0] + nll[1]) / sum(tokens) == pytest.approx(token_mean)
    assert token_mean != pytest.approx(example_mean, rel=1e-3)


def test_schedule_is_seeded_and_covers_every_row_each_epoch():
    from portal.finetune.training import CONFIGS, schedule

    config = replace(CONFIGS["tiny"], steps=5, batch_size=2, grad_accum=2)  # 20 draws, 7 rows
    plan = schedule(7, config)
    assert plan == schedule(7, config)  # DPO computes its references for exactly these rows
    draws = [i for batches in plan for batch in batches for i in batch]
    assert len(draws) == 20 and sorted(draws[:7]) == list(range(7)) == sorted(draws[7:14])
    assert plan != schedule(7, replace(config, seed=1))


def test_balanced_repeats_the_smaller_language_up_to_the_larger_and_no_further():
    en = [{"question": f"How do I renew passport number {i}?"} for i in range(9)]
    zh = [{"question": f"怎么办理第{i}本护照？"} for i in range(3)]
    out = services.balanced(en + zh)
    assert out[:9] == en  # the larger language unchanged, in order
    assert out[9:] == [row for row in zh for _ in range(3)]
    # A tiny group is capped, so one example cannot take over the epoch.
    capped = services.balanced(en + zh[:1], cap=3)
    assert capped.count(zh[0]) == 3
    assert services.balanced(en) == en and services.balanced([]) == []


def test_bf16_on_a_cpu_trains_float32_weights_under_autocast(tiny_base, tmp_path):
    import torch

    from portal.finetune.training import CONFIGS, cpu_has_bf16, train

    examples = [
        {"messages": [{"role": "user", "content": QUESTION}], "chosen": EDIT, "rejected": "No."}
    ] * 4
    config = replace(CONFIGS["tiny"], steps=3, dtype="bfloat16")
    result, _ = train(
        kind="sft", base=tiny_base, examples=examples, out_dir=tmp_path / "a", config=config,
        device="cpu",
    )  # fmt: skip
    expected = "float32 weights, bf16 autocast" if cpu_has_bf16(torch) else "float32"
    assert result.extra["precision"] == expected
    assert len(result.losses) == 3 and all(math.isfinite(x) for x in result.losses)
    from safetensors.torch import load_file

    weights = load_file(tmp_path / "a" / "adapter_model.safetensors")
    assert weights and all(w.dtype == torch.float32 for w in weights.values())


def test_gate_refuses_format_bought_with_silence(base_row, dataset):
    """Better format on the drafts it writes, but fewer useful answers and more answerable
    questions refused: refused."""
    report = _metrics(0.9, 0.7, 0.3)
    base_report = _metrics(0.6, 0.5, 0.4)
    base_report["metrics"].update(useful_answer_rate=0.4, refusal_rate_expect_answer=0.2)
    services.evaluation_store(adapter=base_row, report=base_report, limit=20)
    report["metrics"].update(useful_answer_rate=0.3, refusal_rate_expect_answer=0.5)
    quiet = _adapter("sft-quiet", dataset, base_row, report)
    result = services.adapter_promote(adapter=quiet)
    assert not result.promoted
    assert "useful_answer_rate" in result.reason and "refusal_rate_expect_answer" in result.reason
    report["metrics"].update(useful_answer_rate=0.45, refusal_rate_expect_answer=0.2)
    better = _adapter("sft-useful", dataset, base_row, report)
    assert services.adapter_promote(adapter=better).promoted
