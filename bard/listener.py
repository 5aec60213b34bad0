"""ListeningLSTM: bard's character LSTM that attends to the user's message.

A small bidirectional LSTM reads the message's characters. At every step of the character model,
the output of its lower layers asks which of the message's characters matter now (dot-product
attention, Luong et al. 2015, over the encoder's states as in Bahdanau et al. 2015), and the
answer, a context vector, is added to the input of its top layer and to its output. With
`conditioning: vector` the context is instead the message's mean state at every step.

With `copy` on, a second attention points at the message's characters and the model may copy the
one it points at (a pointer-generator, See et al. 2017): the next character's probability is a
mixture of the decoder's softmax and the pointer's weights on the message's characters, weighed by
a learnt gate. Many answers take up the message's own words ("Three years of silence..." to "we
haven't spoken in 3 years"); copying gives the attention a direct lesson in where to look, which
the context alone learnt slowly (docs/listening.md). The forward pass then returns
log-probabilities, which every sampler treats as logits.

The weights that carry the context start at zero and the gate nearly shut, so a listening model
made from a plain one (`from_language_model`) writes as that model did until training teaches it
to listen (exactly so without a message).

The message travels in the model's state, so everything that samples from a CharLSTM samples
from this one unchanged: `listen(state, message)` puts a message in, and the state then holds
(LSTM state..., keys, values, mask, ids), each with the batch in dimension 1 as nn.LSTM's state has,
so `repeat_state`, `concat_states` and `select_rows` work on it as they are.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from bard.config import ListenConfig, ModelConfig
from bard.model import RNNS, CharLSTM, State

# The copy gate starts nearly shut: sigmoid(-3) = 0.05 of the probability goes to copying.
COPY_GATE_BIAS = -3.0


class MessageEncoder(nn.Module):
    def __init__(self, vocab_size: int, embedding: int, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding)
        self.rnn = nn.LSTM(embedding, hidden, batch_first=True, bidirectional=True)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(batch, length) ids -> (batch, length, 2 x hidden); packed, so that padding never reaches
        the backward direction's states."""
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.embedding(ids.long()), lengths, batch_first=True, enforce_sorted=False)
        states, _ = self.rnn(packed)
        return pad_packed_sequence(states, batch_first=True, total_length=ids.size(1))[0]


