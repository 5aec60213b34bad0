"""Held-out loss: a model reads a text as contiguous streams with its state carried, the way the
sampler reads, and is scored on every next character."""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from bard.checkpoint import Checkpoint
from bard.config import Config, CorpusConfig
from bard.corpus import load_corpus
from bard.model import CharLSTM

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


def evaluate_checkpoint(checkpoint: Checkpoint, trained_on: Config, corpus: CorpusConfig | None = None) -> dict:
    """The checkpoint's held-out loss on the validation split of `corpus` (default: its own
    training corpus). Characters its vocabulary lacks are mapped as the sampler maps them."""
    config = trained_on if corpus is None else Config(corpus=corpus, base_dir=trained_on.base_dir)
    val_data = checkpoint.vocab.encode(load_corpus(config).val_text)
    device = next(checkpoint.model.parameters()).device
    val_loss, val_chars = evaluate(checkpoint.model, val_data, trained_on.train.seq_len, device)
    return {"checkpoint": str(checkpoint.path), "val_loss": val_loss, "bpc": val_loss / math.log(2),
            "val_chars": val_chars, "step": checkpoint.meta["step"],
            "parameters": checkpoint.model.num_parameters()}
