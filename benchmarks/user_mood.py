"""How the responder reads the user's mood, on the labelled chat messages (corpora/chat): the
classifier's accuracy beside VADER's, how often a reading is sure enough to act on
(bard.scoring.SURE_WITHIN) and how often a sure reading is right, and the "Alas," opening: how
many glad messages get it (it should be none) and how many unhappy "I ..." messages do.

    python benchmarks/user_mood.py [--part dev|test] [--json]

Choose on the development part; the test part is for final figures.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from bard.config import load_config
from bard.responder import Responder
from bard.scoring import SURE_WITHIN, is_sure
from bard.sentiment import CHAT_SETS
from bard.sentiment_data import labelled_texts, vader_compound

THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("dev", "test"), default="dev", help="which part of the chat set (default: dev)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    texts, labels, _ = labelled_texts(CHAT_SETS[args.part])
    glad = np.array(labels) == 1
    responder = Responder.load(load_config(None))
    positive = np.array([responder.read_mood(text) for text in texts])
    alas = np.array(["alas" in "".join(responder.openings(text, p)).lower() for text, p in zip(texts, positive)])
    sure = np.array([[is_sure(p, within) for p in positive] for within in THRESHOLDS])
    right = (positive >= 0.5) == glad
    report = {
        "part": args.part, "messages": len(texts), "glad": int(glad.sum()),
        "accuracy": float(right.mean()), "vader_accuracy": float(((vader_compound(texts) >= 0) == glad).mean()),
        "sure_within": SURE_WITHIN,
        "sure_share": float(np.mean([is_sure(p) for p in positive])),
        "by_threshold": {f"{t:g}": {"sure_share": float(s.mean()), "sure_accuracy": float(right[s].mean()) if s.any() else None}
                         for t, s in zip(THRESHOLDS, sure)},
        "alas_for_glad": int((alas & glad).sum()), "alas_for_unhappy": int((alas & ~glad).sum()),
        "alas_for_glad_messages": [t for t, a, g in zip(texts, alas, glad) if a and g],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"chat {args.part}: {len(texts)} messages ({report['glad']} glad); classifier accuracy "
          f"{report['accuracy']:.3f}, VADER {report['vader_accuracy']:.3f}")
    for t, row in report["by_threshold"].items():
        mark = "  <- SURE_WITHIN" if float(t) == SURE_WITHIN else ""
        accuracy = "-" if row["sure_accuracy"] is None else f"{row['sure_accuracy']:.3f}"
        print(f"  reading within {t:>4} of 0 or 1: {row['sure_share']:.1%} of messages, right on {accuracy}{mark}")
    print(f'"Alas," opening: {report["alas_for_glad"]} glad messages, {report["alas_for_unhappy"]} unhappy ones')
    for text in report["alas_for_glad_messages"]:
        print(f"  glad, answered Alas: {text}")


if __name__ == "__main__":
    main()
