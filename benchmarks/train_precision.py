"""Training throughput in float32 and in bfloat16 autocast, measured in one run: the trainer's own
step (forward, backward, clipping, AdamW) on the default corpus, alternating the two precisions so
that the machine's drifting speed falls on both alike.

    python benchmarks/train_precision.py [--set model.hidden=512 ...] [--steps N] [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console

from bard.config import load_config
from bard.device import bf16_is_native
from bard.training import Ranks, Trainer, autocast_for
from machine import machine

PRECISIONS = ("float32", "bfloat16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.KEY=VALUE",
                        help="config override, e.g. --set model.hidden=512 (repeatable)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round and precision")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best round counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    config = load_config(None, args.overrides)
    device = torch.device("cpu")
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(config, Path(out), Ranks(), device, resume=False, console=Console(quiet=True))
        trainer.model.train()
        best = {p: float("inf") for p in PRECISIONS}
        for _ in range(args.rounds):
            for precision in PRECISIONS:
                trainer.autocast = autocast_for(precision, device)
                trainer.train_step()  # warm-up: oneDNN picks kernels for each arithmetic on first use
                started = time.perf_counter()
                for _ in range(args.steps):
                    trainer.train_step()
                best[precision] = min(best[precision], (time.perf_counter() - started) / args.steps)
    chars = config.train.batch_size * config.train.seq_len
    rates = {p: chars / seconds for p, seconds in best.items()}
    result = {"model": f"{config.model.layers}x{config.model.hidden} {config.model.cell}",
              "parameters": trainer.model.num_parameters(), "batch": [config.train.batch_size, config.train.seq_len],
              "bf16_native": bf16_is_native(device), "chars_per_s": rates,
              "ratio_bf16_over_fp32": rates["bfloat16"] / rates["float32"], **machine()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['model']}, {result['parameters']:,} parameters, batch {chars:,} characters; "
          f"{result['cpu']}, {result['threads']} threads, torch {result['torch']}"
          f" (bfloat16 {'native' if result['bf16_native'] else 'emulated'})")
    for precision, rate in rates.items():
        print(f"{precision:>9}: {rate:,.0f} chars/s")
    print(f"bfloat16 / float32: {result['ratio_bf16_over_fp32']:.2f}x")


if __name__ == "__main__":
    main()
