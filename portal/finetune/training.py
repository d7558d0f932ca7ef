"""LoRA training with peft and a plain torch loop: SFT and DPO.

No Django here (it runs the same under a management command or a bare script on a GPU box). TRL was
not used: it pulls ``datasets`` and friends, and the two losses we need are a few lines each, which
keeps the loop small enough to read and to run in the test suite in seconds.

- SFT: cross-entropy on the answer tokens only (the prompt is masked out).
- DPO (Rafailov et al. 2023): ``-log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))`` over
  summed answer log-probabilities. The reference log-probabilities are computed once, before the
  first step, with the starting model (the base, or the SFT adapter a DPO run continues from), so
  no second model is kept in memory; only for the pairs the run's batch schedule will use.

bfloat16 on a CPU means autocast, not bf16 weights: the weights and the optimizer stay float32
and the matrix multiplies run in bf16 where the CPU has bf16 instructions (AVX512-BF16 or AMX).
On this project's CI machine (AMX) a 700-token Qwen2.5-0.5B forward + backward took 2.5 s with
autocast and 7 s in float32 (2026-12-05); pure bf16 weights would lose the small LoRA updates.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from llm_backend.hf import CHATML_TEMPLATE, directory_fingerprint, force_offline

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class TrainConfig:
    steps: int
    batch_size: int
    grad_accum: int
    lr: float
    rank: int
    alpha: int
    dropout: float
    target_modules: tuple[str, ...]
    max_len: int
    dtype: str  # float32 | bfloat16
    beta: float = 0.1  # DPO temperature
    warmup: int = 0
    gradient_checkpointing: bool = False
    seed: int = 0
    threads: int = 0  # torch CPU threads; 0 = torch's default

    def as_dict(self) -> dict:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data


_ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
CONFIGS = {
    # tests/llm_backend/tiny_hf.py's 2-layer model: a handful of steps in seconds on a CPU.
    "tiny": TrainConfig(
        steps=12, batch_size=2, grad_accum=1, lr=5e-3, rank=4, alpha=8, dropout=0.0,
        target_modules=("q_proj", "v_proj"), max_len=256, dtype="float32",
    ),
    # Qwen2.5-0.5B on two CPU cores with bf16 autocast (module docstring): ~2.5 s per 700-token
    # example, ~10 s per optimizer step of 4; without bf16 instructions it falls back to float32.
    # The default dataset's prompts + targets are 500-600 tokens at the
    # median, but a Chinese statute prompt reaches 950 (STARD p90 777, cn_law p90 869, measured
    # with the Qwen tokenizer, 2026-12-05): 1024 keeps their system rules, which a 768 limit cut.
    # `make finetune` sets the steps from the dataset (--epochs 1: ~370 SFT steps, ~140 DPO).
    "cpu": TrainConfig(
        steps=40, batch_size=1, grad_accum=4, lr=2e-4, rank=8, alpha=16, dropout=0.05,
        target_modules=_ATTN, max_len=1024, dtype="bfloat16", threads=2, warmup=4,
    ),
    # One GPU with bf16 (A100/H100/H200 class): every linear layer, effective batch 32.
    "gpu": TrainConfig(
        steps=600, batch_size=8, grad_accum=4, lr=2e-4, rank=16, alpha=32, dropout=0.05,
        target_modules=(*_ATTN, "gate_proj", "up_proj", "down_proj"), max_len=1536,
        dtype="bfloat16", warmup=30, gradient_checkpointing=True,
    ),
}  # fmt: skip


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)  # one per optimizer step
    seconds: float = 0.0
    device: str = "cpu"
    examples: int = 0
    skipped: int = 0  # examples whose answer did not fit max_len
    extra: dict = field(default_factory=dict)  # DPO: reward accuracy / margins per step

    def as_dict(self) -> dict:
        return asdict(self)


class TrainingError(Exception):
    """Training cannot start; the message says what to fix."""


def cpu_has_bf16(torch) -> bool:
    """Whether this CPU multiplies bf16 natively (otherwise autocast would emulate it, slowly)."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def schedule(n_rows: int, config: TrainConfig) -> list[list[list[int]]]:
    """Row indices per optimizer step, per accumulation batch: shuffled epochs, seeded."""
    rng = random.Random(config.seed)  # noqa: S311 - reproducible batch order
    order: list[int] = []
    steps = []
    for _ in range(config.steps):
        batches = []
        for _ in range(config.grad_accum):
            batch = []
            for _ in range(config.batch_size):
                if not order:
                    order = list(range(n_rows))
                    rng.shuffle(order)
                batch.append(order.pop())
            batches.append(batch)
        steps.append(batches)
    return steps


