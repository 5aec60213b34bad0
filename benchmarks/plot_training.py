"""Plot a run's training and validation loss against wall-clock time from its metrics.jsonl.

    python benchmarks/plot_training.py runs/char/metrics.jsonl docs/training-loss.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--title", default="bard's default model on the Folio")
    parser.add_argument("--reference", type=float, help="draw a reference validation loss, e.g. another recipe's best")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.metrics.read_text().splitlines()]
    minutes = [r["elapsed_s"] / 60 for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.plot(minutes, [r["train_loss"] for r in rows], label="training loss (mean since last evaluation)")
    ax.plot(minutes, [r["val_loss"] for r in rows], label="validation loss (last 10% of each play)")
    if args.reference is not None:
        ax.axhline(args.reference, color="grey", linestyle="--", linewidth=1, label=f"reference ({args.reference})")
    best = min(rows, key=lambda r: r["val_loss"])
    ax.annotate(f"best {best['val_loss']:.3f} (step {best['step']})", (best["elapsed_s"] / 60, best["val_loss"]),
                textcoords="offset points", xytext=(-60, 25), arrowprops={"arrowstyle": "->"})
    ax.set_xlabel("wall-clock minutes (2-core CPU)")
    ax.set_ylabel("loss, nats/char")
    ax.set_ylim(1.0, 2.6)
    ax.set_title(args.title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
