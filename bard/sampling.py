"""Batched, stateful sampling: the seed is read once, then every new character costs one LSTM
step for all samples together (the book re-feeds a 40-character window per character)."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch
from torch import nn

from bard.device import sampling_precision
from bard.model import CharLSTM, State, repeat_state, rounded_up, select_rows
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
                   ended: Callable[[torch.Tensor], torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample up to `length` characters for every row of `logits`, carrying `state`.
    `ended(ids_so_far)` (a bool per row) is asked every STOP_CHECK_EVERY steps: rows that have ended
    leave the batch, so a reply costs what its unfinished rows need, and sampling stops when all have
    ended. Returns ids (batch, steps) and each row's length: where it was seen to have ended (up to
    STOP_CHECK_EVERY - 1 characters past its end) or `length`; a row's ids past it are padding."""
    rows = logits.size(0)
    out = torch.zeros(rows, length, dtype=torch.long, device=logits.device)
    lengths = torch.full((rows,), length, dtype=torch.long, device=logits.device)
    live = torch.arange(rows, device=logits.device)  # the rows still in the batch, in batch order
    for t in range(length):
        picked = pick_next(logits, temperature, top_k, top_p, generator)
        out[live, t] = picked
        step_logits, state = model(picked[:, None], state)
        logits = step_logits[:, -1]
        if ended is None or (t + 1) % STOP_CHECK_EVERY:
            continue
        done = ended(out[live, : t + 1])
        lengths[live[done & (lengths[live] == length)]] = t + 1
        if bool(done.all()):
            return out[:, : t + 1], lengths
        # Ended rows stay as padding up to a multiple of ROW_MULTIPLE: oneDNN's CPU LSTM is two to
        # three times slower for a batch of 58 rows than for 64.
        keep = rounded_up(int((~done).sum()), ROW_MULTIPLE)
        if keep < len(live):
            chosen = torch.sort(done.int(), stable=True).indices[:keep]  # unfinished rows first
            live, logits, state = live[chosen], logits[chosen], select_rows(state, chosen)
    return out, lengths


@torch.inference_mode()
def char_log_probs(model: CharLSTM, vocab: Vocabulary, texts: list[str], logits: torch.Tensor,
                   state: State) -> torch.Tensor:
    """The log-probability (at temperature 1) of every character of each text following its
    context: (len(texts), the longest text's length), 0 past a text's end. Row i of `logits`
    (next-character logits) and of `state` is text i's context, as `prime` leaves it.
    Texts are read in groups of ROW_MULTIPLE of like length, each padded only to its own longest:
    candidates run from 10 to 100 characters, and one batch padded to the longest costs twice as much."""
    encoded = [vocab.encode(text) for text in texts]
    lengths = torch.tensor([len(ids) for ids in encoded])
    result = torch.zeros(len(texts), max(int(lengths.max()), 1))
    order = torch.sort(lengths, stable=True).indices
    for group in order.split(ROW_MULTIPLE):
        # Short groups are padded with copies of their first row: oneDNN is slow for odd batch sizes.
        padded = torch.cat([group, group[:1].expand(ROW_MULTIPLE - len(group))])
        rows = padded.to(logits.device)
        group_log_probs = read_back(model, [encoded[i] for i in padded.tolist()], logits[rows], select_rows(state, rows))
        width = min(group_log_probs.size(1), result.size(1))
        result[group, :width] = group_log_probs[: len(group), :width].cpu()
    return result


def read_back(model: CharLSTM, encoded: list[torch.Tensor], logits: torch.Tensor, state: State) -> torch.Tensor:
    """char_log_probs for one batch, in one forward pass; columns are padded to a multiple of
    COLUMN_MULTIPLE, since oneDNN builds its kernels anew for every new shape."""
    lengths = torch.tensor([len(ids) for ids in encoded], device=logits.device)
    columns = max(rounded_up(int(lengths.max()), COLUMN_MULTIPLE), 1)
    ids = torch.zeros(len(encoded), columns, dtype=torch.long, device=logits.device)
    for row, text_ids in enumerate(encoded):
        ids[row, : len(text_ids)] = text_ids
    following = model(ids[:, :-1], state)[0] if columns > 1 else logits.new_zeros(len(encoded), 0, logits.size(-1))
    predicted = torch.cat([logits[:, None], following], 1).float().log_softmax(-1)
    per_char = predicted.gather(2, ids[..., None]).squeeze(2)
    return per_char.masked_fill(torch.arange(columns, device=ids.device) >= lengths[:, None], 0)


def for_sampling(model: CharLSTM, precision: str) -> CharLSTM:
    """The model in the arithmetic sampling should use (bard.device.sampling_precision): itself for
    float32, else a copy with bfloat16 weights, or with its LSTM and head in int8. Casting the
    weights once beats autocast, which re-casts every weight at every step. On the shipped model the
    held-out loss moves by 0.0001 nats/char in bfloat16 and 0.0007 in int8."""
    if getattr(model, "precision", "float32") != "float32":
        return model  # already a sampling copy
    weight = next(model.parameters())
    chosen = sampling_precision(precision, weight.device, quantizable=type(model) is CharLSTM)
    if chosen == "int8":
        with warnings.catch_warnings():
            # torch.ao's dynamic quantization warns that it will move to torchao, which has no int8
            # LSTM; it is still the one int8 LSTM PyTorch has.
            warnings.simplefilter("ignore")
            fast = torch.ao.quantization.quantize_dynamic(model, {nn.LSTM, nn.GRU, nn.Linear}, dtype=torch.qint8)
    elif chosen == "bfloat16":
        fast = copy.deepcopy(model).to(torch.bfloat16)
    else:
        return model
    fast.precision = chosen
    return fast.eval()


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
