"""`manage.py finetune dataset|sft|dpo|evaluate|promote|rollback|export|list` (README
"Fine-tuning")."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from llm_backend.lora import OUTTYPES
from portal.evaluation.answers import answers_table
from portal.finetune import selectors, services
from portal.finetune.export import adapter_export
from portal.finetune.models import Adapter
from portal.finetune.seeds import DEFAULT_PER_SEED, SEEDS


def _adapter(ref: str) -> Adapter:
    adapter = Adapter.objects.filter(pk=ref).first()
    if adapter is None:
        raise CommandError(f"no adapter {ref!r} in the registry (manage.py finetune list)")
    return adapter


def _write_id(path: Path | None, value: str) -> None:
    """For recipes that chain the steps (`make finetune`): the new row's id, alone in a file."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n", encoding="utf-8")


def counts_table(counts: dict) -> str:
    """SFT and DPO rows per source and per language, then the kinds of rejected answers."""
    lines = [f"  sft {counts['sft']}  dpo {counts['dpo']}  refusals {counts['refusals']}"]
    for title, sft_key, dpo_key in (
        ("source", "by_source", "dpo_by_source"),
        ("language", "by_language", "dpo_by_language"),
    ):
        sft, dpo = counts.get(sft_key, {}), counts.get(dpo_key, {})
        lines.append(f"  {'by ' + title:<22} {'sft':>6} {'dpo':>6}")
        lines += [
            f"    {key:<20} {sft.get(key, 0):>6} {dpo.get(key, 0):>6}"
            for key in sorted(sft.keys() | dpo.keys())
        ]
    rejections = counts.get("dpo_by_rejection", {})
    if rejections:
        kinds = ", ".join(f"{kind} {n}" for kind, n in rejections.items())
        lines.append(f"  dpo rejected answers: {kinds}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Build fine-tuning data, train LoRA adapters, evaluate, promote through the gate."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        d = sub.add_parser("dataset", help="SFT + DPO files from review decisions and seeds")
        d.add_argument("--seed", default=",".join(SEEDS),
                       help=f"comma-separated seeds ({', '.join(SEEDS)}) or 'none'")  # fmt: skip
        d.add_argument("--per-seed", type=int, default=DEFAULT_PER_SEED,
                       help="questions per seed (refusal twins come on top)")  # fmt: skip
        d.add_argument(
            "--holdout", type=int, default=None,
            help="the N dev questions `evaluate answers --limit N` grades are left out of each "
            "set (half of a smaller set; default FINETUNE_HOLDOUT_DEV)",
        )  # fmt: skip
        d.add_argument("--out", type=Path, default=None)
        d.add_argument("--id-file", type=Path, help="write the dataset hash to this file")
        for kind in ("sft", "dpo"):
            t = sub.add_parser(kind, help=f"train a LoRA adapter ({kind.upper()})")
            t.add_argument("--base", help="model directory or GGUF file (dpo: or --from)")
            t.add_argument("--dataset", required=True, help="dataset hash (6+ characters)")
            t.add_argument("--config", default="tiny", choices=("tiny", "cpu", "gpu"))
            t.add_argument("--steps", type=int)
            t.add_argument("--epochs", type=float,
                           help="passes over the dataset; sets --steps from its size")  # fmt: skip
            t.add_argument("--log-every", type=int, default=10,
                           help="log step, loss, s/step and ETA every N steps")  # fmt: skip
            t.add_argument("--id-file", type=Path, help="write the adapter id to this file")
            t.add_argument("--lr", type=float)
            t.add_argument("--batch-size", type=int)
            t.add_argument("--grad-accum", type=int)
            t.add_argument("--max-len", type=int)
            t.add_argument("--rank", type=int)
            t.add_argument("--seed", type=int)
            t.add_argument("--threads", type=int, help="torch CPU threads (0: torch's default)")
            t.add_argument("--device", default="auto")
            t.add_argument(
                "--balance-languages",
                action="store_true",
                help="repeat the smaller language's examples to about the larger's "
                "count (--epochs counts the repeated set)",
            )
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
        e.add_argument(
            "--engine", default="auto", choices=services.ENGINES,
            help="auto: llama.cpp with the GGUF LoRA (exported first) when the base is a GGUF",
        )  # fmt: skip
        p = sub.add_parser("promote", help="serve an adapter if it beats what serves now")
        p.add_argument("adapter")
        sub.add_parser("rollback", help="serve again what served before the last promotion")
        x = sub.add_parser("export", help="write an adapter as a GGUF LoRA for llama.cpp")
        x.add_argument("adapter")
        x.add_argument(
            "--base-gguf",
            type=Path,
            default=None,
            help="the GGUF model it serves on (default: the one it was trained from)",
        )
        x.add_argument("--outtype", default="f32", choices=OUTTYPES)
        x.add_argument(
            "--to",
            type=Path,
            default=None,
            help="also copy it here (llm_backend/adapters/default: served by default)",
        )
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
        self.stdout.write(counts_table(dataset.counts))
        _write_id(opts.get("id_file"), dataset.hash)

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
        if opts.get("epochs") is not None and opts.get("steps") is not None:
            raise CommandError("give --steps or --epochs, not both")
        # No bar when stderr is no terminal (a run in the background): the log lines say it.
        bar = tqdm(total=None, desc=kind, unit="step", disable=None)

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.set_postfix(loss=f"{loss:.4f}")
            bar.update(1)

        adapter = services.adapter_train(
            kind=kind, base=opts["base"] or "", dataset=dataset, config_name=opts["config"],
            overrides=overrides, start_from=start, device=opts["device"], progress=progress,
            epochs=opts.get("epochs"), log_every=opts["log_every"],
            balance=opts.get("balance_languages", False),
        )  # fmt: skip
        bar.close()
        losses = adapter.training["losses"]
        self.stdout.write(
            f"adapter {adapter.id}\n  path: {adapter.path}\n  fingerprint: {adapter.fingerprint}\n"
            f"  loss: {losses[0]:.4f} -> {losses[-1]:.4f} over {len(losses)} steps, "
            f"{adapter.training['seconds']} s on {adapter.training['device']}\n"
            f"  plot: {Path(adapter.path) / 'loss.png'}"
        )
        _write_id(opts.get("id_file"), adapter.id)

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
            progress=progress, engine=opts["engine"],
        )  # fmt: skip
        for bar in bars.values():
            bar.close()
        if opts["out"]:
            opts["out"].parent.mkdir(parents=True, exist_ok=True)
            opts["out"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        self.stdout.write(
            f"{adapter.id} ({report.get('adapter_fingerprint') or 'no adapter'}, "
            f"{report['engine']})"
        )
        self.stdout.write(answers_table(report))

    def _promote(self, opts) -> None:
        result = services.adapter_promote(adapter=_adapter(opts["adapter"]))
        self.stdout.write(result.table)
        if not result.promoted:
            raise CommandError(f"not promoted: {result.reason}")
        self.stdout.write(f"{opts['adapter']} now serves")
        if not _adapter(opts["adapter"]).training.get("gguf"):
            hint = f"manage.py finetune export {opts['adapter']}"
            self.stdout.write(f"  llama.cpp serves it once exported ({hint}); llama-server "
                              "loads it when it restarts")  # fmt: skip

    def _rollback(self, opts) -> None:
        now = services.adapter_rollback()
        self.stdout.write(f"rolled back: {now.id if now else 'the base model alone'} serves")

    def _export(self, opts) -> None:
        lora = adapter_export(adapter=_adapter(opts["adapter"]), base_gguf=opts["base_gguf"],
                              outtype=opts["outtype"], to=opts["to"])  # fmt: skip
        self.stdout.write(f"{opts['adapter']} exported\n  gguf: {lora.path}\n  sha256: "
                          f"{lora.sha256}\n  base sha256: {lora.base_sha256}")  # fmt: skip
        if opts["to"]:
            self.stdout.write(f"  copied to: {opts['to']}")

    def _list(self, opts) -> None:
        for a in selectors.registry():
            loss = selectors.final_loss(a)
            self.stdout.write(
                f"{a.id:<32} {a.kind:<5} {a.status:<8} "
                f"{a.dataset.hash[:12] if a.dataset else '-':<12} "
                f"loss={'-' if loss is None else loss} evals={','.join(sorted(a.evaluations))}"
            )