def load_base(base: str | Path, *, dtype: str, device: str) -> tuple[Any, Any, Path]:
    """Tokenizer and model from a local model directory, or from a GGUF file.

    A GGUF is dequantized by transformers (needs the ``gguf`` package) and saved once as a model
    directory beside it, because the transformers backend that serves the adapter loads a
    directory; returns that directory as the base to record.
    """
    force_offline()
    import torch
    import transformers

    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    path = Path(base).resolve()  # recorded in the registry: must not depend on the cwd
    if path.is_file() and path.suffix == ".gguf":
        target = path.parent / "hf" / path.stem
        if not (target / "config.json").is_file():
            logger.info("converting %s to a transformers directory at %s", path, target)
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    path.parent, gguf_file=path.name, local_files_only=True
                )
                # Unpacked to dense weights: GGUF blocks are neither trainable nor saveable.
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    path.parent,
                    gguf_file=path.name,
                    local_files_only=True,
                    dtype=torch.float32,
                    quantization_config=transformers.GgufConfig(dequantize=True),
                )
            except (OSError, ValueError, ImportError) as exc:
                raise TrainingError(f"cannot read {path} with transformers: {exc}") from exc
            # Dense now: drop the loader's quantizer so the directory saves as a plain model.
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            tmp = target.with_name(target.name + ".tmp")
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            if not target.exists():  # another process may have finished the same conversion
                tmp.replace(target)
        path = target
    if not (path / "config.json").is_file():
        raise TrainingError(f"{path} is neither a GGUF file nor a model directory with config.json")
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = transformers.AutoModelForCausalLM.from_pretrained(
        path, dtype=torch_dtype, local_files_only=True
    )
    return tokenizer, model.to(device), path


def encode(tokenizer, messages: Messages, answer: str, *, max_len: int) -> tuple[list[int], int]:
    """Token ids of prompt + answer (chat template) and where the answer starts.

    An over-long prompt loses tokens from its start (the system rules), never from the passages
    and question at its end or from the answer."""
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": answer}], tokenize=False
    )
    if not full.startswith(prompt):  # a template that rewrites earlier turns: fall back
        full = prompt + answer + (tokenizer.eos_token or "")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    room = max_len - len(answer_ids)
    if room < 16:
        return [], 0
    prompt_ids = prompt_ids[-room:]
    return prompt_ids + answer_ids, len(prompt_ids)


def _batch(torch, rows: list[tuple[list[int], int]], pad_id: int, device: str):
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, start) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, start : len(ids)] = torch.tensor(ids[start:])
        attention[i, : len(ids)] = 1
    return input_ids.to(device), labels.to(device), attention.to(device)


def _answer_logps(torch, model, rows, pad_id: int, device: str):
    """Summed log-probability of each row's answer tokens."""
    input_ids, labels, attention = _batch(torch, rows, pad_id, device)
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
    targets = labels[:, 1:]
    mask = targets != -100
    logps = torch.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1))
    return (logps.squeeze(-1) * mask).sum(-1)


def answer_nll(torch, model, rows, pad_id: int, device: str):
    """Summed negative log-likelihood of the answer tokens of ``rows`` (not a mean: the caller
    divides by the step's answer-token count, so every token weighs the same)."""
    input_ids, labels, attention = _batch(torch, rows, pad_id, device)
    logits = model(input_ids=input_ids, attention_mask=attention).logits
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]),
        labels[:, 1:].reshape(-1),
        ignore_index=-100,
        reduction="sum",
    )


