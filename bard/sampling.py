"""Batched, stateful sampling: the seed is read once, then every new character costs one LSTM
step for all samples together (the book re-feeds a 40-character window per character)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from bard.device import resolve_precision
from bard.model import CharLSTM, State, repeat_state, select_rows
from bard.vocabulary import Vocabulary

# Asking a stop condition costs a little; every 8 characters wastes at most 7 steps.
STOP_CHECK_EVERY = 8
ROW_MULTIPLE = 16
COLUMN_MULTIPLE = 32


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set to -inf every logit outside the top k, and outside the smallest set of most likely
    characters whose probability reaches top_p. 0 and 1.0 switch them off."""
    if top_k and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        # Drop a character when the ones ranked above it already reach top_p; the first stays.
        drop_sorted = probs.cumsum(-1) - probs >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def pick_next(logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """One id per row of (batch, vocab) logits; temperature 0 means argmax."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = filter_logits(logits.float() / temperature, top_k, top_p)
    # The Gumbel-max trick: argmax(logits + Gumbel noise) is a draw from softmax(logits), and costs
    # a third of torch.multinomial for a batch of 64 (-log of Exp(1) noise is Gumbel noise).
    noise = torch.empty_like(logits).exponential_(generator=generator)
    return (logits - noise.log()).argmax(-1)


@torch.inference_mode()
def prime(model: CharLSTM, vocab: Vocabulary, text: str, state: State | None = None) -> tuple[torch.Tensor, State]:
    """Read `text` in one forward pass; return the next-character logits (1, vocab) and the state."""
    device = next(model.parameters()).device
    ids = vocab.encode(text)
    if len(ids) == 0:
        # With nothing to read, start as a speech starts: after a line break.
        ids = vocab.encode("\n" if "\n" in vocab.index else vocab.chars[0])
    logits, state = model(ids[None].to(device), state)
    return logits[:, -1], state


@torch.inference_mode()
def continue_batch(model: CharLSTM, logits: torch.Tensor, state: State, length: int, temperature: float,
                   top_k: int = 0, top_p: float = 1.0, generator: torch.Generator | None = None,
                   stop: Callable[[torch.Tensor], bool] | None = None) -> tuple[torch.Tensor, State]:
    """Sample up to `length` characters for every row of `logits`, carrying `state`.
    `stop(ids_so_far)` is asked every STOP_CHECK_EVERY steps and ends sampling early when it returns
    True. Returns ids (batch, steps taken) and the state after the last sampled character."""
    out = torch.empty(logits.size(0), length, dtype=torch.long, device=logits.device)
    for t in range(length):
        out[:, t] = pick_next(logits, temperature, top_k, top_p, generator)
        step_logits, state = model(out[:, t : t + 1], state)
        logits = step_logits[:, -1]
        if stop is not None and (t + 1) % STOP_CHECK_EVERY == 0 and stop(out[:, : t + 1]):
            return out[:, : t + 1], state
    return out, state


@torch.inference_mode()
def char_log_probs(model: CharLSTM, vocab: Vocabulary, texts: list[str], logits: torch.Tensor,
                   state: State) -> torch.Tensor:
    """The log-probability (at temperature 1) of every character of each text following its
    context, in one forward pass: (len(texts), at least the longest text), 0 past a text's end. Row i of `logits`
    (next-character logits) and of `state` is text i's context, as `prime` leaves it."""
    # Rows padded to a multiple of ROW_MULTIPLE (copies of the first) and columns to one of
    # COLUMN_MULTIPLE: oneDNN's CPU LSTM takes two to three times longer for a batch of 58 or 62 rows
    # than for 64, and builds its kernels anew for every new shape.
    rows = -(-len(texts) // ROW_MULTIPLE) * ROW_MULTIPLE
    keep = torch.cat([torch.arange(len(texts)), torch.zeros(rows - len(texts), dtype=torch.long)]).to(logits.device)
    logits, state = logits[keep], select_rows(state, keep)
    encoded = [vocab.encode(texts[i]) for i in keep.tolist()]
    lengths = torch.tensor([len(ids) for ids in encoded], device=logits.device)
    columns = -(-int(lengths.max()) // COLUMN_MULTIPLE) * COLUMN_MULTIPLE
    ids = torch.zeros(rows, columns, dtype=torch.long, device=logits.device)
    for row, text_ids in enumerate(encoded):
        ids[row, : len(text_ids)] = text_ids
    following = model(ids[:, :-1], state)[0] if ids.size(1) > 1 else logits.new_zeros(rows, 0, logits.size(-1))
    predicted = torch.cat([logits[:, None], following], 1).float().log_softmax(-1)
    per_char = predicted.gather(2, ids[..., None]).squeeze(2)
    return per_char.masked_fill(torch.arange(ids.size(1), device=ids.device) >= lengths[:, None], 0)[: len(texts)]


def for_sampling(model: CharLSTM, precision: str) -> CharLSTM:
    """The model in the arithmetic sampling should use: itself for float32, else a bfloat16 copy.
    Casting the weights once beats autocast, which re-casts every weight at every step; on the
    shipped model bfloat16 weights move the held-out loss by 0.0001 nats/char."""
    weight = next(model.parameters())
    if resolve_precision(precision, weight.device) == "bfloat16" and weight.dtype != torch.bfloat16:
        return copy.deepcopy(model).to(torch.bfloat16).eval()
    return model


def make_generator(seed: int | None, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def generate(model: CharLSTM, vocab: Vocabulary, seed_text: str, n: int, length: int, temperature: float,
             top_k: int = 0, top_p: float = 1.0, seed: int | None = None, precision: str = "float32") -> list[str]:
    """n continuations of `seed_text`, `length` characters each, sampled together in one batch."""
    model = for_sampling(model, precision)
    logits, state = prime(model, vocab, seed_text)
    ids, _ = continue_batch(model, logits.expand(n, -1), repeat_state(state, n), length,
                            temperature, top_k, top_p, make_generator(seed, logits.device))
    return [vocab.decode(row) for row in ids.cpu()]
