"""The sentiment classifier's training data: NLTK's sentence_polarity and movie_reviews, rewritten
copies in Early Modern forms, and lines of the plays labelled at a distance by VADER.

Film reviews never say "thou" or "hath", and call a harrowing film "heartbreaking" as praise; the
plays are where the classifier is used. The two additions bring it there: archaic function words
seen in both classes (so they carry no sentiment of their own), and the plays' own vocabulary of
grief and blessing, labelled by a lexicon that was not built from films.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bard.corpus import ensure_nltk_data, local_text_paths, nltk_corpus, read_text_file
from bard.errors import BardError

# Words (with inner apostrophes and hyphens, as sentence_polarity writes "he's", "co-writer") and
# single punctuation marks.
TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[^\sa-z0-9]")
SPLIT_SEED = 2005  # the year Pang & Lee published the data; fixes the train/val/test split


@dataclass
class Example:
    tokens: list[str]
    label: int  # 1 positive, 0 negative


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def polarity_splits() -> dict[str, list[Example]]:
    """sentence_polarity shuffled with a fixed seed: 80% train, 10% validation, 10% test."""
    reader = nltk_corpus("sentence_polarity")
    examples = [Example([t.lower() for t in sent], label)
                for label, category in ((1, "pos"), (0, "neg")) for sent in reader.sents(categories=category)]
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(SPLIT_SEED)).tolist()
    shuffled = [examples[i] for i in order]
    tenth = len(shuffled) // 10
    return {"test": shuffled[:tenth], "val": shuffled[tenth : 2 * tenth], "train": shuffled[2 * tenth :]}


def movie_review_sentences() -> list[Example]:
    """Every sentence of NLTK's movie_reviews, labelled with its review's label (noisy, but the
    same domain as sentence_polarity and six times its size)."""
    reader = nltk_corpus("movie_reviews")
    return [Example(tokenize(" ".join(sent)), label)
            for label, category in ((1, "pos"), (0, "neg"))
            for fileid in reader.fileids(category) for sent in reader.sents(fileid)]


# Modern words and the Early Modern forms the plays use for them (the first form after "thou").
EARLY_MODERN = {"you": ("thou", "thee", "you", "ye"), "your": ("thy", "thine", "your"), "yours": ("thine",),
                "has": ("hath",), "does": ("doth",), "before": ("ere",), "often": ("oft",), "yes": ("ay",),
                "perhaps": ("perchance",), "nothing": ("naught",), "maybe": ("haply",), "why": ("wherefore", "why")}
AFTER_THOU = {"are": "art", "have": "hast", "do": "dost", "will": "wilt", "shall": "shalt", "were": "wert"}
THIRD_PERSON = {"he", "she", "it", "who", "that", "which", "this"}


def early_modern(tokens: list[str], rng: random.Random) -> list[str]:
    """A sentence rewritten in Early Modern forms: you -> thou/thee, your -> thy, has -> hath, thou
    are -> thou art, he loves -> he loveth, it's -> 'tis."""
    out: list[str] = []
    for token in tokens:
        previous = out[-1] if out else ""
        if token in EARLY_MODERN:
            out.append(rng.choice(EARLY_MODERN[token]))
        elif previous == "thou" and token in AFTER_THOU:
            out.append(AFTER_THOU[token])
        elif token == "it's":
            out += ["'", "tis"]  # how the scorer's tokenizer reads "'tis"
        elif previous in THIRD_PERSON and len(token) > 3 and token.isalpha() and token.endswith("s") \
                and not token.endswith("ss"):
            stem = token[:-1]
            out.append(stem + ("th" if stem.endswith("e") else "eth"))
        else:
            out.append(token)
    return out


def with_early_modern_copies(examples: list[Example], seed: int) -> list[Example]:
    """`examples` plus an Early Modern copy of each one the rewriting changes."""
    rng = random.Random(seed)
    copies = [Example(rewritten, e.label) for e in examples if (rewritten := early_modern(e.tokens, rng)) != e.tokens]
    return examples + copies


SPEAKER = re.compile(r"^\s+[A-Z][A-Za-z]*(?:\s[A-Z][A-Za-z]*)?\.\s*")
STAGE = re.compile(r"^(Enter|Exit|Exeunt|Actus|Scena|Scoena|Flourish|Manet|Alarum)\b")
SENTENCE = re.compile(r"[^.!?]+[.!?]*")


@dataclass
class PlayLine:
    play: str
    line: int  # 1-based line where the sentence begins
    text: str


def play_sentences(path: Path) -> list[PlayLine]:
    """The sentences of a play's speeches (6 to 40 words), with where each begins."""
    sentences: list[PlayLine] = []
    speech: list[tuple[int, str]] = []

    def close_speech():
        text, starts = "", []
        for number, line in speech:
            starts.append((len(text), number))
            text += line + " "
        for match in SENTENCE.finditer(text):
            words = match.group().split()
            if 6 <= len(words) <= 40:
                begins = match.start() + len(match.group()) - len(match.group().lstrip())
                line = max(number for offset, number in starts if offset <= begins)
                sentences.append(PlayLine(path.name, line, " ".join(words)))
        speech.clear()

    for number, line in enumerate(read_text_file(path).splitlines(), start=1):
        if not line.strip() or STAGE.match(line.strip()):
            close_speech()
            continue
        if SPEAKER.match(line):
            close_speech()
            line = SPEAKER.sub("", line)
        speech.append((number, line.strip()))
    close_speech()
    return sentences


