"""The responder as a user meets it: the shipped models loaded once, one conversation, a reply to
each of 40 varied prompts (benchmarks/prompts.txt). Prints latency p50/p95, the candidates a reply
had (the reply budget may give a slow machine fewer), the fallback rate, the acceptance rate, the
share of candidates rejected as copies of the plays and the process's peak memory (RSS).

    python benchmarks/responder.py [--prompts FILE] [--passes N] [--seed S] [--beside-training] [--json]
                                   [--set SECTION.KEY=VALUE]

--seed makes the draws repeat, and so switches the reply budget off (it sizes batches from timings).
--beside-training runs a `bard train` of the default recipe in another process while replying, as
a chat or a Discord bot beside a training run would.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from bard.config import load_config
from bard.responder import COPY, Responder
from machine import machine

PROMPTS = Path(__file__).resolve().parent / "prompts.txt"


@contextmanager
def training_beside():
    """A `bard train` of the default recipe in another process, past its start-up, until the end."""
    with tempfile.TemporaryDirectory() as out:
        log = Path(out) / "train.log"
        with open(log, "w") as stderr:
            trainer = subprocess.Popen([sys.executable, "-m", "bard", "train", "--out", out, "--max-steps", "1000000"],
                                       stdout=subprocess.DEVNULL, stderr=stderr)
            try:
                while "parameters" not in log.read_text():  # its first line, once the corpus is read
                    if trainer.poll() is not None:
                        raise SystemExit(f"bard train ended early:\n{log.read_text()}")
                    time.sleep(0.5)
                time.sleep(5)  # into the training loop
                yield
            finally:
                trainer.terminate()
                trainer.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", default=str(PROMPTS), help="one prompt per line (default: benchmarks/prompts.txt)")
    parser.add_argument("--passes", type=int, default=1, help="times through the prompts (default 1)")
    parser.add_argument("--seed", type=int, help="the same draws every run (switches the reply budget off)")
    parser.add_argument("--beside-training", action="store_true", help="reply while `bard train` runs in another process")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="a config override, e.g. responder.prototypes=4 (repeatable)")
    args = parser.parse_args()
    prompts = Path(args.prompts).read_text(encoding="utf-8").splitlines()

    started = time.perf_counter()
    responder = Responder.load(load_config(None, args.set), seed=args.seed)
    load_seconds = time.perf_counter() - started
    conversation = responder.new_conversation()
    responder.reply(conversation, "warm up")  # oneDNN builds its kernels on first use
    conversation = responder.new_conversation()
    with training_beside() if args.beside_training else nullcontext():
        replies = [responder.reply(conversation, prompt) for _ in range(args.passes) for prompt in prompts]

    latencies = np.array([r.latency_ms for r in replies])
    result = {
        "replies": len(replies),
        "latency_p50_ms": float(np.percentile(latencies, 50)),
        "latency_p95_ms": float(np.percentile(latencies, 95)),
        "latency_max_ms": float(latencies.max()),
        "fallback_rate": float(np.mean([r.fallback for r in replies])),
        "acceptance": float(np.mean([r.n_accepted / len(r.candidates) for r in replies])),
        "copy_rate": float(np.mean([c.rejected == COPY for r in replies for c in r.candidates])),
        "beside_training": args.beside_training,
        "candidates_asked": responder.defaults.candidates,
        "candidates_mean": float(np.mean([len(r.candidates) for r in replies])),
        "budget_ms": responder.budget.budget_ms,
        "load_s": load_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **machine(),
    }
    if args.json:
        print(json.dumps(result))
        return
    for prompt, reply in zip(prompts, replies):
        print(f"{reply.latency_ms:6.0f} ms  {'FALLBACK ' if reply.fallback else ''}{prompt[:40]!r} -> {reply.text}")
    print(f"{result['replies']} replies, {result['candidates_mean']:.0f} candidates each on average "
          f"(of {result['candidates_asked']}; budget {result['budget_ms']:.0f} ms): latency p50 {result['latency_p50_ms']:.0f} ms, "
          f"p95 {result['latency_p95_ms']:.0f} ms, max {result['latency_max_ms']:.0f} ms")
    print(f"fallback rate {result['fallback_rate']:.1%}, candidates accepted {result['acceptance']:.1%}, "
          f"rejected as copies of the plays {result['copy_rate']:.2%}"
          f"{'; beside a bard train run' if args.beside_training else ''}")
    print(f"models loaded in {result['load_s']:.1f} s; peak RSS {result['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
