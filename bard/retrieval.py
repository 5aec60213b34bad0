"""Prototypes: real speeches of the plays that fit a message, for the model to refine.

The responder's generator is the character model, but on its own it rarely answers *this* message.
Retrieval gives it something to say (retrieve and refine: Weston, Dinan and Miller 2018; Guu et al.
2018's prototype-then-edit): the plays' speeches are indexed once, by their words in modern
spelling, and a message finds

- a *cue*: a speech like the message, whose prototype is the speech that answers it in the play
  (the way dialogue retrieval works: "What hour is it?" finds the cue "What houre is it?" and its
  answer "Almost midnight, Madam"); and
- a *speech* like the message itself, which takes up its topic in the plays' words.

Modern words the plays never use reach them through their Early Modern neighbours (bard.neighbours:
"interview" -> audience, parley). Ranking is BM25 (the bm25s library) over the speeches' words.
The responder seeds rows with a prototype's opening and the model writes the rest.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import bm25s
import numpy as np

from bard.corpus import STAGE_DIRECTION, Document
from bard.scoring import words
from bard.spelling import Modernizer

# bm25s sets its own logger to DEBUG, which would print "Building index from tokens" on every load.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# A speaker's tag opens a speech: an indented line, "  Ham. ..." or "  1. Lord. ...".
SPEAKER_TAG = re.compile(r"^[ \t]{2,}((?:\d\.? ?)?[A-Z][A-Za-z'&]*(?:\.? ?[A-Z][a-z]+)?)\.[ \t]+", re.MULTILINE)
SCENE_HEADING = re.compile(r"^\s*(actus|scena|scoena)\b", re.IGNORECASE | re.MULTILINE)
# Prototypes a reply can grow from: a few words to a few lines, without the etext's bracketed
# expansions of the Folio's abbreviations ("fro[m]").
MIN_WORDS, MAX_WORDS = 2, 60
# Weight of an Early Modern neighbour of a message word the plays rarely use, and of a stop word,
# against a content word's 1: "I fear that I will fail" is about failing, not about "I will".
NEIGHBOUR_WEIGHT = 0.5
STOPWORD_WEIGHT = 0.25


@dataclass(frozen=True)
class Speech:
    speaker: str
    text: str  # one line, original case, without stage directions


@dataclass(frozen=True)
class Prototype:
    text: str  # the speech the reply grows from
    cue: str | None  # the speech it answers in its play, when it was found through that cue
    score: float  # BM25 of the message against the cue (or the speech itself)


def play_speeches(document: Document) -> list[Speech | None]:
    """The speeches of a play in order; None marks a scene change, across which no speech answers."""
    tags = list(SPEAKER_TAG.finditer(document.text))
    out: list[Speech | None] = []
    for tag, following in zip(tags, tags[1:] + [None]):
        body = document.text[tag.end() : following.start() if following else len(document.text)]
        speech, _, after = body.partition("\n\n")  # what follows a blank line is headings and directions
        text = " ".join(STAGE_DIRECTION.sub("", speech).split())
        out.append(Speech(tag.group(1).lower(), text) if text else None)
        if SCENE_HEADING.search(after):
            out.append(None)
    return out


class SpeechIndex:
    """The plays' speeches, searchable by a message's words."""

    def __init__(self, speeches: list[Speech], answers: list[int | None], modernizer: Modernizer,
                 stopwords: set[str], neighbours: dict[str, tuple[str, ...]]):
        self.speeches = speeches
        self.answers = answers  # index of the speech that answers speech i, or None
        self.modernizer = modernizer
        self.stopwords = stopwords
        self.neighbours = neighbours
        self.bm25 = bm25s.BM25()
        self.bm25.index([self.tokens(s.text) for s in speeches], show_progress=False)
        self.usable = np.array([self.usable_prototype(s.text) for s in speeches])
        self.has_answer = np.array([a is not None and self.usable[a] for a in answers])

    @classmethod
    def build(cls, documents: list[Document], modernizer: Modernizer, stopwords: set[str],
              neighbours: dict[str, tuple[str, ...]]) -> SpeechIndex:
        speeches, answers = [], []
        for document in documents:
            play = play_speeches(document)
            for speech, following in zip(play, play[1:] + [None]):
                if speech is None:
                    continue
                answered = following is not None and following.speaker != speech.speaker
                answers.append(len(speeches) + 1 if answered else None)
                speeches.append(speech)
        return cls(speeches, answers, modernizer, stopwords, neighbours)

    def tokens(self, text: str) -> list[str]:
        """Every word in modern spelling: BM25's inverse document frequency already makes "the"
        worth little, and "what" and "you" help a question find questions."""
        return [self.modernizer.word(w.strip("'")) for w in words(text)]

    @staticmethod
    def usable_prototype(text: str) -> bool:
        return "[" not in text and MIN_WORDS <= len(text.split()) <= MAX_WORDS

    def query(self, message: str) -> dict[str, float]:
        """The message's words with their weights: a content word 1, a stop word STOPWORD_WEIGHT,
        and for a word the plays rarely use, its Early Modern neighbours at NEIGHBOUR_WEIGHT."""
        weights: dict[str, float] = {}
        for word in self.tokens(message):
            if word in self.stopwords:
                weights.setdefault(word, STOPWORD_WEIGHT)
                continue
            weights[word] = 1.0
            for near in self.neighbours.get(word, ()):
                weights.setdefault(near, NEIGHBOUR_WEIGHT)
        return weights

    def topic_words(self, message: str) -> set[str]:
        """The message's content words and their neighbours, in modern spelling."""
        return {word for word, weight in self.query(message).items() if weight > STOPWORD_WEIGHT}

    def scores(self, message: str) -> np.ndarray:
        total = np.zeros(len(self.speeches), dtype=np.float32)
        for word, weight in self.query(message).items():
            total += weight * self.bm25.get_scores([word])
        return total

    def prototypes(self, message: str, answers: int = 2, speeches: int = 2) -> list[Prototype]:
        """The answers to the `answers` cues most like the message, then the `speeches` speeches
        most like it, best first within each kind; none when no word of the message is in the plays."""
        scores = self.scores(message)
        out = []
        for index in top(np.where(self.has_answer, scores, 0), answers):
            out.append(Prototype(self.speeches[self.answers[index]].text, self.speeches[index].text, float(scores[index])))
        for index in top(np.where(self.usable, scores, 0), speeches):
            out.append(Prototype(self.speeches[index].text, None, float(scores[index])))
        return out


