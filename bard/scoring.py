"""Scoring candidate replies: spelling (the training corpus's words, the shipped English word list
and regular inflections of them), degenerate repetition, copies of the training text, overlap with
the user's words, and fit to a target mood."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

import numpy as np

from bard.spelling import Modernizer
from bard.wordlists import WordLists

# Words with their apostrophes: o'er, th', 'tis, lov'd.
WORD = re.compile(r"'?[a-z]+(?:'[a-z]+)*'?")
INFLECTIONS = ("'st", "eth", "est", "ing", "'d", "ed", "es", "'s", "st", "s", "d")
# Endings only verbs take: an invented word like "senating" is a noun given a verb's ending.
VERB_ENDINGS = ("'st", "eth", "est", "ing", "'d", "ed", "st", "d")
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
        """An English word, in modern spelling or in the Folio's."""
        return word in self.english or self.modernizer.word(word) in self.english

    def inflected(self, word: str, is_base, verbs: set[str] | None = None) -> bool:
        """`word` or a regular inflection of a word that passes `is_base`; with `verbs`, a verb
        ending only on a stem in it."""
        bare = word.strip("'")
        if is_base(word) or (bare and is_base(bare)):
            return True
        for suffix in INFLECTIONS:
            if word.endswith(suffix) and len(word) - len(suffix) >= 2:
                candidates = stems(word, suffix)
                if verbs is not None and suffix in VERB_ENDINGS:
                    candidates = [stem for stem in candidates if stem in verbs]
                if any(map(is_base, candidates)):
                    return True
        return False

    @cached_property
    def listed(self) -> set[str]:
        return self.corpus_words | self.english

    @cached_property
    def verbs(self) -> set[str]:
        """Stems the corpus itself gives a verb ending (lou'd, speaketh -> loue, speake)."""
        return {stem for word in self.corpus_words for suffix in VERB_ENDINGS if word.endswith(suffix)
                for stem in stems(word, suffix)}

    def _known(self, word: str) -> bool:
        """A word of the corpus or of the English list as written, or a regular inflection of one.
        No Folio respelling of an unseen word counts (the corpus is the Folio: "steall" and "seepe"
        are the model's inventions), and a verb ending needs a stem the corpus inflects as a verb."""
        return self.inflected(word, self.listed.__contains__, self.verbs)

    def spelling(self, text: str) -> tuple[float, list[str]]:
        """The fraction of known words (0 for a text without words) and the unknown ones."""
        found = words(text)
        unknown = [w for w in found if not self.known(w)]
        return (1 - len(unknown) / len(found) if found else 0.0), unknown

    @cached_property
    def corpus_spelling(self) -> dict[str, str]:
        """Modern word -> how the corpus spells it (love -> loue), for the words the corpus has."""
        spelling = {}
        for word in sorted(self.corpus_words, key=lambda w: (len(w), w)):
            spelling.setdefault(self.modernizer.word(word), word)
        return spelling

    def topic(self, text: str) -> str | None:
        """The message's most telling word, as the corpus spells it: the content word rarest in
        modern running text (the modernizer's frequencies), of those the corpus has."""
        found = [w for w in self.content_words(text) if w in self.corpus_spelling]
        if not found:
            return None
        frequency = self.modernizer.frequencies
        return self.corpus_spelling[min(found, key=lambda w: (frequency.get(w, 0), -len(w), w))]

    def content_words(self, text: str) -> set[str]:
        """Words that carry meaning, in modern spelling, so "loue" in a reply matches "love"."""
        return {self.modernizer.word(w) for w in words(text)
                if len(w) > 2 and w.isalpha() and w not in self.stopwords}


class VerbatimIndex:
    """Asks whether a candidate copies `chars` or more characters running from a text (case and
    spacing ignored). A copy that long holds a whole block of the text: `chars - STRIDE + 1`
    characters starting at a multiple of STRIDE. The blocks' 64-bit rolling hashes, sorted (half a
    million for the Folio, 4 MB), find the few candidates worth a real search of the text."""

    BASE = np.uint64(1_000_003)
    STRIDE = 8

    def __init__(self, text: str, chars: int = 40):
        self.chars = chars
        self.block = chars - self.STRIDE + 1
        self.text = normalized(text)
        codes = self.codes(self.text)
        starts = np.arange(0, len(codes) - self.block + 1, self.STRIDE)
        self.hashes = np.sort(self.rolling_hashes(codes, starts))

    @staticmethod
    def codes(text: str) -> np.ndarray:
        """One code point per character, so windows of characters are windows of codes."""
        return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)

    def rolling_hashes(self, codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
        hashes = np.zeros(len(starts), dtype=np.uint64)
        with np.errstate(over="ignore"):  # wrapping modulo 2**64 is the hash
            for offset in range(self.block):
                hashes = hashes * self.BASE + codes[starts + offset]
        return hashes

    def copies(self, text: str) -> bool:
        text = normalized(text)
        if len(text) < self.chars or not len(self.hashes):
            return False
        windows = self.rolling_hashes(self.codes(text), np.arange(len(text) - self.block + 1))
        found = np.searchsorted(self.hashes, windows).clip(max=len(self.hashes) - 1)
        if not (self.hashes[found] == windows).any():
            return False
        return any(text[i : i + self.chars] in self.text for i in range(len(text) - self.chars + 1))


def normalized(text: str) -> str:
    return " ".join(text.lower().split())


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


# A reading of the user's message decides the user's mood only when it is at most this far from 0
# or 1: nearer 0.5 the classifier is unsure, and a misread joy answered with grief is worse than a
# neutral answer. On the chat development set 91% of readings are this sure, and right on 97.7%
# (within 0.2: 95%, right on 96.5%; `python benchmarks/user_mood.py`).
SURE_WITHIN = 0.05


def is_sure(positive: float, within: float = SURE_WITHIN) -> bool:
    return positive <= within or positive >= 1 - within


def user_mood(user_positive: float) -> float:
    """The user's positive probability as the responder acts on it: 0.5 (unknown) when unsure."""
    return user_positive if is_sure(user_positive) else 0.5


def mood_fit(positive: np.ndarray, mood: str, user_positive: float) -> np.ndarray:
    """How well each positive probability fits the mood, from 0 (worst) to 1 (best); `mirror`
    follows the user's mood only on a sure reading, and is neutral otherwise."""
    if mood == "positive":
        return positive
    if mood == "negative":
        return 1 - positive
    if mood == "neutral":
        return 1 - 2 * np.abs(positive - 0.5)
    if mood == "mirror":
        return 1 - np.abs(positive - user_mood(user_positive))
    return np.ones_like(positive)
