"""How hard bard's sentence_polarity test split is: the shipped LSTM beside the strongest classic
baseline for this data, NBSVM-style logistic regression on binary word and bigram counts scaled by
their naive-Bayes log-count ratios (Wang & Manning, 2012), fitted on the same training split.

    python benchmarks/polarity_baselines.py [--checkpoint PATH] [--json]

Needs scikit-learn (in the dev extras).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.sparse import diags
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from bard.config import load_config
from bard.sentiment import SentimentScorer
from bard.sentiment_data import polarity_splits


def nbsvm_accuracy(train, test, strength: float) -> float:
    """Test accuracy of log-count-ratio logistic regression on binary 1- and 2-gram counts."""
    labels = np.array([e.label for e in train])
    vectorizer = CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=r"\S+")
    counts = vectorizer.fit_transform([" ".join(e.tokens) for e in train])
    positive, negative = 1 + counts[labels == 1].sum(0), 1 + counts[labels == 0].sum(0)
    ratio = diags(np.asarray(np.log((positive / positive.sum()) / (negative / negative.sum()))).ravel())
    classifier = LogisticRegression(C=strength, max_iter=2000).fit(counts @ ratio, labels)
    predicted = classifier.predict(vectorizer.transform([" ".join(e.tokens) for e in test]) @ ratio)
    return float((predicted == np.array([e.label for e in test])).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: the shipped classifier (checkpoints.sentiment)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    config = load_config(None)
    splits = polarity_splits()
    # The regularisation strength is chosen on the validation split, as the LSTM's epoch is.
    strengths = (0.1, 0.3, 1.0, 3.0)
    best = max(strengths, key=lambda c: nbsvm_accuracy(splits["train"], splits["val"], c))
    scorer = SentimentScorer.load(args.checkpoint or config.resolve(config.checkpoints.sentiment))
    truth = np.array([e.label for e in splits["test"]])
    lstm = float(((scorer.score([" ".join(e.tokens) for e in splits["test"]]) >= 0.5) == truth).mean())
    report = {"test_sentences": len(truth), "bard_lstm": lstm, "nbsvm_bigrams": nbsvm_accuracy(splits["train"], splits["test"], best),
              "nbsvm_C": best}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"sentence_polarity test split ({len(truth)} sentences): bard's LSTM {lstm:.3f}, "
              f"NBSVM bigrams (C={best}) {report['nbsvm_bigrams']:.3f}")


if __name__ == "__main__":
    main()
