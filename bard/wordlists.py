"""The English word lists the responder reads at run time, shipped with bard so that chatting needs
no NLTK data and no network: NLTK's `words` (the Unix word list, public domain) split into common
words and names, and NLTK's English `stopwords`.

Regenerate the shipped file from NLTK's data with `python -m bard.wordlists`.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "data" / "wordlists.json.gz"


@dataclass(frozen=True)
class WordLists:
    english: frozenset[str]  # lowercase entries of the word list
    names: frozenset[str]  # capitalized entries that are no lowercase word, lowercased
    stopwords: frozenset[str]

    @property
    def all_words(self) -> frozenset[str]:
        return self.english | self.names

    @classmethod
    def from_nltk(cls) -> WordLists:
        from bard.corpus import nltk_corpus

        word_list = nltk_corpus("words").words()
        english = frozenset(w for w in word_list if w.islower())
        names = frozenset(w.lower() for w in word_list if w[:1].isupper()) - english
        return cls(english, names, frozenset(nltk_corpus("stopwords").words("english")))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"source": "NLTK data: corpora/words (en, en-basic) and corpora/stopwords (english)",
                "english": sorted(self.english), "names": sorted(self.names), "stopwords": sorted(self.stopwords)}
        # mtime=0: the same lists give the same bytes, so regenerating leaves git nothing to commit.
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(json.dumps(data, separators=(",", ":")).encode())

    @classmethod
    def read(cls, path: Path) -> WordLists:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        return cls(frozenset(data["english"]), frozenset(data["names"]), frozenset(data["stopwords"]))


@cache
def shipped() -> WordLists:
    """The lists that ship with bard, read once per process."""
    return WordLists.read(SHIPPED)


if __name__ == "__main__":
    WordLists.from_nltk().save(SHIPPED)
    print(f"wrote {SHIPPED} ({SHIPPED.stat().st_size:,} bytes)")
