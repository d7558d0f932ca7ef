"""`manage.py finetune dataset|sft|dpo|evaluate|promote|rollback|list` (README "Fine-tuning")."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from portal.evaluation.answers import answers_table
from portal.finetune import selectors, services
from portal.finetune.datasets import SEEDS
from portal.finetune.models import Adapter


def _adapter(ref: str) -> Adapter:
    adapter = Adapter.objects.filter(pk=ref).first()
    if adapter is None:
        raise CommandError(f"no adapter {ref!r} in the registry (manage.py finetune list)")
    return adapter


class Command(BaseCommand):
    help = "Build fine-tuning data, train LoRA adapters, evaluate, promote through the gate."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        d = sub.add_parser("dataset", help="SFT + DPO files from review decisions and seeds")
        d.add_argument("--seed", default="pubmedqa,doc2dial,stard",
                       help=f"comma-separated seeds ({', '.join(SEEDS)}) or 'none'")  # fmt: skip
        d.add_argument("--per-seed", type=int, default=300)
        d.add_argument(
            "--holdout", type=int, default=None,
            help="first N dev questions of each set left out (the gate grades them)",
        )  # fmt: skip
        d.add_argument("--out", type=Path, default=None)
        for kind in ("sft", "dpo"):
            t = sub.add_parser(kind, help=f"train a LoRA adapter ({kind.upper()})")
            t.add_argument("--base", help="model directory or GGUF file (dpo: or --from)")
            t.add_argument("--dataset", required=True, help="dataset hash (6+ characters)")
            t.add_argument("--config", default="tiny", choices=("tiny", "cpu", "gpu"))
            t.add_argument("--steps", type=int)
            t.add_argument("--lr", type=float)
            t.add_argument("--batch-size", type=int)
            t.add_argument("--grad-accum", type=int)
            t.add_argument("--max-len", type=int)
            t.add_argument("--rank", type=int)
            t.add_argument("--seed", type=int)
            t.add_argument("--threads", type=int, help="torch CPU threads (0: torch's default)")
            t.add_argument("--device", default="auto")
            if kind == "dpo":
                t.add_argument("--from", dest="start", help="continue from this adapter (SFT)")
                t.add_argument("--beta", type=float)
        e = sub.add_parser("evaluate", help="evaluate answers with an adapter; store the metrics")
        e.add_argument("adapter", help="adapter id, or 'base' with --base DIR")
        e.add_argument("--base", help="the base model directory (with adapter 'base')")
        e.add_argument("--dataset", required=True)
        e.add_argument("--split", default="dev", choices=("dev", "test"))
        e.add_argument("--limit", type=int, default=None)
        e.add_argument("--out", type=Path, default=None)
        p = sub.add_parser("promote", help="serve an adapter if it beats what serves now")
        p.add_argument("adapter")
        sub.add_parser("rollback", help="serve again what served before the last promotion")
        sub.add_parser("list", help="the registry")

    def handle(self, *args, **opts) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except services.FinetuneError as exc:
            raise CommandError(str(exc)) from exc

    def _dataset(self, opts) -> None:
        seeds = [] if opts["seed"] == "none" else [s for s in opts["seed"].split(",") if s]
        try:
            dataset = services.dataset_build(
                seeds=seeds, per_seed=opts["per_seed"], out_dir=opts["out"],
                holdout=opts["holdout"],
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"dataset {dataset.hash}\n  path: {dataset.path}")
        self.stdout.write(f"  counts: {json.dumps(dataset.counts, ensure_ascii=False)}")

    def _train(self, kind: str, opts) -> None:
        keys = (
            "steps",
            "lr",
            "batch_size",
            "seed",
            "grad_accum",
            "max_len",
            "rank",
            "beta",
            "threads",
        )
        overrides = {k: opts[k] for k in keys if opts.get(k) is not None}
        if "rank" in overrides:
            overrides["alpha"] = overrides["rank"] * 2
        start = _adapter(opts["start"]) if opts.get("start") else None
        if start is None and not opts["base"]:
            raise CommandError("give --base (a model directory or GGUF file)")
        dataset = services.dataset_get(opts["dataset"])
        bar = tqdm(total=None, desc=kind, unit="step")

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.set_postfix(loss=f"{loss:.4f}")
            bar.update(1)

        adapter = services.adapter_train(
            kind=kind, base=opts["base"] or "", dataset=dataset, config_name=opts["config"],
            overrides=overrides, start_from=start, device=opts["device"], progress=progress,
        )  # fmt: skip
        bar.close()
        losses = adapter.training["losses"]
        self.stdout.write(
            f"adapter {adapter.id}\n  path: {adapter.path}\n  fingerprint: {adapter.fingerprint}\n"
            f"  loss: {losses[0]:.4f} -> {losses[-1]:.4f} over {len(losses)} steps, "
            f"{adapter.training['seconds']} s on {adapter.training['device']}"
        )

    def _sft(self, opts) -> None:
        self._train("sft", opts)

    def _dpo(self, opts) -> None:
        self._train("dpo", opts)

    def _evaluate(self, opts) -> None:
        if opts["adapter"] == "base":
            if not opts["base"]:
                raise CommandError("evaluate base needs --base DIR (the base model directory)")
            adapter = services.base_register(model_dir=Path(opts["base"]))
        else:
            adapter = _adapter(opts["adapter"])
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.setdefault(stage, tqdm(total=total, desc=stage))
            bar.update(done - bar.n)

        report = services.adapter_evaluate(
            adapter=adapter, dataset=opts["dataset"], split=opts["split"], limit=opts["limit"],
            progress=progress,
        )  # fmt: skip
        for bar in bars.values():
            bar.close()
        if opts["out"]:
            opts["out"].parent.mkdir(parents=True, exist_ok=True)
            opts["out"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        self.stdout.write(f"{adapter.id} ({report.get('adapter_fingerprint') or 'no adapter'})")
        self.stdout.write(answers_table(report))

    def _promote(self, opts) -> None:
        result = services.adapter_promote(adapter=_adapter(opts["adapter"]))
        self.stdout.write(result.table)
        if not result.promoted:
            raise CommandError(f"not promoted: {result.reason}")
        self.stdout.write(f"{opts['adapter']} now serves")

    def _rollback(self, opts) -> None:
        now = services.adapter_rollback()
        self.stdout.write(f"rolled back: {now.id if now else 'the base model alone'} serves")

    def _list(self, opts) -> None:
        for a in selectors.registry():
            loss = selectors.final_loss(a)
            self.stdout.write(
                f"{a.id:<32} {a.kind:<5} {a.status:<8} "
                f"{a.dataset.hash[:12] if a.dataset else '-':<12} "
                f"loss={'-' if loss is None else loss} evals={','.join(sorted(a.evaluations))}"
            )
