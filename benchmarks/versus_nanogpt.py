"""bard against nanoGPT at equal wall time on tiny-shakespeare, cased, on this CPU: nanoGPT's CPU
"baby" run (the overrides its README gives for a CPU, 2,000 iterations), then `bard train
--max-minutes` for as long as nanoGPT took, and each one's held-out loss on the last 10% of the text.

    python benchmarks/versus_nanogpt.py --nanogpt PATH [--text input.txt] [--json]

PATH is a checkout of https://github.com/karpathy/nanoGPT (not shipped with bard); it is copied to a
temporary folder and run there with this Python. nanoGPT's figure is its own estimate at its last
iteration (20 batches of the held-out part); bard's is `bard eval` over the whole held-out part.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine

ROOT = Path(__file__).resolve().parent.parent
TEXT = ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
# nanoGPT README, "I only have a macbook" (CPU): its baby GPT.
BABY = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1",
        "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128", "--max_iters=2000",
        "--lr_decay_iters=2000", "--dropout=0.0"]
# prepare.py imports requests to download the text, which is already in place: the import must not fail.
PREPARE = "import runpy, sys, types; sys.modules.setdefault('requests', types.ModuleType('requests')); " \
          "runpy.run_path('data/shakespeare_char/prepare.py', run_name='__main__')"


def run(command: list[str], cwd: Path) -> tuple[str, float]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"{' '.join(command[:4])} ... failed:\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr, seconds


def nanogpt(checkout: Path, text: Path, work: Path) -> dict:
    copy = work / "nanoGPT"
    shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns(".git", "out-*"))
    shutil.copy(text, copy / "data" / "shakespeare_char" / "input.txt")
    run([sys.executable, "-c", PREPARE], copy)
    output, seconds = run([sys.executable, "train.py", *BABY], copy)
    steps = re.findall(r"step (\d+): train loss ([\d.]+), val loss ([\d.]+)", output)
    if not steps:
        raise SystemExit(f"nanoGPT printed no validation:\n{output[-3000:]}")
    step, train_loss, val_loss = steps[-1]
    return {"seconds": seconds, "iterations": int(step), "val_loss": float(val_loss)}


def bard(text: Path, seconds: float, work: Path, overrides: list[str]) -> dict:
    out = work / "bard"
    sets = [f"corpus.files=[{text}]", "corpus.gutenberg=[]", "corpus.lowercase=false", *overrides]
    command = [sys.executable, "-m", "bard", "train", "--out", str(out), "--max-minutes", f"{seconds / 60:.4f}"]
    log, took = run(command + [arg for s in sets for arg in ("--set", s)], ROOT)
    report, _ = run([sys.executable, "-m", "bard", "eval", "--checkpoint", str(out / "best.pt"), "--json"], ROOT)
    figures = json.loads(report.strip().splitlines()[-1])
    budget = re.findall(r"time budget .*?batch (\d+), (\d+) ms a step.*?-> ([\d,]+) steps", log)
    batch, step_ms, steps = budget[-1] if budget else ("?", "?", "?")
    return {"seconds": took, "steps": int(steps.replace(",", "")) if budget else None, "best_step": figures["step"],
            "batch_size": batch, "step_ms": step_ms,
            "val_loss": figures["val_loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nanogpt", required=True, type=Path, help="a checkout of karpathy/nanoGPT")
    parser.add_argument("--text", type=Path, default=TEXT, help=f"tiny-shakespeare's input.txt (default {TEXT})")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="a config override for bard's run (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not (args.nanogpt / "train.py").is_file():
        raise SystemExit(f"{args.nanogpt} is not a nanoGPT checkout (no train.py)")
    if not args.text.is_file():
        raise SystemExit(f"cannot read {args.text}: give tiny-shakespeare's input.txt with --text")
    with tempfile.TemporaryDirectory() as work:
        theirs = nanogpt(args.nanogpt.resolve(), args.text.resolve(), Path(work))
        # bard's budget is nanoGPT's whole run less bard's own start-up and final evaluation (about 5 s).
        ours = bard(args.text.resolve(), theirs["seconds"] - 5, Path(work), args.set)
    result = {"nanogpt": theirs, "bard": ours, "bard_lower_by": theirs["val_loss"] - ours["val_loss"], **machine()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['cpu']} ({result['kernels']} kernels), {result['threads']} threads, torch {result['torch']}")
    print(f"nanoGPT baby GPT: {theirs['iterations']:,} iterations in {theirs['seconds']:.0f} s -> "
          f"held-out {theirs['val_loss']:.3f} nats/char")
    print(f"bard train:       {ours['steps']:,} steps planned, batch {ours['batch_size']} ({ours['step_ms']} ms each), "
          f"{ours['seconds']:.0f} s -> held-out {ours['val_loss']:.3f} nats/char (best.pt, step {ours['best_step']:,})")
    print(f"bard lower by {result['bard_lower_by']:.3f} nats/char")


if __name__ == "__main__":
    main()
