"""A one-page PNG report: AuC curves (raw and rebalanced) and a grid of examples."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_report(result: dict, path: Path, title: str = "tinct evaluate") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in ("grey", "model", "hinted") if k in result]
    examples = result.get("examples", [])
    cols = ["truth", "grey", "model"] + (["hinted"] if "hinted" in result else [])
    rows = len(examples)
    fig = plt.figure(figsize=(3 * len(cols), 3.2 + 2.2 * rows), dpi=100)
    gs = fig.add_gridspec(1 + rows, len(cols), height_ratios=[1.4] + [1] * rows)
    for j, curve in enumerate(("auc_curve", "auc_rebalanced_curve")):
        ax = fig.add_subplot(gs[0, j * len(cols) // 2:(j + 1) * len(cols) // 2])
        for k in keys:
            r = result[k]
            label = f"{k} ({r['auc_rebalanced' if 'rebalanced' in curve else 'auc']:.1f})"
            ax.plot(np.arange(len(r[curve])), np.array(r[curve]) * 100, label=label)
        ax.set_xlabel("ab distance threshold")
        ax.set_ylabel("% pixels within")
        ax.set_title("rebalanced accuracy" if "rebalanced" in curve else "raw accuracy")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3)
    for i, ex in enumerate(examples):
        for j, c in enumerate(cols):
            ax = fig.add_subplot(gs[1 + i, j])
            ax.imshow(ex[c])
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(c)
    m, g = result["model"], result["grey"]
    fig.suptitle(f"{title}: AuC(rb) {m['auc_rebalanced']:.1f} vs grey {g['auc_rebalanced']:.1f}, "
                 f"PSNR {m['psnr']:.2f} vs {g['psnr']:.2f} dB, colourfulness {m['colourfulness_ratio'] * 100:.0f}%")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
