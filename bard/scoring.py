"""Scoring candidate replies: spelling (the training corpus's words plus the shipped English word
list, read through Folio spelling and regular inflections), degenerate repetition, overlap with the
user's words, and fit to a target mood."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from bard.spelling import Modernizer
from bard.wordlists import WordLists

# Words with their apostrophes: o'er, th', 'tis, lov'd.
WORD = re.compile(r"'?[a-z]+(?:'[a-z]+)*'?")
INFLECTIONS = ("'st", "eth", "est", "ing", "'d", "ed", "es", "'s", "st", "s", "d")
# NLTK's English stop words know nothing of thou and hath.
EARLY_MODERN_STOPWORDS = {
    "thou", "thee", "thy", "thine", "ye", "hath", "doth", "art", "hast", "dost", "shalt", "wilt",
    "tis", "twas", "ere", "oft", "unto", "upon", "yet", "shall", "would", "let", "must",
}


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def stems(word: str, suffix: str) -> list[str]:
    """What `word` may have been before `suffix` was added: lov|es -> love, sinn|ing -> sin,
    cri|ed -> cry."""
    stem = word[: -len(suffix)]
    out = [stem, stem + "e"]
    if len(stem) > 2 and stem[-1] == stem[-2]:
        out.append(stem[:-1])
    if stem.endswith("i"):
        out.append(stem[:-1] + "y")
    return out


class Lexicon:
    """Which words count as spelled right, and which to capitalize when showing lowercased text."""

    def __init__(self, corpus_words: set[str], english: set[str], proper_nouns: set[str],
                 stopwords: set[str], modernizer: Modernizer):
        self.corpus_words = corpus_words
        self.english = english
        self.proper_nouns = proper_nouns
        self.stopwords = stopwords
        self.modernizer = modernizer
        self.known = lru_cache(maxsize=65536)(self._known)

    @classmethod
    def build(cls, corpus_words: dict, word_lists: WordLists, modernizer: Modernizer) -> Lexicon:
        """From the training corpus's word record (bard.corpus.word_record, kept in the checkpoint)
        and the shipped word lists."""
        stopwords = set(word_lists.stopwords) | EARLY_MODERN_STOPWORDS
        proper = set(word_lists.names)
        lexicon = cls(set(corpus_words["words"]), set(word_lists.english), proper, stopwords, modernizer)
        # The Folio capitalizes every verse line and many nouns, so only a word that is nearly always
        # capitalized and is no English word, even in modern spelling or inflected, counts as a name.
        proper |= {w for w in corpus_words["capitalized"] if not lexicon.inflected(w, lexicon.is_english)}
        return lexicon

    def is_english(self, word: str) -> bool:
        return word in self.english or self.modernizer.word(word) in self.english

    def is_listed(self, word: str) -> bool:
        return word in self.corpus_words or self.is_english(word)

    def inflected(self, word: str, is_base) -> bool:
        """`word` or a regular inflection of a word that passes `is_base`."""
        bare = word.strip("'")
        if is_base(word) or (bare and is_base(bare)):
            return True
        return any(word.endswith(suffix) and len(word) - len(suffix) >= 2 and any(map(is_base, stems(word, suffix)))
                   for suffix in INFLECTIONS)

    def _known(self, word: str) -> bool:
        return self.inflected(word, self.is_listed)

    def spelling(self, text: str) -> tuple[float, list[str]]:
        """The fraction of known words (0 for a text without words) and the unknown ones."""
        found = words(text)
        unknown = [w for w in found if not self.known(w)]
        return (1 - len(unknown) / len(found) if found else 0.0), unknown

    def content_words(self, text: str) -> set[str]:
        """Words that carry meaning, in modern spelling, so "loue" in a reply matches "love"."""
        return {self.modernizer.word(w) for w in words(text)
                if len(w) > 2 and w.isalpha() and w not in self.stopwords}


def repetition(found: list[str]) -> str | None:
    """Why a word sequence is degenerate, or None: a word three times running, a word pair said
    twice, or under half the words distinct in a longer reply."""
    for a, b, c in zip(found, found[1:], found[2:]):
        if a == b == c:
            return f"repeats '{a}'"
    pairs = list(zip(found, found[1:]))
    seen = set()
    for pair in pairs:
        if pair in seen:
            return f"repeats '{' '.join(pair)}'"
        seen.add(pair)
    if len(found) >= 8 and len(set(found)) < len(found) / 2:
        return "too few distinct words"
    return None


def overlap(user_words: set[str], candidate_words: set[str]) -> float:
    """Share of the user's content words the candidate takes up (0 when the user gave none)."""
    return len(user_words & candidate_words) / len(user_words) if user_words else 0.0


def mood_fit(positive: np.ndarray, mood: str, user_positive: float) -> np.ndarray:
    """How well each positive probability fits the mood, from 0 (worst) to 1 (best)."""
    if mood == "positive":
        return positive
    if mood == "negative":
        return 1 - positive
    if mood == "neutral":
        return 1 - 2 * np.abs(positive - 0.5)
    if mood == "mirror":
        return 1 - np.abs(positive - user_positive)
    return np.ones_like(positive)
