"""Writes of the fine-tuning loop: build a dataset, train, evaluate, promote (gated), roll back.

The management command and the admin page call these and nothing else, so both behave the same.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.serving import serving_clear, serving_set
from portal.evaluation.answers import answers_evaluate
from portal.evaluation.datasets import load as eval_set_load
from portal.evaluation.services import evaluation_run_record
from portal.finetune import datasets as ds
from portal.finetune import plots
from portal.finetune.models import Adapter, AdapterKind, AdapterStatus, Dataset, ServingChange
from portal.finetune.seeds import DEFAULT_PER_SEED, seed_examples
from portal.finetune.selectors import serving_adapter
from portal.qa import backends
from portal.qa.prompts import PROMPT_VERSION, REFUSAL_TOKEN, build_prompt
from portal.qa.verify import coverage
from portal.review.models import Decision, ReviewDecision
from portal.safety.pii import redact
from textkit import content_units as lexical_units
from textkit import language_of

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, float], None]


class FinetuneError(Exception):
    """The action cannot be done; the message says why and what to do."""


# --- Dataset ----------------------------------------------------------------------------------


def _review_examples(decisions) -> list[ds.Example]:
    """SFT from approvals and edits; DPO from edits (edit over draft) and rejections (a refusal,
    or a quote of the most relevant passage, over the draft). Approvals give no preference: the
    chosen and the rejected would be the same text."""
    out = []
    for d in decisions:
        language = d.language if d.language in ("en", "zh") else "en"
        passages = [(str(p["label"]), p.get("title", ""), p["text"]) for p in d.passages]
        if not passages:
            continue
        question = redact(d.question, language=language)
        draft_raw = (d.answer.draft or d.draft) if d.answer_id else d.draft
        draft = ds.normalize_answer(redact(draft_raw, language=language), language=language)
        meta = {"decision_id": d.pk, "decision": d.decision, "model_id": d.model_id}
        if d.decision in (Decision.APPROVE, Decision.EDIT):
            final = ds.normalize_answer(redact(d.final_text, language=language), language=language)
            if not final:
                continue
            rejected = draft if d.decision == Decision.EDIT and draft != final else ""
        else:
            # A rejected draft: quote the passage sentence that best covers the question when one
            # covers enough of it (the pipeline's own relevance floor), else refuse.
            label, quote = "", ""
            for p_label, _title, text in passages:
                best = ds.best_sentences(question, text)
                if best and (not quote or len(best[0]) < len(quote)):
                    label, quote = p_label, best[0]
            relevant = quote and coverage(lexical_units(question), lexical_units(quote)) >= (
                settings.ANSWER_MIN_LEXICAL_RELEVANCE
            )
            final = (
                ds.render_answer([(quote, [label])], language=language)
                if relevant
                else REFUSAL_TOKEN
            )
            rejected = draft
            meta["reason"] = redact(d.reason, language=language)
        out.append(
            ds.Example(
                id=f"review:{d.pk}",
                source=f"review:{d.decision}",
                language=language,
                question=question,
                passages=passages,
                chosen=final,
                rejected=rejected,
                meta=meta,
            )
        )
    return out


def dataset_counts(sft: list[dict], dpo: list[dict]) -> dict:
    """How many SFT and DPO rows, per source, per language (``zh->en``: a question asked in
    another language than its passages), and per kind of rejected answer."""

    def by(rows: list[dict], key) -> dict[str, int]:
        return dict(sorted(Counter(key(r) for r in rows).items()))

    def language(row: dict) -> str:
        return ds.language_key(row["language"], row["question"])

    return {
        "sft": len(sft),
        "dpo": len(dpo),
        "refusals": sum(1 for r in sft if r["chosen"] == REFUSAL_TOKEN),
        "by_source": by(sft, lambda r: r["source"]),
        "by_language": by(sft, language),
        "dpo_by_source": by(dpo, lambda r: r["source"]),
        "dpo_by_language": by(dpo, language),
        "dpo_by_rejection": by(dpo, lambda r: r["meta"].get("rejected_by", r["source"])),
    }


def dataset_build(
    *,
    seeds: list[str],
    per_seed: int = DEFAULT_PER_SEED,
    out_dir: Path | None = None,
    holdout: int | None = None,
) -> Dataset:
    """Build SFT and DPO files from every review decision plus the seeds; idempotent by hash."""
    holdout = settings.FINETUNE_HOLDOUT_DEV if holdout is None else holdout
    decisions = list(ReviewDecision.objects.select_related("answer").order_by("pk"))
    examples = _review_examples(decisions)
    examples += seed_examples(seeds, per_seed=per_seed, holdout=holdout)
    sft = [
        {k: v for k, v in e.row().items() if k != "rejected"}
        for e in examples
        if e.chosen and e.source != "review:reject"
    ]
    dpo = [e.row() for e in examples if e.rejected and e.rejected != e.chosen]
    digest = ds.content_hash(sft, dpo, prompt_version=PROMPT_VERSION)
    existing = Dataset.objects.filter(hash=digest).first()
    if existing is not None and Path(existing.path, "sft.jsonl").is_file():
        return existing
    folder = Path(out_dir or Path(settings.DATA_DIR) / "finetune" / "datasets") / digest[:16]
    folder.mkdir(parents=True, exist_ok=True)
    ds.write_jsonl(folder / "sft.jsonl", sft)
    ds.write_jsonl(folder / "dpo.jsonl", dpo)
    counts = {**dataset_counts(sft, dpo), "review_decisions": len(decisions)}
    manifest = {"hash": digest, "prompt_version": PROMPT_VERSION, "counts": counts,
                "seeds": seeds, "per_seed": per_seed, "holdout_dev": holdout}  # fmt: skip
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    dataset, _ = Dataset.objects.update_or_create(
        hash=digest,
        defaults={
            "path": str(folder),
            "counts": counts,
            "sources": [f"seed:{s}" for s in seeds] + ["review"],
            "prompt_version": PROMPT_VERSION,
        },
    )
    return dataset


def dataset_get(ref: str) -> Dataset:
    matches = list(Dataset.objects.filter(hash__startswith=ref)[:2]) if len(ref) >= 6 else []
    if len(matches) != 1:
        raise FinetuneError(f"no single dataset with a hash starting {ref!r} (give 6+ characters)")
    return matches[0]


def balanced(rows: list[dict], *, cap: int = 3) -> list[dict]:
    """``rows`` with each question language's rows repeated (at most ``cap`` times) until every
    language has about as many as the largest one.

    Why: the default dataset is 70% English (most dev sets are), and the first full CPU run
    (session 14) answered fewer of the gate's Chinese law questions than the base while the
    English sets held or rose; the product serves both languages alike."""
    by_language: dict[str, list[dict]] = {}
    for row in rows:
        by_language.setdefault(language_of(row["question"]), []).append(row)
    most = max((len(group) for group in by_language.values()), default=0)
    out = []
    for row in rows:
        times = min(cap, max(1, round(most / len(by_language[language_of(row["question"])]))))
        out.extend([row] * times)
    return out


def training_examples(
    dataset: Dataset, *, kind: str, max_sentences: int | None = None, balance: bool = False
) -> list:
    """The dataset's rows with the prompt rendered by build_prompt, as the pipeline renders it
    (``balance``: each question language about equally often, see ``balanced``)."""
    rows = ds.read_jsonl(Path(dataset.path) / ("sft.jsonl" if kind == "sft" else "dpo.jsonl"))
    if balance:
        rows = balanced(rows)
    max_sentences = max_sentences or settings.ANSWER_MAX_SENTENCES
    out = []
    for row in rows:
        prompt = build_prompt(
            question=row["question"],
            passages=[tuple(p) for p in row["passages"]],
            language=row["language"],
            max_sentences=max_sentences,
        )
        out.append(
            {"messages": prompt.messages, "chosen": row["chosen"], "rejected": row.get("rejected")}
        )
    return out


# --- Training ---------------------------------------------------------------------------------


def base_register(*, model_dir: Path) -> Adapter:
    """The registry row for a base model alone (the comparison point before any adapter serves)."""
    from portal.finetune.training import base_fingerprint

    model_dir = Path(model_dir).resolve()
    model_id = base_fingerprint(model_dir)
    adapter, _ = Adapter.objects.get_or_create(
        id=f"base-{model_id.split('@sha256:')[-1]}",
        defaults={
            "kind": AdapterKind.BASE,
            "base_model_dir": str(model_dir),
            "base_model_id": model_id,
        },
    )
    return adapter


def adapter_train(
    *,
    kind: str,
    base: str,
    dataset: Dataset,
    config_name: str = "tiny",
    overrides: dict | None = None,
    start_from: Adapter | None = None,
    device: str = "auto",
    progress: Progress | None = None,
    epochs: float | None = None,
    log_every: int = 10,
    balance: bool = False,
) -> Adapter:
    """Train an SFT or DPO LoRA adapter on ``dataset`` and register it (status: trained).

    ``epochs``: set the step count from the dataset's size (passes over its examples at the
    config's batch x accumulation), instead of the config's or an override's ``steps``. The loss
    curve is written beside the adapter (``loss.png``)."""
    from dataclasses import replace

    from portal.finetune import training

    if config_name not in training.CONFIGS:
        raise FinetuneError(f"unknown config {config_name!r}: {', '.join(training.CONFIGS)}")
    config = replace(training.CONFIGS[config_name], **(overrides or {}))
    examples = training_examples(dataset, kind=kind, balance=balance)
    if not examples:
        raise FinetuneError(f"dataset {dataset.hash[:12]} has no {kind} examples")
    if epochs is not None:
        if epochs <= 0:
            raise FinetuneError(f"epochs must be positive, not {epochs}")
        per_step = config.batch_size * config.grad_accum
        config = replace(config, steps=max(1, math.ceil(epochs * len(examples) / per_step)))
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    adapter_id = f"{kind}-{stamp}-{secrets.token_hex(2)}"
    out_dir = Path(settings.DATA_DIR) / "adapters" / adapter_id
    start_dir = Path(start_from.path) if start_from is not None and start_from.path else None
    if start_from is not None:
        base = start_from.base_model_dir
    try:
        result, base_dir = training.train(
            kind=kind,
            base=base,
            examples=examples,
            out_dir=out_dir,
            config=config,
            device=device,
            start_adapter=start_dir,
            progress=progress,
            log_every=log_every,
        )
    except training.TrainingError as exc:
        raise FinetuneError(str(exc)) from exc
    plots.loss_plot_write(
        out_dir / "loss.png",
        losses=result.losses,
        reward_accuracy=result.extra.get("reward_accuracy"),
        title=adapter_id,
        kind=kind,
    )
    base_row = base_register(model_dir=base_dir)
    adapter = Adapter.objects.create(
        id=adapter_id,
        kind=kind,
        base_model_dir=str(base_dir),
        base_model_id=base_row.base_model_id,
        path=str(out_dir),
        fingerprint=training.fingerprint(out_dir),
        dataset=dataset,
        parent=start_from,
        hyperparameters={
            "config": config_name,
            **config.as_dict(),
            **({"epochs": epochs} if epochs is not None else {}),
            **({"balance_languages": True} if balance else {}),
        },
        training=result.as_dict(),
    )
    audit_record(action="finetune.train", object_type="adapter", object_id=adapter.id,
                 detail={"dataset": dataset.hash[:16], "kind": kind})  # fmt: skip
    return adapter


# --- Evaluation -------------------------------------------------------------------------------


ENGINES = ("auto", "llamacpp", "transformers")


def base_gguf_for(adapter: Adapter) -> Path | None:
    """The GGUF the adapter's base directory was dequantized from: ``training.load_base``
    writes ``<folder>/hf/<stem>`` for ``<folder>/<stem>.gguf``. None for any other base."""
    base_dir = Path(adapter.base_model_dir)
    if base_dir.parent.name != "hf":
        return None
    candidate = base_dir.parent.parent / f"{base_dir.name}.gguf"
    return candidate if candidate.is_file() else None


def evaluation_engine(adapter: Adapter, engine: str = "auto") -> str:
    """Which engine evaluates ``adapter``. ``auto``: llama.cpp (base GGUF + GGUF LoRA, what
    `make run` serves) when the base was made from a GGUF, else transformers."""
    if engine not in ENGINES:
        raise FinetuneError(f"unknown engine {engine!r}: {', '.join(ENGINES)}")
    if engine == "auto":
        return "llamacpp" if base_gguf_for(adapter) is not None else "transformers"
    return engine


def backend_config_for(adapter: Adapter, engine: str = "transformers") -> dict:
    """The backend configuration that serves ``adapter`` (or its base alone), pinned: the
    serving record does not swap in whatever adapter serves now.

    ``llamacpp``: the base GGUF with the adapter's exported GGUF LoRA (exported here first when
    it has none), checked by hash like any served adapter; ``transformers``: the base directory
    with the PEFT adapter."""
    if engine == "llamacpp":
        base = base_gguf_for(adapter)
        if base is None:
            raise FinetuneError(
                f"{adapter.id}: its base {adapter.base_model_dir} was not made from a GGUF, so "
                "llama.cpp cannot serve it; evaluate with --engine transformers"
            )
        config = {"kind": "llamacpp", "pinned": True, "model_path": str(base), "sha256": None,
                  "n_ctx": settings.LLM_N_CTX, "n_threads": settings.LLM_N_THREADS or None,
                  "allow_amx": settings.LLM_ALLOW_AMX, "lora_path": "none"}  # fmt: skip
        if adapter.kind != AdapterKind.BASE and adapter.path:
            gguf = adapter.training.get("gguf") or {}
            if not gguf.get("path") or not Path(gguf["path"]).is_file():
                from portal.finetune.export import adapter_export  # export imports this module

                adapter_export(adapter=adapter)
                adapter.refresh_from_db()
                gguf = adapter.training["gguf"]
            config.update(
                lora_path=gguf["path"],
                lora_sha256=gguf["sha256"],
                lora_base_sha256=gguf["base_model_sha256"],
                lora_id=adapter.id,
            )
        return config
    return {
        "kind": "transformers",
        "pinned": True,
        "model_dir": adapter.base_model_dir,
        "adapter_dir": adapter.path or None,
        "device": settings.LLM_HF_DEVICE,
        "dtype": settings.LLM_HF_DTYPE,
        "n_threads": settings.LLM_N_THREADS or None,
    }


def adapter_evaluate(
    *,
    adapter: Adapter,
    dataset: str,
    split: str,
    limit: int | None,
    progress=None,
    engine: str = "auto",
) -> dict:
    """`evaluate answers` with this adapter (``evaluation_engine``); stores the report. The gate
    compares evaluations made by the same engine only."""
    engine = evaluation_engine(adapter, engine)
    previous = settings.LLM_BACKEND_CONFIG
    settings.LLM_BACKEND_CONFIG = backend_config_for(adapter, engine)
    backends.backends_reset()
    try:
        backend = backends.generation_backend()
        if backends.backend_problem():
            raise FinetuneError(f"{adapter.id} cannot be loaded: {backends.backend_problem()}")
        eval_set = eval_set_load(dataset, split)
        report = answers_evaluate(eval_set=eval_set, limit=limit, progress=progress)
    finally:
        settings.LLM_BACKEND_CONFIG = previous
        backends.backends_reset()
    report["adapter"] = adapter.id
    report["engine"] = engine
    report["adapter_fingerprint"] = backend.adapter_id or ""
    evaluation_run_record(kind="answers", report=report)
    evaluation_store(adapter=adapter, report=report, limit=limit)
    return report


def evaluation_store(*, adapter: Adapter, report: dict, limit: int | None) -> None:
    with transaction.atomic():
        adapter = Adapter.objects.select_for_update().get(pk=adapter.pk)
        adapter.evaluations[f"{report['dataset']}/{report['split']}"] = {
            "metrics": report["metrics"],
            "n_questions": report["n_questions"],
            "limit": limit,
            "engine": report.get("engine", "transformers"),
            "evaluated_at": timezone.now().isoformat(),
        }
        adapter.save(update_fields=["evaluations"])


# --- The gate, promotion and rollback ---------------------------------------------------------

# (metric, rule): RISE must rise (by FINETUNE_GATE_MIN_GAIN), NOT_RISE / NOT_FALL must not get
# worse. A candidate's None (nothing published, so nothing to measure) fails a RISE metric, and
# the others unless the serving model's is None too (no such question in the sample).
# Format adherence is judged on the draft (``draft_cited_fraction``): published sentences always
# carry a citation, because verification drops the rest, so that figure cannot tell models apart.
# Usefulness and the two refusal rates keep a tuned model from buying format with silence.
RISE, NOT_RISE, NOT_FALL = +1, 0, -1
GATE = (
    ("draft_cited_fraction", RISE),
    ("citation_precision", RISE),
    ("unsupported_before_verification", NOT_RISE),
    ("useful_answer_rate", NOT_FALL),
    ("refusal_rate_expect_answer", NOT_RISE),
    ("refusal_rate_expect_refuse", NOT_FALL),
)


@dataclass(frozen=True)
class GateRow:
    key: str  # "dataset/split"
    metric: str
    serving: float | None
    candidate: float | None
    passed: bool

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _beats(metric_rule: int, serving: float | None, candidate: float | None, gain: float) -> bool:
    if candidate is None:
        return serving is None and metric_rule != RISE
    if serving is None:
        return True
    if metric_rule == RISE:
        # At the ceiling nothing can rise: holding 1.0 counts as beating it.
        return candidate > serving + gain or candidate == serving == 1.0
    if metric_rule == NOT_FALL:
        return candidate >= serving
    return candidate <= serving


def gate_compare(*, candidate: Adapter, serving: Adapter) -> list[GateRow]:
    """Compare dev-split evaluations the two hold in common (same dataset, split, limit and
    engine)."""
    rows = []
    gain = settings.FINETUNE_GATE_MIN_GAIN
    for key, cand in sorted(candidate.evaluations.items()):
        serv = serving.evaluations.get(key)
        if not key.endswith("/dev") or serv is None or serv.get("limit") != cand.get("limit"):
            continue
        if serv.get("engine", "transformers") != cand.get("engine", "transformers"):
            continue
        for metric, rule in GATE:
            a, b = serv["metrics"].get(metric), cand["metrics"].get(metric)
            rows.append(GateRow(key, metric, a, b, _beats(rule, a, b, gain)))
    return rows


def gate_table(rows: list[GateRow], *, candidate: str, serving: str) -> str:
    lines = [
        f"{'dataset/split':<18} {'metric':<34} {serving[:22]:>22} {candidate[:22]:>22}  result",
    ]
    for r in rows:
        fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
        lines.append(
            f"{r.key:<18} {r.metric:<34} {fmt(r.serving):>22} {fmt(r.candidate):>22}  "
            f"{'pass' if r.passed else 'FAIL'}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class PromotionResult:
    promoted: bool
    rows: list[GateRow]
    table: str
    reason: str = ""


def _comparison_point(candidate: Adapter) -> Adapter:
    """What serves now: the serving adapter, else the candidate's base model alone."""
    current = serving_adapter()
    if current is not None:
        return current
    return base_register(model_dir=Path(candidate.base_model_dir))