LABELS = {"positive": 1, "negative": 0}
PLAY_LINE_COLUMNS = ("label", "play", "line", "text")
CHAT_COLUMNS = ("label", "text")


def labelled_rows(path: Path) -> tuple[tuple[str, ...], list[list[str]]]:
    """A hand-labelled set: `#` comments, a header naming the columns, then tab-separated rows whose
    first column is the label (positive|negative). Two formats: play lines (label, play, line,
    text; benchmarks/folio_sentiment.tsv) and chat messages (label, text; corpora/chat/*.tsv)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BardError(f"cannot read the labelled set {path}: {e}") from None
    numbered = [(number, line.split("\t")) for number, line in enumerate(lines, start=1)
                if line.strip() and not line.startswith("#")]
    header = tuple(numbered[0][1]) if numbered else ()
    if header not in (PLAY_LINE_COLUMNS, CHAT_COLUMNS):
        raise BardError(f"{path}: expected a header line '{'<TAB>'.join(PLAY_LINE_COLUMNS)}' (play lines) "
                        f"or '{'<TAB>'.join(CHAT_COLUMNS)}' (chat messages)")
    if len(numbered) == 1:
        raise BardError(f"{path}: the labelled set has a header but no rows")
    for number, row in numbered[1:]:
        if len(row) != len(header) or row[0] not in LABELS:
            raise BardError(f"{path}: line {number} needs a label (positive|negative) and "
                            f"{', '.join(header[1:])}, tab-separated")
    return header, [row for _, row in numbered[1:]]


def read_labelled_lines(path: Path) -> list[tuple[PlayLine, int]]:
    """A hand-labelled set of play lines, each with its label (1 positive, 0 negative)."""
    header, rows = labelled_rows(path)
    if header != PLAY_LINE_COLUMNS:
        raise BardError(f"{path}: a set of play lines needs the columns {', '.join(PLAY_LINE_COLUMNS)}")
    try:
        return [(PlayLine(play, int(line), text), LABELS[label]) for label, play, line, text in rows]
    except ValueError:
        raise BardError(f"{path}: every line number must be a whole number") from None


def labelled_texts(path: Path) -> tuple[list[str], list[int], bool]:
    """The texts and labels of a labelled set of either format, and whether they are play lines
    (in Folio spelling, which VADER reads only modernised)."""
    header, rows = labelled_rows(path)
    return [row[-1] for row in rows], [LABELS[row[0]] for row in rows], header == PLAY_LINE_COLUMNS


def vader():
    """NLTK's VADER analyzer (lexicon rules), its lexicon fetched if missing."""
    from nltk.sentiment.vader import SentimentIntensityAnalyzer

    ensure_nltk_data("vader_lexicon", "sentiment/vader_lexicon")
    return SentimentIntensityAnalyzer()


def vader_compound(texts: list[str]) -> np.ndarray:
    """VADER's compound score of each text, in [-1, 1]."""
    analyzer = vader()
    return np.array([analyzer.polarity_scores(t)["compound"] for t in texts])


def vader_lexicon() -> dict[str, float]:
    """VADER's word valences, -4 (most negative) to 4."""
    return dict(vader().lexicon)


def distant_play_examples(folio: Path, modernize, held_out: list[Path], threshold: float, per_class: int,
                          seed: int) -> list[Example]:
    """Sentences of the plays that VADER, reading them modernised, finds clearly positive or
    negative (|compound| >= threshold), as many of each, at most `per_class`. Nothing within 30 lines of a
    line of a `held_out` set is used, so those sets stay unseen."""
    near = {(entry.play, entry.line // 30 + shift) for path in held_out for entry, _ in read_labelled_lines(path)
            for shift in (-1, 0, 1)}
    sentences = [s for path in local_text_paths(folio) for s in play_sentences(path)
                 if (s.play, s.line // 30) not in near]
    modern = [modernize(s.text) for s in sentences]
    compound = vader_compound(modern)
    rng = random.Random(seed)
    by_label = {label: [tokenize(text) for text, keep in zip(modern, chosen) if keep]
                for label, chosen in ((1, compound >= threshold), (0, compound <= -threshold))}
    balanced = min(per_class, *map(len, by_label.values()))  # the plays hold more praise than grief
    examples = []
    for label, picked in by_label.items():
        rng.shuffle(picked)
        examples += [Example(tokens, label) for tokens in picked[:balanced]]
    return examples