def _lr_at(step: int, config: TrainConfig) -> float:
    if config.warmup and step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    # Cosine decay to a tenth: small data, so the last steps should not undo the first.
    span = max(1, config.steps - config.warmup)
    progress = min(1.0, (step - config.warmup) / span)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(
    *,
    kind: str,  # "sft" | "dpo"
    base: str | Path,
    examples: list[dict],  # {"messages", "chosen", "rejected"}
    out_dir: Path,
    config: TrainConfig,
    device: str = "auto",
    start_adapter: Path | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    log_every: int = 10,
) -> tuple[TrainResult, Path]:
    """Train a LoRA adapter and save it to ``out_dir``; returns the result and the base dir.

    Every ``log_every`` steps (and at the last) one INFO line says the step, the loss (and its
    mean since the last line), seconds per step and the time left, so the log of a run in the
    background shows how far it is."""
    force_offline()
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    if config.threads:
        torch.set_num_threads(config.threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    precision = config.dtype
    autocast: Callable[[], Any] = contextlib.nullcontext
    if config.dtype == "bfloat16" and device == "cpu":
        # float32 weights either way (module docstring); bf16 matmuls only where the CPU has them.
        config = replace(config, dtype="float32")
        if cpu_has_bf16(torch):
            precision = "float32 weights, bf16 autocast"
            autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
        else:
            precision = "float32"
    torch.manual_seed(config.seed)
    tokenizer, model, base_dir = load_base(base, dtype=config.dtype, device=device)
    if start_adapter is not None:
        model = PeftModel.from_pretrained(model, start_adapter, is_trainable=True)
    else:
        model = get_peft_model(
            model,
            LoraConfig(
                r=config.rank,
                lora_alpha=config.alpha,
                lora_dropout=config.dropout,
                target_modules=list(config.target_modules),
                task_type="CAUSAL_LM",
            ),
        )
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    pad_id = tokenizer.pad_token_id
    result = TrainResult(device=device)
    result.extra["precision"] = precision

    data: list[dict] = []
    for ex in examples:
        chosen = encode(tokenizer, ex["messages"], ex["chosen"], max_len=config.max_len)
        if not chosen[0]:
            result.skipped += 1
            continue
        row = {"chosen": chosen}
        if kind == "dpo":
            rejected = encode(tokenizer, ex["messages"], ex["rejected"], max_len=config.max_len)
            if not rejected[0]:
                result.skipped += 1
                continue
            row["rejected"] = rejected
        data.append(row)
    if not data:
        raise TrainingError(
            f"no {kind} example fits max_len={config.max_len} tokens (skipped {result.skipped})"
        )
    result.examples = len(data)
    plan = schedule(len(data), config)

    if kind == "dpo":
        # Reference log-probabilities of the starting model, once (see the module docstring),
        # for the rows the schedule uses.
        model.eval()
        used = sorted({i for batches in plan for batch in batches for i in batch})
        with torch.no_grad(), autocast():
            for i in used:
                row = data[i]
                row["ref"] = _answer_logps(
                    torch, model, [row["chosen"], row["rejected"]], pad_id, device
                ).tolist()

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    model.train()
    started = time.perf_counter()
    accuracies: list[float] = []
    for step in range(config.steps):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, config)
        step_loss = step_acc = 0.0
        batches = [[data[i] for i in batch] for batch in plan[step]]
        # SFT: every answer token of the step weighs the same. A per-example mean would give a
        # 5-token NOT_IN_SOURCES the weight of a 60-token answer (12x per token), and the model
        # learned to refuse almost everything (README "Fine-tuning").
        step_tokens = sum(
            len(ids) - start for b in batches for ids, start in (r["chosen"] for r in b)
        )
        for batch in batches:
            if kind == "sft":
                rows = [r["chosen"] for r in batch]
                with autocast():
                    loss = answer_nll(torch, model, rows, pad_id, device) / step_tokens
                loss = loss * config.grad_accum
            else:
                rows = [r["chosen"] for r in batch] + [r["rejected"] for r in batch]
                with autocast():
                    logps = _answer_logps(torch, model, rows, pad_id, device)
                n = len(batch)
                ref = torch.tensor([r["ref"] for r in batch], device=device)
                margin = (logps[:n] - ref[:, 0]) - (logps[n:] - ref[:, 1])
                loss = -torch.nn.functional.logsigmoid(config.beta * margin).mean()
                step_acc += float((margin > 0).float().mean()) / config.grad_accum
            (loss / config.grad_accum).backward()
            step_loss += float(loss.detach()) / config.grad_accum
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        result.losses.append(round(step_loss, 5))
        if kind == "dpo":
            accuracies.append(round(step_acc, 3))
        logger.debug("%s step %d/%d loss %.4f", kind, step + 1, config.steps, step_loss)
        if log_every and ((step + 1) % log_every == 0 or step + 1 == config.steps):
            elapsed = time.perf_counter() - started
            line = progress_line(
                kind, step + 1, config.steps, result.losses, accuracies, elapsed, log_every
            )
            logger.info("%s", line)
        if progress:
            progress(step + 1, config.steps, step_loss)
    result.seconds = round(time.perf_counter() - started, 2)
    if accuracies:
        result.extra["reward_accuracy"] = accuracies
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    return result, base_dir


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def progress_line(
    kind: str,
    step: int,
    steps: int,
    losses: list[float],
    accuracies: list[float],
    elapsed: float,
    window: int,
) -> str:
    """``sft step 40/375 loss 1.2345 (mean 1.3012) 28.4 s/step ETA 2:38:34``."""
    recent = losses[-window:]
    mean = sum(recent) / len(recent)
    line = f"{kind} step {step}/{steps} loss {losses[-1]:.4f} (mean {mean:.4f})"
    if accuracies:
        acc = accuracies[-window:]
        line += f" reward accuracy {sum(acc) / len(acc):.2f}"
    per_step = elapsed / step
    return f"{line} {per_step:.1f} s/step ETA {_clock(per_step * (steps - step))}"


def fingerprint(adapter_dir: Path) -> str:
    """What the transformers backend will record as ``Answer.adapter_id`` for this adapter."""
    return directory_fingerprint(adapter_dir, hash_weights=True)


def base_fingerprint(model_dir: Path) -> str:
    return directory_fingerprint(model_dir, hash_weights=False)