def _serve(adapter: Adapter | None) -> None:
    """Point the serving record (what qa.backends loads) at ``adapter``; None = the base alone."""
    if adapter is None:
        serving_clear()
    else:
        serving_set(
            adapter_id=adapter.id, base_model_dir=adapter.base_model_dir, adapter_dir=adapter.path
        )


def adapter_promote(*, adapter: Adapter, user=None, request=None) -> PromotionResult:
    """Mark ``adapter`` serving if its dev metrics beat what serves now (see GATE)."""
    if adapter.kind == AdapterKind.BASE:
        raise FinetuneError("a base model is not promoted; roll back to serve it alone")
    with transaction.atomic():
        current = Adapter.objects.select_for_update().filter(status=AdapterStatus.SERVING).first()
        adapter = Adapter.objects.select_for_update().get(pk=adapter.pk)
        if adapter.status == AdapterStatus.SERVING:
            raise FinetuneError(f"{adapter.id} is already serving")
        comparator = current or _comparison_point(adapter)
        rows = gate_compare(candidate=adapter, serving=comparator)
        table = gate_table(rows, candidate=adapter.id, serving=comparator.id)
        if not rows:
            reason = (
                f"no dev evaluation in common between {adapter.id} and {comparator.id}: run "
                f"`manage.py finetune evaluate` on both with the same --dataset and --limit"
            )
            return PromotionResult(False, rows, table, reason)
        if not all(r.passed for r in rows):
            failed = ", ".join(sorted({f"{r.key} {r.metric}" for r in rows if not r.passed}))
            return PromotionResult(False, rows, table, f"does not beat {comparator.id}: {failed}")
        if current is not None:
            current.status = AdapterStatus.RETIRED
            current.save(update_fields=["status"])
        adapter.status = AdapterStatus.SERVING
        adapter.save(update_fields=["status"])
        _serve(adapter)
        ServingChange.objects.create(
            action=ServingChange.Action.PROMOTE,
            adapter=adapter,
            previous=current,
            comparison=[r.as_dict() for r in rows],
            user=user,
        )
        audit_record(action="finetune.promote", request=request, user=user,
                     object_type="adapter", object_id=adapter.id,
                     detail={"previous": current.id if current else None})  # fmt: skip
    return PromotionResult(True, rows, table)


def adapter_rollback(*, user=None, request=None) -> Adapter | None:
    """Serve again what served before the newest promotion; returns it (None = the base alone)."""
    with transaction.atomic():
        current = Adapter.objects.select_for_update().filter(status=AdapterStatus.SERVING).first()
        if current is None:
            raise FinetuneError("no adapter is serving: the base model already serves alone")
        promotion = (
            ServingChange.objects.filter(action=ServingChange.Action.PROMOTE, adapter=current)
            .select_related("previous")
            .first()
        )
        previous = promotion.previous if promotion else None
        current.status = AdapterStatus.RETIRED
        current.save(update_fields=["status"])
        if previous is not None:
            previous.status = AdapterStatus.SERVING
            previous.save(update_fields=["status"])
        _serve(previous)
        ServingChange.objects.create(
            action=ServingChange.Action.ROLLBACK, adapter=previous, previous=current, user=user
        )
        audit_record(action="finetune.rollback", request=request, user=user,
                     object_type="adapter", object_id=current.id,
                     detail={"now_serving": previous.id if previous else None})  # fmt: skip
    return previous
