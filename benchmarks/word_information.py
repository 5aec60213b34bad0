"""How much a message can tell about its reply's words, measured without any neural model: a word
co-occurrence model fit on the training pairs, scored as `bard eval --pairs` scores a character
model (each reply after its own message and after the previous line's), in nats per reply
character. It is a yardstick for message information: what simple statistics of the written
exchanges already reach, which a model that listens should match or beat.

p(word | message) = lam * p(word) + (1 - lam) * mean over the message's known words u of p(word | u),
where p(word | u) is the share of reply words after messages holding u that are `word`, smoothed
towards p(word). Words are lowercased; a message word counts once it was seen in 3 messages.

    python benchmarks/word_information.py [--train corpora/dialogue/train.tsv] [--pairs corpora/dialogue/dev.tsv]
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

from bard.errors import BardError
from bard.pairs import read_pairs

WORD = re.compile(r"[a-z']+")
MIN_MESSAGES = 3
SMOOTHING = 0.05  # weight of p(word) in each p(word | u)


def read(path: Path) -> list[tuple[str, str]]:
    """`message<TAB>reply` lines, as bard reads them (one-line errors for a bad file or line)."""
    return [(p.message, p.reply) for p in read_pairs(path)]


class WordModel:
    def __init__(self, pairs: list[tuple[str, str]]):
        self.unigram = Counter()
        self.after = defaultdict(Counter)  # message word -> reply words after it
        self.messages = Counter()
        for message, reply in pairs:
            reply_words = WORD.findall(reply.lower())
            self.unigram.update(reply_words)
            for word in set(WORD.findall(message.lower())):
                self.messages[word] += 1
                self.after[word].update(reply_words)
        self.total = sum(self.unigram.values())
        self.after_totals = {word: sum(counts.values()) for word, counts in self.after.items()}

    def prior(self, word: str) -> float:
        return (self.unigram[word] + 1) / (self.total + len(self.unigram) + 1)

    def log_prob(self, word: str, message: str, lam: float) -> float:
        prior = self.prior(word)
        known = [u for u in set(WORD.findall(message.lower())) if self.messages[u] >= MIN_MESSAGES]
        if not known:
            return math.log(prior)
        given = sum((self.after[u][word] + SMOOTHING * self.after_totals[u] * prior)
                    / (self.after_totals[u] * (1 + SMOOTHING)) for u in known) / len(known)
        return math.log(lam * prior + (1 - lam) * given)


def message_information(model: WordModel, pairs: list[tuple[str, str]], lam: float) -> float:
    gained = chars = 0.0
    for i, (message, reply) in enumerate(pairs):
        other = pairs[i - 1][0]
        for word in WORD.findall(reply.lower()):
            gained += model.log_prob(word, message, lam) - model.log_prob(word, other, lam)
        chars += len(reply) + 2  # the reply and its speech's end, as the character model is scored
    return gained / chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--train", type=Path, default=root / "corpora" / "dialogue" / "train.tsv")
    parser.add_argument("--pairs", type=Path, action="append", help="default: corpora/dialogue/dev.tsv (repeatable)")
    args = parser.parse_args()
    try:
        model = WordModel(read(args.train))
        parts = [(path, read(path)) for path in args.pairs or [root / "corpora" / "dialogue" / "dev.tsv"]]
    except BardError as e:
        raise SystemExit(f"word_information.py: error: {e}") from None
    for path, pairs in parts:
        figures = ", ".join(f"lam {lam}: {message_information(model, pairs, lam):.4f}" for lam in (0.3, 0.5, 0.7, 0.9))
        print(f"{path} ({len(pairs)} pairs): message information of the word model, nats/char: {figures}")


if __name__ == "__main__":
    main()
