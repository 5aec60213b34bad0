"""How much of a classifier's figure is its seed, and what an ensemble of several would buy: each
checkpoint's accuracy on the development sets (sentence_polarity validation, the chat development
part, the Folio development set), the ensemble's (the mean of their probabilities), and what the
ensemble costs in scoring time against one member.

    bard sentiment train --seed 2 --out runs/sentiment-seed2     # one run per seed
    python benchmarks/sentiment_seeds.py checkpoints/sentiment.pt runs/sentiment-seed2/sentiment.pt ... [--json]

Development sets only, never the test sets: this is for choosing. They also chose each member's
epoch, which flatters every row alike. Texts are read as the responder reads them (Early Modern
respelling included), so polarity_val can differ slightly from the figure training printed.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from bard.config import load_config
from bard.sentiment import CHAT_SETS, FOLIO_DEV_SET, SentimentScorer
from bard.sentiment_data import labelled_texts, polarity_splits
from machine import machine
from sentiment import candidates, scoring_times


def development_sets() -> dict[str, tuple[list[str], np.ndarray]]:
    """Each development set's texts and whether each is positive."""
    validation = polarity_splits()["val"]
    sets = {"polarity_val": ([" ".join(e.tokens) for e in validation], np.array([e.label == 1 for e in validation]))}
    for name, path in (("chat_dev", CHAT_SETS["dev"]), ("folio_dev", FOLIO_DEV_SET)):
        texts, labels, _ = labelled_texts(path)
        sets[name] = (texts, np.array(labels) == 1)
    return sets


def accuracies(probabilities: dict[str, np.ndarray], sets) -> dict[str, float]:
    scores = {name: float(((probabilities[name] >= 0.5) == positive).mean()) for name, (_, positive) in sets.items()}
    return {**scores, "mean": float(np.mean(list(scores.values())))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="sentiment classifiers, one per seed")
    parser.add_argument("--batch", type=int, default=256, help="candidates scored at once when timing (default 256)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls of each scorer (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    sets = development_sets()
    scorers = [SentimentScorer.load(path) for path in args.checkpoints]
    probabilities = [{name: scorer.score(texts) for name, (texts, _) in sets.items()} for scorer in scorers]
    members = [{"checkpoint": path, "seed": scorer.meta["sentiment_config"]["seed"], **accuracies(p, sets)}
               for path, scorer, p in zip(args.checkpoints, scorers, probabilities)]
    ensemble = accuracies({name: np.mean([p[name] for p in probabilities], 0) for name in sets}, sets)
    names = [*sets, "mean"]
    spread = {n: max(m[n] for m in members) - min(m[n] for m in members) for n in names}

    def score_all(texts):
        return np.mean([scorer.score(texts) for scorer in scorers], 0)

    texts = candidates(load_config(None), args.batch)
    one_ms = 1000 * float(np.median(scoring_times(scorers[0].score, texts, args.repeats)))
    all_ms = 1000 * float(np.median(scoring_times(score_all, texts, args.repeats)))
    report = {"members": members, "spread": spread, "ensemble": ensemble, "batch": args.batch, "one_member_ms": one_ms,
              "ensemble_ms": all_ms, **machine()}
    if args.json:
        print(json.dumps(report))
        return
    print("| classifier | " + " | ".join(names) + " |\n|" + " --- |" * (len(names) + 1))
    for member in members:
        print(f"| seed {member['seed']} | " + " | ".join(f"{member[n]:.3f}" for n in names) + " |")
    print("| spread (max - min) | " + " | ".join(f"{spread[n]:.3f}" for n in names) + " |")
    print(f"| ensemble of {len(members)} | " + " | ".join(f"{ensemble[n]:.3f}" for n in names) + " |")
    print(f"scoring {args.batch} candidates: one member {one_ms:.1f} ms, the ensemble {all_ms:.1f} ms (medians)")


if __name__ == "__main__":
    main()
