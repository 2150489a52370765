"""Plot a run's TensorBoard scalars to one PNG (for READMEs and reports).

    python -m tinct.train.plot RUN OUT.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

PANELS = [("train/loss_per_image", "training loss per image"), ("val/auc_rebalanced", "held-out rebalanced AuC"),
          ("val/psnr", "held-out PSNR (dB)"), ("val/colourfulness_ratio", "colourfulness / truth's"),
          ("train/lr", "learning rate"), ("train/images_per_s", "images / s")]


def read_scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(Path(run) / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def plot(run: Path, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = read_scalars(run)
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), dpi=90)
    for ax, (tag, title) in zip(axes.flat, PANELS):
        if tag in s:
            x, y = zip(*s[tag])
            ax.plot(x, y, label="model")
        grey = tag.replace("val/", "val_grey/")
        if grey != tag and grey in s and tag != "val/colourfulness_ratio":
            x, y = zip(*s[grey])
            ax.plot(x, y, "--", label="grey baseline")
            ax.legend(fontsize=8)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tinct.train.plot")
    p.add_argument("run", type=Path)
    p.add_argument("out", type=Path)
    a = p.parse_args(argv)
    plot(a.run, a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
