"""The training text: NLTK Gutenberg plays and local files, case-folded and split for validation.

The validation split is the last `val_fraction` of every document, so each play is represented
and the split never depends on a random seed.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from textwrap import shorten
from dataclasses import dataclass
from pathlib import Path

from bard.config import PROJECT_ROOT, Config
from bard.errors import CorpusError

log = logging.getLogger(__name__)


@dataclass
class Document:
    name: str
    text: str


@dataclass
class Corpus:
    documents: list[Document]
    train_text: str
    val_text: str
    words: dict  # see word_record


# A word with its apostrophes ('tis, o'er, lov'd), in the original case.
CASED_WORD = re.compile(r"'?[A-Za-z]+(?:'[A-Za-z]+)*'?")
# A line of the script that is no speech: a stage direction or an act or scene heading.
STAGE_DIRECTION = re.compile(
    r"^[ \t]*(enter|exit|exeunt|exennt|manet|manent|flourish|florish|alarum|alarums|thunder|drum|sennet|"
    r"trumpets?|actus|scena|scoena)\b.*$", re.MULTILINE | re.IGNORECASE)
# A word printed capitalized at least this often may be a name (the responder checks it is no
# English word before it capitalizes it in a lowercased model's replies).
CAPITALIZED_SHARE = 0.9


def ensure_nltk_data(package: str, resource: str) -> None:
    """Make sure NLTK finds `resource` (e.g. "corpora/gutenberg", as a folder or a zip), fetching
    `package` with nltk.download if it is missing. Offline, raise CorpusError naming the package
    and NLTK_DATA."""
    import nltk
    import nltk.downloader

    def found() -> bool:
        for candidate in (resource, f"{resource}.zip"):
            try:
                nltk.data.find(candidate)
                return True
            except LookupError:
                pass
        return False

    if found():
        return
    try:
        # Failures come back as one exception and one line of ours, not NLTK's printed banner.
        fetched = nltk.downloader.Downloader().download(
            package, quiet=True, raise_on_error=True, print_error_to=io.StringIO())
        reason = "the download did not finish" if not fetched else "downloaded, but NLTK still cannot find it"
    except Exception as e:  # urllib, zipfile and OS errors all end the same way
        fetched, reason = False, shorten(str(e).replace("\n", " "), 120, placeholder="...")
    if fetched and found():
        return
    raise CorpusError(
        f"NLTK data '{package}' is missing and could not be downloaded ({reason}). "
        f"Run `python -m nltk.downloader {package}` on a machine with internet, or set NLTK_DATA "
        f"to an NLTK data folder that holds {resource}."
    )


def nltk_corpus(name: str):
    """The `nltk.corpus.<name>` reader, with its data fetched first if it is missing."""
    import nltk.corpus

    ensure_nltk_data(name, f"corpora/{name}")
    return getattr(nltk.corpus, name)


def read_gutenberg(fileid: str) -> str:
    gutenberg = nltk_corpus("gutenberg")
    if fileid not in gutenberg.fileids():
        raise CorpusError(
            f"unknown NLTK gutenberg file id {fileid!r}; known ids: {', '.join(gutenberg.fileids())}"
        )
    return gutenberg.raw(fileid)


def read_text_file(path: Path) -> str:
    """Read a local text file as UTF-8 (BOM allowed), else latin-1 with a warning; CRLF -> LF."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorpusError(f"corpus file not found: {path}") from None
    except OSError as e:
        raise CorpusError(f"cannot read corpus file {path}: {e.strerror}") from None
    if b"\x00" in data[:8192]:
        raise CorpusError(f"corpus file {path} looks binary (it holds NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not valid UTF-8; reading it as latin-1", path)
        text = data.decode("latin-1")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError(f"corpus file {path} is empty")
    return text


def local_text_paths(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not found:
            raise CorpusError(f"corpus folder {path} holds no .txt files")
        return found
    return [path]


def read_documents(config: Config) -> list[Document]:
    """The configured texts in their original case."""
    corpus = config.corpus
    documents = [Document(f"gutenberg:{fileid}", read_gutenberg(fileid)) for fileid in corpus.gutenberg]
    for entry in corpus.files:
        for path in local_text_paths(config.resolve(entry)):
            documents.append(Document(str(path), read_text_file(path)))
    if not documents:
        raise CorpusError("the corpus is empty: list gutenberg file ids or files under `corpus:`")
    return documents


def case_folded(documents: list[Document], config: Config) -> list[Document]:
    return [Document(d.name, d.text.lower()) for d in documents] if config.corpus.lowercase else documents


def load_documents(config: Config) -> list[Document]:
    """The configured texts, lowercased when corpus.lowercase is on."""
    return case_folded(read_documents(config), config)


def word_record(documents: list[Document]) -> dict:
    """What the responder's lexicon needs from the corpus, small enough to ship in a checkpoint:
    every word (lowercased), and those nearly always capitalized (names, in the Folio)."""
    cased = Counter()
    for document in documents:
        cased.update(CASED_WORD.findall(document.text))
    totals, capitals = Counter(), Counter()
    for word, count in cased.items():
        totals[word.lower()] += count
        if word.lstrip("'")[0].isupper():
            capitals[word.lower()] += count
    return {"words": sorted(totals),
            "capitalized": sorted(w for w, n in totals.items() if capitals[w] >= CAPITALIZED_SHARE * n)}


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """The last `val_fraction` of the text is held out; at least one character on each side."""
    cut = len(text) - max(1, round(len(text) * val_fraction))
    cut = min(max(cut, 1), len(text) - 1)
    return text[:cut], text[cut:]


def load_corpus(config: Config) -> Corpus:
    original = read_documents(config)
    words = word_record(original)
    documents = case_folded(original, config)
    del original
    for d in documents:
        if len(d.text) < 2:
            raise CorpusError(f"{d.name} is too short to split into training and validation text")
    pieces = [split_text(d.text, config.corpus.val_fraction) for d in documents]
    return Corpus(
        documents=documents,
        train_text="".join(train for train, _ in pieces),
        val_text="".join(val for _, val in pieces),
        words=words,
    )


def corpus_record(config: Config) -> dict:
    """What a checkpoint stores to rebuild its exact validation split later: paths inside the
    project relative to it (so a shipped checkpoint finds its corpus in any clone), others absolute."""
    corpus = config.corpus

    def portable(path: Path) -> str:
        return str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)

    return {
        "gutenberg": list(corpus.gutenberg),
        "files": [portable(config.resolve(f).resolve()) for f in corpus.files],
        "lowercase": corpus.lowercase,
        "val_fraction": corpus.val_fraction,
    }
