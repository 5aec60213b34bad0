"""The sentiment classifier's speed on a responder-sized batch and its agreement between modern
and First Folio spellings of the same line (benchmarks/folio_pairs.tsv).

    python benchmarks/sentiment.py [--checkpoint PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bard.config import load_config
from bard.sampling import generate
from bard.checkpoint import load_checkpoint
from bard.sentiment import SentimentScorer
from machine import machine

PAIRS = Path(__file__).resolve().parent / "folio_pairs.tsv"


def candidates(config, batch: int) -> list[str]:
    """Realistic candidates: what the shipped character model writes, 80 characters each."""
    char_model = load_checkpoint(config.resolve(config.checkpoints.char_model))
    return generate(char_model.model, char_model.vocab, "ham. my lord,", batch, 80, 0.7, seed=0)


def scoring_times(score, texts: list[str], repeats: int = 20) -> list[float]:
    """Seconds per call of score(texts), after one call to warm up, sorted."""
    score(texts)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        score(texts)
        timings.append(time.perf_counter() - started)
    return sorted(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: the shipped classifier (checkpoints.sentiment)")
    parser.add_argument("--batch", type=int, default=256, help="candidates scored at once (default 256)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    config = load_config(None)
    scorer = SentimentScorer.load(args.checkpoint or config.resolve(config.checkpoints.sentiment))

    timings = scoring_times(scorer.score, candidates(config, args.batch))

    pairs = [line.split("\t") for line in PAIRS.read_text().splitlines() if line and not line.startswith("#")]
    modern = scorer.score([m for m, _ in pairs])
    folio = scorer.score([f for _, f in pairs])
    agreement = float(((modern >= 0.5) == (folio >= 0.5)).mean())
    result = {"batch": args.batch, "median_ms": 1000 * timings[len(timings) // 2], "best_ms": 1000 * timings[0],
              "folio_pairs": len(pairs), "folio_label_agreement": agreement,
              "folio_mean_abs_difference": float(abs(modern - folio).mean()), **machine()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"scoring {args.batch} candidates of 80 characters: median {result['median_ms']:.1f} ms, "
          f"best {result['best_ms']:.1f} ms ({torch.get_num_threads()} threads)")
    print(f"modern vs Folio spelling, {len(pairs)} lines: labels agree on {agreement:.0%}; "
          f"mean |difference| in P(positive) {result['folio_mean_abs_difference']:.3f}")


if __name__ == "__main__":
    main()