def top(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the k highest positive scores, highest first."""
    if k <= 0:
        return []
    best = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return [int(i) for i in sorted(best, key=lambda i: -scores[i]) if scores[i] > 0]


# An opening leaves the model room to write, and never 40 characters of the plays (the copy rule).
MAX_OPENING_CHARS = 38
# "Yes, " or "Peace: " alone is no prototype's content any more.
MIN_OPENING_WORDS = 2
CLAUSE_END = re.compile(r"[,;:!?.]")


def openings(prototype: str, message_words: set[str], modernizer: Modernizer, names: set[str]) -> list[str]:
    """Where rows may start growing a reply from `prototype`: up to its first word that the message
    (or a neighbour of its content words) shares, and up to the end of its first clause, each at
    most MAX_OPENING_CHARS and at a word's end. A speech shorter than that is taken whole, with a
    comma for the model to go on from. None that names someone in the play ("Kinde Tirrell,"): the
    user is not Tirrell."""
    found = []
    for match in re.finditer(r"\S+", prototype):
        if match.end() > MAX_OPENING_CHARS:
            break
        word = match.group()
        bare = re.sub(r"[^A-Za-z']", "", word).strip("'").lower()
        if modernizer.word(bare) in message_words:
            found.append(prototype[: match.end()].rstrip(",;:"))
            break
    clause = CLAUSE_END.search(prototype)
    if clause and clause.end() <= MAX_OPENING_CHARS and clause.end() < len(prototype.rstrip(".!? ")):
        found.append(prototype[: clause.end()])
    elif len(prototype) <= MAX_OPENING_CHARS:
        found.append(prototype.rstrip(".!?,;: ") + ",")
    return list(dict.fromkeys(o + " " for o in found
                              if len(words(o)) >= MIN_OPENING_WORDS and not names.intersection(words(o))))
