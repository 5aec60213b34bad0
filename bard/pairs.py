"""Message -> reply pairs, the listening model's lessons: each speech of the plays and the speech
that answers it, and written exchanges (a modern chat message and a reply in the plays' voice).

A pair is read by the model as the responder frames a conversation: the message as one character's
speech, then the reply as the answering character's, so a model trained on pairs chats as it learnt.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from bard.config import PERSONAS, Config
from bard.corpus import Document, read_documents, split_text
from bard.errors import CorpusError
from bard.listener import listens
from bard.model import rounded_up
from bard.retrieval import play_speeches
from bard.spelling import WORD, Modernizer
from bard.vocabulary import Vocabulary
from bard.wordlists import shipped

SPEECH_END = "\n\n"
# The written exchanges' parts, split by writer (see corpora/dialogue/README.md).
DIALOGUE_PARTS = ("train", "dev", "test")
# A frame holds the message's last max_message characters and this many for the speaker tags.
FRAME_TAGS_CHARS = 24
# Batch widths are multiples of these (see PairSet.batch).
TIME_MULTIPLE, MESSAGE_MULTIPLE = 32, 16
# A word in any case (bard.spelling.WORD reads lowercased text only).
CASED_WORD = re.compile(r"[A-Za-z]+(?:'d\b)?")
# A training batch is one of this many, cut from a pool of pairs sorted by length.
POOL_BATCHES = 8


@dataclass(frozen=True)
class Pair:
    message: str
    reply: str
    # Who speaks each part, as the plays tag speeches ("hor.", "ham."); written pairs get a persona's.
    asker: str = ""
    answerer: str = ""


def speech(tag: str, text: str) -> str:
    """A speech as the responder writes one into the model's script."""
    return f"{SPEECH_END}   {tag} {text}"


def framed(pair: Pair, to_model_text) -> tuple[str, str]:
    """What the decoder reads before the reply (the message as a speech, then the answerer's tag)
    and the reply with its speech's end, both in the model's text."""
    return frame(pair.message, pair.asker, pair.answerer, to_model_text), to_model_text(pair.reply).strip() + SPEECH_END


def frame(message: str, asker: str, answerer: str, to_model_text) -> str:
    return message_speech(asker, to_model_text(message)) + speech(answerer, "")


def message_speech(tag: str, text: str) -> str:
    """A message (in the model's text) as the speaker's speech, ended as a sentence if it is not:
    how training frames a pair and how the responder frames a user's message, alike."""
    text = text.strip()
    if text and text[-1] not in ".!?,;:":
        text += "."
    return speech(tag, text)


# Folio pairs ------------------------------------------------------------------------------------


def speech_pairs(document: Document) -> list[Pair]:
    """Each speech of a play and the next one, where another speaker answers it in the same scene."""
    speeches = play_speeches(document)
    return [Pair(cue.text, answer.text, cue.speaker + ".", answer.speaker + ".")
            for cue, answer in zip(speeches, speeches[1:])
            if cue is not None and answer is not None and cue.speaker != answer.speaker]


def folio_pairs(config: Config) -> tuple[list[Pair], list[Pair]]:
    """The corpus's speech -> answer pairs from the training part of every play, and from its
    held-out part: the same split the language model's held-out loss is measured on."""
    train, held_out = [], []
    for document in read_documents(config):
        before, after = split_text(document.text, config.corpus.val_fraction)
        train += speech_pairs(Document(document.name, before))
        held_out += speech_pairs(Document(document.name, after))
    return train, held_out


# Written exchanges ------------------------------------------------------------------------------


