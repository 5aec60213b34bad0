"""CharLSTM: embedding -> stacked LSTM (or GRU) -> dropout -> linear head over the characters."""

from __future__ import annotations

import torch
from torch import nn

from bard.config import ModelConfig

# An LSTM's state is (h, c); a GRU's is h alone. Callers treat it as opaque and pass it back.
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
RNNS = {"lstm": nn.LSTM, "gru": nn.GRU}


class CharLSTM(nn.Module):
    def __init__(self, vocab_size: int, config: ModelConfig):
        super().__init__()
        self.vocab_size = vocab_size
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embedding)
        rnn = RNNS[config.cell]
        self.rnn = rnn(
            config.embedding,
            config.hidden,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, vocab_size)

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids: (batch, time) character ids -> logits (batch, time, vocab) and the state after
        the last step, to continue from."""
        x = self.embedding(ids.long())
        x, state = self.rnn(x, state)
        return self.head(self.dropout(x)), state

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def repeat_state(state: State, n: int) -> State:
    """Copy a batch-1 state n times along the batch dimension (dim 1 for nn.LSTM/nn.GRU)."""
    if isinstance(state, tuple):
        return tuple(s.repeat(1, n, 1) for s in state)
    return state.repeat(1, n, 1)


def concat_states(states: list[State]) -> State:
    """Stack states along the batch dimension, so that differently seeded rows sample together."""
    if isinstance(states[0], tuple):
        return tuple(torch.cat(parts, dim=1) for parts in zip(*states))
    return torch.cat(states, dim=1)


def select_rows(state: State, rows: torch.Tensor) -> State:
    """The batch rows `rows` of a state, in that order."""
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]


def rounded_up(n: int, multiple: int) -> int:
    """n rounded up to a multiple: batch shapes are padded so that oneDNN meets few distinct shapes."""
    return -(-n // multiple) * multiple
