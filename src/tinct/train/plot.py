"""Plot one or more runs' TensorBoard scalars to one PNG (for READMEs, reports and comparing runs).

    python -m tinct.train.plot RUN [RUN ...] -o OUT.png [--labels A,B] [--x step|images] [--xmax N] [--smooth 0.9]

Each run gets one colour; its grey baseline (held-out images with ab = 0) is drawn dashed in the same colour.
``--x images`` puts runs with different batch sizes on one axis (images seen = step x the run's batch size).
``--smooth`` applies an exponential moving average (TensorBoard's slider) to the training loss only.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

PANELS = [("train/loss_per_image", "training loss per image"), ("val/auc_rebalanced", "held-out rebalanced AuC"),
          ("val/psnr", "held-out PSNR (dB)"), ("val/colourfulness_ratio", "colourfulness / truth's"),
          ("train/lr", "learning rate"), ("train/images_per_s", "images / s")]


def read_scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """All scalars of a run: tag -> [(step, value)], sorted by step (the last value wins for a repeated step,
    as after a ``--resume`` that redoes a few steps)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(Path(run) / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags()["scalars"]:
        by_step = {e.step: e.value for e in sorted(acc.Scalars(tag), key=lambda e: e.wall_time)}
        out[tag] = sorted(by_step.items())
    return out


def ema(values: list[float], alpha: float) -> list[float]:
    """Exponential moving average with TensorBoard's debiasing (alpha = 0: the values themselves)."""
    out, acc = [], 0.0
    for i, v in enumerate(values, 1):
        acc = alpha * acc + (1 - alpha) * v
        out.append(acc / (1 - alpha ** i) if alpha else v)
    return out


def plot(runs: list[Path], out: Path, labels: list[str] | None = None, x: str = "step", smooth: float = 0.0,
         xmax: float | None = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = labels or [Path(r).name for r in runs]
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), dpi=90)
    for i, (run, label) in enumerate(zip(runs, labels)):
        s = read_scalars(run)
        scale = json.loads((Path(run) / "config.json").read_text())["batch_size"] if x == "images" else 1
        colour = f"C{i}"
        if xmax is not None:  # keep what lies on the shown part of the x axis
            s = {k: [(t, v) for t, v in pts if t * scale <= xmax] for k, pts in s.items()}
            s = {k: pts for k, pts in s.items() if pts}
        for ax, (tag, _) in zip(axes.flat, PANELS):
            if tag in s:
                steps, values = zip(*s[tag])
                if tag == "train/loss_per_image" and smooth:
                    ax.plot([t * scale for t in steps], values, color=colour, alpha=0.2, lw=0.8)
                    values = ema(list(values), smooth)
                ax.plot([t * scale for t in steps], values, color=colour, label=label)
            grey = tag.replace("val/", "val_grey/")
            if grey != tag and grey in s and tag != "val/colourfulness_ratio":
                steps, values = zip(*s[grey])
                ax.plot([t * scale for t in steps], values, "--", color=colour, alpha=0.7,
                        label=f"{label}: grey baseline")
    for ax, (_, title) in zip(axes.flat, PANELS):
        ax.set_title(title)
        ax.set_xlabel("images seen" if x == "images" else "step")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUT.png")
    p.add_argument("--labels", type=lambda t: t.split(","), default=None, help="comma-separated, one per run")
    p.add_argument("--x", choices=("step", "images"), default="step")
    p.add_argument("--xmax", type=float, default=None, help="show only x <= XMAX (steps or images)")
    p.add_argument("--smooth", type=float, default=0.0, help="EMA weight for the training loss, 0 <= s < 1")
    return p


def run(a, p=None) -> int:
    if a.labels and len(a.labels) != len(a.runs):
        p.error(f"--labels has {len(a.labels)} names for {len(a.runs)} runs")
    if not 0 <= a.smooth < 1:
        p.error("--smooth must be in [0, 1)")
    for r in a.runs:
        if not (r / "tensorboard").is_dir() or not (r / "config.json").is_file():
            p.error(f"{r}: not a training run (no tensorboard/ or config.json)")
    plot(a.runs, a.out, a.labels, a.x, a.smooth, a.xmax)
    print(f"wrote {a.out}")
    return 0



def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tinct.train.plot", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv), p)

if __name__ == "__main__":
    raise SystemExit(main())