class ListeningLSTM(nn.Module):
    def __init__(self, vocab_size: int, config: ModelConfig, listen: ListenConfig):
        super().__init__()
        if config.layers < 2:
            raise ValueError("a listening model needs model.layers >= 2: attention feeds the top layer")
        self.vocab_size, self.config, self.listen_config = vocab_size, config, listen
        hidden, rnn = config.hidden, RNNS[config.cell]
        self.embedding = nn.Embedding(vocab_size, config.embedding)
        self.lower = rnn(config.embedding, hidden, num_layers=config.layers - 1, batch_first=True,
                         dropout=config.dropout if config.layers > 2 else 0.0)
        self.upper = rnn(hidden, hidden, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(hidden, vocab_size)
        self.encoder = MessageEncoder(vocab_size, listen.encoder_embedding, listen.encoder_hidden)
        if listen.conditioning == "attention":  # the vector is every character's mean: nothing to ask
            self.query = nn.Linear(hidden, listen.attention, bias=False)
        self.key = nn.Linear(2 * listen.encoder_hidden, listen.attention, bias=False)
        self.value = nn.Linear(2 * listen.encoder_hidden, hidden)
        self.into_upper = nn.Linear(hidden, hidden, bias=False)
        self.into_head = nn.Linear(hidden, hidden, bias=False)
        nn.init.zeros_(self.into_upper.weight)
        nn.init.zeros_(self.into_head.weight)
        if listen.copy:
            self.pointer = nn.Linear(hidden, listen.attention, bias=False)
            self.copy_gate = nn.Linear(hidden, 1)
            nn.init.zeros_(self.copy_gate.weight)
            nn.init.constant_(self.copy_gate.bias, COPY_GATE_BIAS)

    def new_parameters(self) -> list[nn.Parameter]:
        """The weights a plain model lacks: the encoder's and the attention's."""
        modules = [self.encoder, self.key, self.value, self.into_upper, self.into_head]
        if self.listen_config.conditioning == "attention":
            modules.append(self.query)
        if self.listen_config.copy:
            modules += [self.pointer, self.copy_gate]
        return [p for module in modules for p in module.parameters()]

    @classmethod
    def from_language_model(cls, model: CharLSTM, listen: ListenConfig) -> ListeningLSTM:
        """A listening model that writes as `model` does until it learns to listen."""
        listening = cls(model.vocab_size, model.config, listen)
        listening.embedding.load_state_dict(model.embedding.state_dict())
        if listen.encoder_embedding == model.config.embedding:  # the same characters: start from what it knows of them
            listening.encoder.embedding.load_state_dict(model.embedding.state_dict())
        listening.head.load_state_dict(model.head.state_dict())
        top = model.config.layers - 1
        for name, weight in model.rnn.state_dict().items():  # weight_ih_l0, bias_hh_l1, ...
            stem, layer = name.rsplit("_l", 1)
            if int(layer) < top:
                listening.lower.state_dict()[name].copy_(weight)
            else:
                listening.upper.state_dict()[f"{stem}_l0"].copy_(weight)
        return listening

    # The state: the LSTM's, and the message's memory --------------------------------------------

    def rnn_parts(self) -> int:
        return 2 if self.config.cell == "lstm" else 1

    def split_state(self, state: State | None):
        """(lower layers' state, top layer's state, memory or None)."""
        if state is None:
            return None, None, None
        parts = state if isinstance(state, tuple) else (state,)
        rnn, memory = parts[: self.rnn_parts()], parts[self.rnn_parts():] or None
        lower = tuple(p[:-1].contiguous() for p in rnn)
        upper = tuple(p[-1:].contiguous() for p in rnn)
        if self.config.cell == "gru":
            lower, upper = lower[0], upper[0]
        return lower, upper, memory

    def join_state(self, lower, upper, memory) -> State:
        if self.config.cell == "gru":
            lower, upper = (lower,), (upper,)
        rnn = tuple(torch.cat([low, up]) for low, up in zip(lower, upper))
        if memory is None:
            return rnn if self.config.cell == "lstm" else rnn[0]
        return (*rnn, *memory)

    def listen(self, state: State | None, message: torch.Tensor, mask: torch.Tensor) -> State:
        """`state` (None: a fresh start) with `message` (batch, length) to attend to, replacing any
        message it held; `mask` marks the message's real characters."""
        encoded = self.encoder(message, mask)
        memory = (self.key(encoded).transpose(0, 1), self.value(encoded).transpose(0, 1), mask.T[..., None],
                  message.T[..., None].long())
        lower, upper, _ = self.split_state(state)
        if lower is None:
            zeros = self.head.weight.new_zeros(self.config.layers, message.size(0), self.config.hidden)
            lower, upper, _ = self.split_state((zeros, zeros) if self.config.cell == "lstm" else zeros)
        return self.join_state(lower, upper, memory)

    # Reading --------------------------------------------------------------------------------------

    def attend(self, queries: torch.Tensor, memory) -> tuple[torch.Tensor, torch.Tensor]:
        """Context (batch, time, hidden) for each step's query, and the weights (batch, time, length)
        that each step gave the message's characters."""
        keys, values, mask, _ = (m.transpose(0, 1) for m in memory)  # (batch, length, ...)
        mask = mask.squeeze(-1)[:, None, :]  # (batch, 1, length)
        if self.listen_config.conditioning == "vector":
            weights = (mask / mask.sum(-1, keepdim=True)).to(values.dtype).expand(-1, queries.size(1), -1)
        else:
            weights = pointed(self.query(queries), keys, mask).to(values.dtype)
        return weights @ values, weights

    def with_copies(self, logits: torch.Tensor, top: torch.Tensor, memory) -> torch.Tensor:
        """Log-probabilities of the next character: the decoder's softmax, mixed by the gate with
        the pointer's weights on the message's characters."""
        keys, _, mask, ids = (m.transpose(0, 1) for m in memory)
        pointer = pointed(self.pointer(top), keys, mask.squeeze(-1)[:, None, :])  # (batch, time, length), float32
        # Summed per character in float32 (a matmul would run in bfloat16 under autocast).
        copies = pointer.new_zeros(*pointer.shape[:2], self.vocab_size).scatter_add_(
            2, ids.squeeze(-1)[:, None, :].expand(-1, pointer.size(1), -1), pointer)
        gate = self.copy_gate(top).float()
        return torch.logaddexp(F.logsigmoid(-gate) + logits.log_softmax(-1),
                               F.logsigmoid(gate) + copies.clamp_min(1e-12).log())

    def forward(self, ids: torch.Tensor, state: State | None = None, with_attention: bool = False):
        """As CharLSTM.forward; with a message in `state`, every step attends to it. With
        `with_attention`, also returns the attention weights (None without a message)."""
        lower_state, upper_state, memory = self.split_state(state)
        below, lower_state = self.lower(self.embedding(ids.long()), lower_state)
        below = self.dropout(below)
        context = weights = None
        if memory is not None:
            context, weights = self.attend(below, memory)
            below = below + self.into_upper(context)
        top, upper_state = self.upper(below, upper_state)
        if context is not None:
            top = top + self.into_head(context)
        top = self.dropout(top)
        logits = self.head(top).float()
        if memory is not None and self.listen_config.copy:
            logits = self.with_copies(logits, top, memory)
        state = self.join_state(lower_state, upper_state, memory)
        return (logits, state, weights) if with_attention else (logits, state)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def pointed(queries: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Scaled dot-product attention weights (float32) of each query over the unmasked keys."""
    scores = queries @ keys.transpose(1, 2) / math.sqrt(keys.size(-1))
    return scores.float().masked_fill(~mask, float("-inf")).softmax(-1)


def listens(model: nn.Module) -> bool:
    return isinstance(model, ListeningLSTM)


@torch.inference_mode()
def hearing(model: nn.Module, state: State | None, message: torch.Tensor) -> State | None:
    """`state` with the message's ids (1-D) to attend to, for a listening model; for a plain model,
    `state` as it is (it hears the message only as the speech it reads)."""
    if not listens(model):
        return state
    message = message[None].to(next(model.parameters()).device)
    return model.listen(state, message, torch.ones_like(message, dtype=torch.bool))


@torch.inference_mode()
def attended_words(model: ListeningLSTM, state: State, text: torch.Tensor, message: str) -> list[tuple[str, float]]:
    """The words of `message` (the model text the encoder read, one character per id) that the model
    attended to while reading `text` (ids) after `state`, each with its share of the attention,
    most attended first."""
    weights = model(text[None].to(next(model.parameters()).device), state, with_attention=True)[2]
    if weights is None:  # no message in the state
        return []
    per_char = weights[0].float().mean(0).cpu()
    shares = {}
    for word in re.finditer(r"[^\W_]+(?:'[^\W_]+)*", message):
        shares[word.group()] = shares.get(word.group(), 0.0) + float(per_char[word.start() : word.end()].sum())
    return sorted(shares.items(), key=lambda item: -item[1])
