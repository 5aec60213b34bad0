"""Held-out loss: a model reads a text as contiguous streams with its state carried, the way the
sampler reads, and is scored on every next character."""

from __future__ import annotations

import dataclasses
import math
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

from bard.checkpoint import Checkpoint
from bard.config import Config
from bard.corpus import load_corpus
from bard.errors import BardError
from bard.model import CharLSTM
from bard.pairs import PairSet, model_text, previous_messages, read_pairs, reply_loss, respeller_for

# Pairs scored together when measuring message information.
PAIR_BATCH = 64

EVAL_STREAMS = 16  # parallel contiguous streams the validation text is cut into


@torch.inference_mode()  # on a generator, torch enters the mode around each step only
def held_out_logits(model: CharLSTM, data: torch.Tensor, seq_len: int, device: torch.device, autocast=None):
    """Logits and targets over `data`, `seq_len` characters of every stream at a time."""
    was_training = model.training
    model.eval()
    streams = max(1, min(EVAL_STREAMS, (len(data) - 1) // seq_len))
    length = (len(data) - 1) // streams
    inputs = data[: streams * length].view(streams, length).to(device)
    targets = data[1 : streams * length + 1].view(streams, length).to(device)
    state = None
    for t in range(0, length, seq_len):
        with autocast or nullcontext():
            logits, state = model(inputs[:, t : t + seq_len], state)
        yield logits.float().flatten(0, 1), targets[:, t : t + seq_len].flatten().long()
    model.train(was_training)


def evaluate(model: CharLSTM, data: torch.Tensor, seq_len: int, device: torch.device,
             autocast=None) -> tuple[float, int]:
    """Mean loss in nats/char over `data`. Returns (loss, characters scored)."""
    total, count = 0.0, 0
    for logits, targets in held_out_logits(model, data, seq_len, device, autocast):
        total += F.cross_entropy(logits, targets, reduction="sum").item()
        count += len(targets)
    return total / count, count


def evaluate_checkpoint(checkpoint: Checkpoint, gutenberg: list[str] = (), files: list[Path] = ()) -> dict:
    """The checkpoint's held-out loss on its own validation split, or, given NLTK gutenberg ids or
    files, on theirs: the same tail fraction, read with the model's case folding. Characters its
    vocabulary lacks are mapped as the sampler maps them."""
    trained_on = checkpoint.trained_with()
    config = trained_on
    if gutenberg or files:
        corpus = dataclasses.replace(trained_on.corpus, gutenberg=list(gutenberg), files=[str(f) for f in files])
        config = Config(corpus=corpus, base_dir=trained_on.base_dir)
    val_data = checkpoint.vocab.encode(load_corpus(config).val_text)
    if len(val_data) < 2:
        raise BardError(f"the held-out text is too short to measure ({len(val_data)} characters)")
    device = next(checkpoint.model.parameters()).device
    val_loss, val_chars = evaluate(checkpoint.model, val_data, trained_on.train.seq_len, device)
    return {"checkpoint": str(checkpoint.path), "val_loss": val_loss, "bpc": val_loss / math.log(2),
            "val_chars": val_chars, "step": checkpoint.meta["step"],
            "parameters": checkpoint.model.num_parameters()}


@torch.inference_mode()
def message_information(model, pairs: PairSet, device: torch.device, limit: int | None = None,
                        autocast=None) -> dict:
    """How much the message tells the model about its reply: the reply loss after its own message,
    after the previous pair's message, and their difference, in nats per reply character."""
    was_training = model.training
    model.eval()
    n = len(pairs) if limit is None else min(limit, len(pairs))
    others = previous_messages(n)
    own = other = 0.0
    chars = 0
    for start in range(0, n, PAIR_BATCH):
        rows = list(range(start, min(n, start + PAIR_BATCH)))
        with autocast or nullcontext():
            own += reply_loss(model, pairs.batch(rows).to(device), "sum").item()
            other += reply_loss(model, pairs.batch(rows, [others[r] for r in rows]).to(device), "sum").item()
        chars += sum(len(pairs.replies[r]) for r in rows)
    model.train(was_training)
    return {"pairs": n, "reply_chars": chars, "reply_loss": own / chars, "reply_loss_other_message": other / chars,
            "message_information": (other - own) / chars}


def evaluate_pairs(checkpoint: Checkpoint, path: Path) -> dict:
    """message_information over every `message<TAB>reply` line of `path`, the replies respelt as the
    plays spell when the checkpoint's config says so (a plain Folio model writes that spelling too)."""
    config = checkpoint.trained_with()
    respeller = respeller_for(config)
    pairs = [respeller.pair(p) for p in read_pairs(path)] if respeller else read_pairs(path)
    pair_set = PairSet(pairs, checkpoint.vocab, model_text(config, checkpoint.vocab),
                       config.listen.max_message_chars, config.listen.max_reply_chars)
    return message_information(checkpoint.model, pair_set, next(checkpoint.model.parameters()).device)
