"""The training curve as a PNG: loss per optimizer step, and for DPO the reward accuracy.

Written beside the adapter (``loss.png``) when training ends, so a run on a machine without the
portal still leaves its curve, and served by the registry page (``selectors.loss_plot_png``).
Matplotlib with the Agg backend: no display, no GUI toolkit.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path


def _smooth(values: Sequence[float], window: int) -> list[float]:
    return [
        sum(values[max(0, i - window + 1) : i + 1]) / len(values[max(0, i - window + 1) : i + 1])
        for i in range(len(values))
    ]


def loss_plot_png(
    *,
    losses: Sequence[float],
    title: str,
    kind: str,
    reward_accuracy: Sequence[float] | None = None,
) -> bytes:
    """Steps against loss (with a moving mean once there are enough steps to smooth); for DPO,
    the share of pairs whose chosen answer wins, on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.6, 3.6), dpi=100)
    axes = figure.subplots()
    steps = list(range(1, len(losses) + 1))
    axes.plot(steps, losses, marker=".", linewidth=1, label="loss per step")
    window = max(1, len(losses) // 10)
    if window > 1:
        axes.plot(steps, _smooth(losses, window), linewidth=2, label=f"mean of {window}")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("DPO loss" if kind == "dpo" else "SFT loss (answer tokens)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    if reward_accuracy:
        right = axes.twinx()
        accuracy = list(reward_accuracy)
        (line,) = right.plot(
            list(range(1, len(accuracy) + 1)),
            _smooth(accuracy, window),
            color="tab:green",
            linewidth=1.5,
            label="reward accuracy" + (f" (mean of {window})" if window > 1 else ""),
        )
        right.set_ylim(-0.02, 1.02)
        right.set_ylabel("reward accuracy")
        handles.append(line)
        labels.append(line.get_label())
    axes.legend(handles, labels, loc="best")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def loss_plot_write(path: Path, **curve) -> Path:
    """``loss_plot_png(**curve)`` written to ``path`` (replaced atomically)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(loss_plot_png(**curve))
    tmp.replace(path)
    return path
