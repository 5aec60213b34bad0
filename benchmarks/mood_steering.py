"""Does `--mood` steer the replies? For each of 40 prompts (benchmarks/prompts.txt), a reply under
--mood positive and one under --mood negative, each in a fresh conversation, judged by NLTK's VADER
on the modernised text (compound > 0 positive, < 0 negative, 0 neither) and by bard's own
classifier. Prints the share of replies whose mood is the one asked for, and the replies.

    python benchmarks/mood_steering.py [--prompts FILE] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from bard.config import load_config
from bard.responder import Responder
from bard.sentiment_data import vader_compound

PROMPTS = Path(__file__).resolve().parent / "prompts.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", default=str(PROMPTS), help="one prompt per line (default: benchmarks/prompts.txt)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    prompts = Path(args.prompts).read_text(encoding="utf-8").splitlines()
    responder = Responder.load(load_config(None), seed=args.seed)
    report, rows = {}, []
    for mood, sign in (("positive", 1), ("negative", -1)):
        settings = dataclasses.replace(responder.defaults, mood=mood)
        replies = [responder.reply(responder.new_conversation(settings), p, seed=args.seed + i).text
                   for i, p in enumerate(prompts)]
        vader = vader_compound([responder.lexicon.modernizer.text(r) for r in replies])
        classifier = responder.sentiment.score(replies)
        report[mood] = {"vader_share": float(np.mean(np.sign(vader) == sign)),
                        "vader_neutral_share": float(np.mean(vader == 0)),
                        "classifier_share": float(np.mean((classifier >= 0.5) == (sign > 0)))}
        rows += [{"mood": mood, "prompt": p, "reply": r, "vader": float(v), "classifier": float(c)}
                 for p, r, v, c in zip(prompts, replies, vader, classifier)]
    if args.json:
        print(json.dumps({**report, "replies": rows}))
        return
    for row in rows:
        print(f"{row['mood']:8} {row['vader']:+.2f} {row['classifier']:.2f}  {row['prompt'][:30]!r:32} -> {row['reply']}")
    for mood, figures in report.items():
        print(f"--mood {mood}: VADER agrees on {figures['vader_share']:.0%} ({figures['vader_neutral_share']:.0%} "
              f"neutral to VADER), bard's classifier on {figures['classifier_share']:.0%}")


if __name__ == "__main__":
    main()
