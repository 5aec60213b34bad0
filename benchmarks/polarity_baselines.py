"""How hard bard's sentence_polarity test split is: the shipped LSTM beside a strong classic
baseline for this data, NB-LR (NBSVM-style: logistic regression on binary word and bigram counts
scaled by their naive-Bayes log-count ratios, after Wang & Manning, 2012), fitted on the same
training split.

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


class NaiveBayesLogistic:
    """Binary 1- and 2-gram counts scaled by their naive-Bayes log-count ratios, fitted once."""

    def __init__(self, train):
        labels = np.array([e.label for e in train])
        self.vectorizer = CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=r"\S+")
        counts = self.vectorizer.fit_transform([" ".join(e.tokens) for e in train])
        positive, negative = 1 + counts[labels == 1].sum(0), 1 + counts[labels == 0].sum(0)
        self.ratio = diags(np.asarray(np.log((positive / positive.sum()) / (negative / negative.sum()))).ravel())
        self.features, self.labels = counts @ self.ratio, labels

    def accuracy(self, test, strength: float) -> float:
        """Test accuracy of logistic regression with inverse regularisation `strength`."""
        classifier = LogisticRegression(C=strength, max_iter=2000).fit(self.features, self.labels)
        predicted = classifier.predict(self.vectorizer.transform([" ".join(e.tokens) for e in test]) @ self.ratio)
        return float((predicted == np.array([e.label for e in test])).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: the shipped classifier (checkpoints.sentiment)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    config = load_config(None)
    splits = polarity_splits()
    # The regularisation strength is chosen on the validation split, as the LSTM's epoch is.
    baseline = NaiveBayesLogistic(splits["train"])
    best = max((0.1, 0.3, 1.0, 3.0), key=lambda c: baseline.accuracy(splits["val"], c))
    scorer = SentimentScorer.load(args.checkpoint or config.resolve(config.checkpoints.sentiment))
    truth = np.array([e.label for e in splits["test"]])
    lstm = float(((scorer.score([" ".join(e.tokens) for e in splits["test"]]) >= 0.5) == truth).mean())
    report = {"test_sentences": len(truth), "bard_lstm": lstm, "nb_lr_bigrams": baseline.accuracy(splits["test"], best),
              "nb_lr_C": best}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"sentence_polarity test split ({len(truth)} sentences): bard's LSTM {lstm:.3f}, "
              f"NB-LR bigrams (C={best}) {report['nb_lr_bigrams']:.3f}")


if __name__ == "__main__":
    main()