def read_pairs(path: Path) -> list[Pair]:
    """`message<TAB>reply` lines (blank lines and lines starting with # are skipped), each given a
    persona's speaker tags, chosen by the line's number so that a file always reads the same."""
    personas = list(PERSONAS.values())
    pairs = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise CorpusError(f"{path}: cannot read pairs: {e.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise CorpusError(f"{path}:{number}: expected `message<TAB>reply`")
        _, answerer, asker = personas[number % len(personas)]
        pairs.append(Pair(parts[0].strip(), parts[1].strip(), asker, answerer))
    return pairs


def dialogue_part(folder: Path, part: str) -> list[Pair]:
    path = folder / f"{part}.tsv"
    if not path.exists():
        raise CorpusError(f"{path} not found: the written exchanges are split into {', '.join(DIALOGUE_PARTS)}.tsv")
    return read_pairs(path)


# Respelling -----------------------------------------------------------------------------------


class Respeller:
    """Writes modern spellings as the plays spell them ("have" -> "haue", "upon" -> "vpon"), so
    that the model learns one spelling from the plays and the written replies alike. The map comes
    from the plays' own words: a play word whose modern form differs, when the plays use it more
    often than they use the modern form itself."""

    def __init__(self, spellings: dict[str, str]):
        self.spellings = spellings

    @classmethod
    def from_texts(cls, texts: list[str]) -> Respeller:
        counts = Counter(w for text in texts for w in WORD.findall(text.lower()))
        modernizer = Modernizer(shipped().all_words)
        forms: dict[str, Counter] = defaultdict(Counter)
        for word, count in counts.items():
            modern = modernizer.word(word)
            if modern != word:
                forms[modern][word] += count
        spellings = {}
        for modern, old in forms.items():
            spelling, count = old.most_common(1)[0]
            if count > counts.get(modern, 0):
                spellings[modern] = spelling
        return cls(spellings)

    def text(self, text: str) -> str:
        def respelt(match: re.Match) -> str:
            word = match.group()
            old = self.spellings.get(word.lower())
            if old is None:
                return word
            return old[0].upper() + old[1:] if word[0].isupper() else old

        return CASED_WORD.sub(respelt, text)

    def pair(self, pair: Pair) -> Pair:
        return Pair(pair.message, self.text(pair.reply), pair.asker, pair.answerer)


def written_replies(config: Config) -> list[str]:
    """Every written reply of every part, as written and as respelt: the texts a listening model
    must never copy 40 characters of. Empty when the config names no written exchanges."""
    if not config.listen.dialogue:
        return []
    folder = config.resolve(config.listen.dialogue)
    replies = [p.reply for part in DIALOGUE_PARTS if (folder / f"{part}.tsv").exists()
               for p in read_pairs(folder / f"{part}.tsv")]
    respeller = respeller_for(config)
    return replies + ([respeller.text(r) for r in replies] if respeller else [])


# Batches ----------------------------------------------------------------------------------------


def encode_message(message: str, vocab: Vocabulary, to_model_text, limit: int) -> torch.Tensor:
    """The ids the encoder reads for a message: its model text, the last `limit` characters."""
    return vocab.encode(to_model_text(message).strip()[-limit:] or " ")


@dataclass
class PairBatch:
    message: torch.Tensor  # (batch, message length) ids, 0 past each message's end
    message_mask: torch.Tensor  # (batch, message length) bool: a real character
    inputs: torch.Tensor  # (batch, time) the frame and the reply, less its last character
    targets: torch.Tensor  # (batch, time) the next characters
    reply_mask: torch.Tensor  # (batch, time) bool: the target is a reply character

    def to(self, device: torch.device) -> PairBatch:
        return PairBatch(*(t.to(device, non_blocking=True) for t in vars(self).values()))

    def rows(self, rows: slice) -> PairBatch:
        return PairBatch(*(t[rows] for t in vars(self).values()))


class PairSet:
    """Pairs encoded once, drawn as padded batches."""

    def __init__(self, pairs: list[Pair], vocab: Vocabulary, to_model_text, max_message: int, max_reply: int):
        if not pairs:
            raise CorpusError("no message -> reply pairs (an empty file or dialogue part?)")
        self.pairs, self.vocab, self.to_model_text, self.max_message = pairs, vocab, to_model_text, max_message
        self.messages, self.frames, self.replies = [], [], []
        for pair in pairs:
            frame_text, reply = framed(pair, to_model_text)
            self.messages.append(encode_message(pair.message, vocab, to_model_text, max_message))
            self.frames.append(self.encode_frame(frame_text))
            self.replies.append(vocab.encode(reply[:max_reply]))

    def encode_frame(self, frame_text: str) -> torch.Tensor:
        # The message's tail, as the encoder reads it, with room for the two speaker tags.
        return self.vocab.encode(frame_text[-(self.max_message + FRAME_TAGS_CHARS):])

    def frame_ids(self, reply_row: int, message_row: int) -> torch.Tensor:
        """The frame of `message_row`'s message with `reply_row`'s own speakers: only the message
        changes when a reply is read after another pair's message."""
        if reply_row == message_row:
            return self.frames[reply_row]
        pair, other = self.pairs[reply_row], self.pairs[message_row]
        return self.encode_frame(frame(other.message, pair.asker, pair.answerer, self.to_model_text))

    def __len__(self) -> int:
        return len(self.pairs)

    def length(self, row: int) -> int:
        """Characters the decoder reads for pair `row`."""
        return len(self.frames[row]) + len(self.replies[row])

    def batch(self, rows: list[int], message_rows: list[int] | None = None) -> PairBatch:
        """Pairs `rows`, each read after the message of `message_rows` (default: its own), so that
        the same replies can be scored after other messages."""
        message_rows = rows if message_rows is None else message_rows
        messages = [self.messages[i] for i in message_rows]
        frames = [self.frame_ids(r, m) for r, m in zip(rows, message_rows)]
        texts = [torch.cat([f, self.replies[r]]) for f, r in zip(frames, rows)]
        reply_starts = [len(f) for f in frames]
        # Widths rounded up: oneDNN builds its LSTM kernels anew for every new shape.
        width = rounded_up(max(len(m) for m in messages), MESSAGE_MULTIPLE)
        message = torch.zeros(len(rows), width, dtype=torch.long)
        message_mask = torch.zeros(len(rows), width, dtype=torch.bool)
        for row, ids in enumerate(messages):
            message[row, : len(ids)], message_mask[row, : len(ids)] = ids, True
        length = rounded_up(max(len(t) for t in texts) - 1, TIME_MULTIPLE)
        inputs = torch.zeros(len(rows), length, dtype=torch.long)
        targets = torch.zeros(len(rows), length, dtype=torch.long)
        reply_mask = torch.zeros(len(rows), length, dtype=torch.bool)
        for row, (text, start) in enumerate(zip(texts, reply_starts)):
            inputs[row, : len(text) - 1], targets[row, : len(text) - 1] = text[:-1], text[1:]
            reply_mask[row, start - 1 : len(text) - 1] = True
        return PairBatch(message, message_mask, inputs, targets, reply_mask)


def previous_messages(n: int) -> list[int]:
    """Each row paired with the previous row's message (row 0 with the last one's)."""
    if n < 2:
        raise CorpusError("scoring replies after other messages needs at least two pairs")
    return [(i - 1) % n for i in range(n)]


def reply_loss(model, batch: PairBatch, reduction: str = "mean", forward=None) -> torch.Tensor:
    """Cross-entropy of the reply characters after their frame; a listening model also attends to
    the message. A plain model reads the message in the frame only, as the responder gives it.
    `forward` runs the model's forward pass in its place (a DistributedDataParallel wrapper)."""
    state = model.listen(None, batch.message, batch.message_mask) if listens(model) else None
    logits, _ = (forward or model)(batch.inputs, state)
    return F.cross_entropy(logits[batch.reply_mask].float(), batch.targets[batch.reply_mask], reduction=reduction)


# What a listening model learns from --------------------------------------------------------------


@dataclass
class Lessons:
    """The training pairs (written exchanges first, then the plays' own) and the held-out ones."""
    train: PairSet
    written: int  # the first `written` pairs of `train` are written exchanges
    share: float  # of each batch's pairs, this share are written exchanges (when there are both)
    held_out: dict[str, PairSet]  # "written dev", "folio held-out"

    def sample(self, size: int, generator: torch.Generator) -> PairBatch:
        """`size` pairs of similar length: a pool of POOL_BATCHES batches' worth is drawn, sorted by
        length and cut into batches, and one of them is taken at random, so every pair is as likely
        as before while a batch pads far less (the LSTM's time is spent on its characters)."""
        pool = size * POOL_BATCHES
        folio = len(self.train) - self.written
        share = self.share if self.written and folio else float(bool(self.written))
        written = torch.rand(pool, generator=generator) < share
        rows = torch.where(written, torch.randint(max(self.written, 1), (pool,), generator=generator),
                           self.written + torch.randint(max(folio, 1), (pool,), generator=generator))
        by_length = sorted(rows.tolist(), key=self.train.length)
        chunk = int(torch.randint(POOL_BATCHES, (1,), generator=generator))
        return self.train.batch(by_length[chunk * size : (chunk + 1) * size])


def model_text(config: Config, vocab: Vocabulary):
    """How text reaches the model: case-folded as its corpus was, characters mapped into its vocabulary."""
    return lambda text: vocab.normalize(text.lower() if config.corpus.lowercase else text)


def written_pairs(config: Config, part: str, respeller: Respeller | None) -> list[Pair]:
    if not config.listen.dialogue:
        return []
    pairs = dialogue_part(config.resolve(config.listen.dialogue), part)
    return [respeller.pair(p) for p in pairs] if respeller else pairs


def respeller_for(config: Config) -> Respeller | None:
    if not config.listen.respell:
        return None
    return Respeller.from_texts([d.text for d in read_documents(config)])


def load_lessons(config: Config, vocab: Vocabulary) -> Lessons:
    lc = config.listen
    respeller = respeller_for(config)
    folio_train, folio_held_out = folio_pairs(config) if lc.folio_pairs else ([], [])
    written_train = written_pairs(config, "train", respeller)
    text = model_text(config, vocab)

    def pair_set(pairs: list[Pair]) -> PairSet:
        return PairSet(pairs, vocab, text, lc.max_message_chars, lc.max_reply_chars)

    held_out = {}
    if lc.dialogue:
        held_out["written dev"] = pair_set(written_pairs(config, "dev", respeller))
    if len(folio_held_out) >= 2:
        held_out["folio held-out"] = pair_set(folio_held_out)
    return Lessons(pair_set(written_train + folio_train), len(written_train), lc.written_share, held_out)
