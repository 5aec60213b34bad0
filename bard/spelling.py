"""Early Modern spelling: map First Folio forms to modern words ("loue" -> "love", "vpon" -> "upon",
"sunne" -> "sun") with regular rules, keeping a rewrite only when a modern word list knows the
result. No hand list of words: the rules are the printers' conventions, the word list decides.
"""

from __future__ import annotations

import re
from functools import lru_cache

VOWELS = set("aeiouy")
# A word, with the elided "'d" of "lov'd" (a possessive "'s" stays outside, to keep the stem).
WORD = re.compile(r"[a-z]+(?:'d\b)?")


def swap_u_v(word: str) -> list[str]:
    """Folio printers wrote v for u at a word's start and u for v inside it."""
    out = []
    if word.startswith("v") and len(word) > 1 and word[1] not in VOWELS:
        out.append("u" + word[1:])
    for i in range(1, len(word) - 1):
        if word[i] == "u" and word[i - 1] in VOWELS | set("lr") and word[i + 1] in VOWELS:
            out.append(word[:i] + "v" + word[i + 1 :])
    return out


def initial_i_to_j(word: str) -> list[str]:
    return ["j" + word[1:]] if len(word) > 2 and word[0] == "i" and word[1] in VOWELS else []


def drop_final_e(word: str) -> list[str]:
    return [word[:-1]] if len(word) > 3 and word.endswith("e") else []


def undouble_final_consonant(word: str) -> list[str]:
    return [word[:-1]] if len(word) > 2 and word[-1] == word[-2] and word[-1] not in VOWELS else []


def ie_to_y(word: str) -> list[str]:
    return [word[:-2] + "y"] if len(word) > 3 and word.endswith("ie") else []


def y_to_i(word: str) -> list[str]:
    return [word[:i] + "i" + word[i + 1 :] for i in range(1, len(word) - 1) if word[i] == "y"]


def elided_ed(word: str) -> list[str]:
    return [word[:-2] + "ed"] if word.endswith("'d") else []


RULES = (swap_u_v, initial_i_to_j, drop_final_e, undouble_final_consonant, ie_to_y, y_to_i, elided_ed)
MAX_REWRITES = 3


def variants(word: str) -> list[list[str]]:
    """Rewrites of `word` by the Folio rules, grouped by how many rules were applied (1, 2, ...)."""
    levels, frontier, seen = [], [word], {word}
    for _ in range(MAX_REWRITES):
        frontier = [v for w in frontier for rule in RULES for v in rule(w) if v not in seen and not seen.add(v)]
        if not frontier:
            break
        levels.append(frontier)
    return levels


class Modernizer:
    """Maps words to modern spellings. `known_words` is a modern word list (any word in it is left
    alone); `frequencies` counts words in modern running text, so that among rewrites the one people
    actually write wins ("sunne" -> "sun", not the rarer "sunn" that a big word list also holds)."""

    def __init__(self, known_words: set[str], frequencies: dict[str, int] | None = None):
        self.known_words = known_words
        self.frequencies = frequencies or {}
        self.word = lru_cache(maxsize=65536)(self._word)

    def _word(self, word: str) -> str:
        if word in self.known_words or word in self.frequencies:
            return word
        levels = variants(word)
        attested = [c for level in levels for c in level if c in self.frequencies]
        if attested:
            return max(attested, key=self.frequencies.__getitem__)
        return next((c for level in levels for c in level if c in self.known_words), word)

    def text(self, text: str) -> str:
        """Lowercase `text` and modernize every word in it, leaving everything else as it is."""
        return WORD.sub(lambda m: self.word(m.group()), text.lower())
