"""NLP in Action's chapter 9 recipe (listings 9.23-9.28), reimplemented in PyTorch so that the
benchmarks compare bard against it on the same framework, text and machine.

The book: lowercased plays cut into 40-character windows every 3 characters, each window one-hot
encoded and read by LSTM(128) whose last output predicts the one next character (dense softmax),
RMSprop with lr 0.01, batch 128. Its sampler re-reads the last 40 characters for every new one.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WINDOW, STEP, HIDDEN, BATCH, LR = 40, 3, 128, 128, 0.01

SHARED_NLTK = Path(__file__).resolve().parents[2] / "shared" / "data" / "nltk_data"
if "NLTK_DATA" not in os.environ and SHARED_NLTK.is_dir():
    os.environ["NLTK_DATA"] = str(SHARED_NLTK)


class BookModel(nn.Module):
    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.lstm = nn.LSTM(vocab_size, HIDDEN, batch_first=True)
        self.dense = nn.Linear(HIDDEN, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (batch, 40) -> logits (batch, vocab) for the character after each window."""
        one_hot = F.one_hot(ids.long(), self.vocab_size).float()
        out, _ = self.lstm(one_hot)
        return self.dense(out[:, -1])


def windows(data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every STEP-th WINDOW-character window of `data` and the character that follows it."""
    starts = torch.arange(0, len(data) - WINDOW, STEP)
    return data[starts[:, None] + torch.arange(WINDOW)], data[starts + WINDOW].long()


@torch.no_grad()
def window_loss(predict, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """The book's held-out loss: mean nats for the character after each window, read from zero
    state. `predict` maps (batch, 40) ids to (batch, vocab) logits."""
    total = 0.0
    for i in range(0, len(inputs), 1024):
        total += F.cross_entropy(predict(inputs[i : i + 1024]), targets[i : i + 1024], reduction="sum").item()
    return total / len(inputs)


def train_book(train_data: torch.Tensor, val_data: torch.Tensor, vocab_size: int, budget_s: float,
               eval_every_s: float, seed: int = 0) -> list[tuple[float, float]]:
    """Train the book's model for `budget_s` seconds of training time (evaluation not counted);
    return (seconds, held-out loss) points."""
    torch.manual_seed(seed)
    model = BookModel(vocab_size)
    # Keras' RMSprop defaults: rho 0.9, epsilon 1e-7.
    optimizer = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=0.9, eps=1e-7)
    x, y = windows(train_data)
    val_x, val_y = windows(val_data)
    curve, trained_s, next_eval = [], 0.0, eval_every_s
    while trained_s < budget_s:
        order = torch.randperm(len(x))  # Keras shuffles every epoch
        for i in range(0, len(x), BATCH):
            started = time.perf_counter()
            batch = order[i : i + BATCH]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            trained_s += time.perf_counter() - started
            if trained_s >= next_eval or trained_s >= budget_s:
                model.eval()
                curve.append((trained_s, window_loss(model, val_x, val_y)))
                model.train()
                print(f"  book  {trained_s:7.1f} s  held-out {curve[-1][1]:.4f}", file=sys.stderr)
                next_eval += eval_every_s
            if trained_s >= budget_s:
                break
    return curve


@torch.inference_mode()
def sample_book_way(predict, vocab, seed_text: str, length: int, temperature: float,
                    generator: torch.Generator) -> str:
    """The book's sampler: re-read the last 40 characters for every new character, one sample."""
    from bard.sampling import pick_next

    text = vocab.normalize(seed_text)
    for _ in range(length):
        window = vocab.encode(text[-WINDOW:])[None]
        text += vocab.chars[pick_next(predict(window), temperature, generator=generator).item()]
    return text[len(seed_text):]


def matmul_flops_per_second(size: int = 2048, repeats: int = 10) -> float:
    """This CPU's float32 matrix-multiply rate: the ceiling for dense recurrent work."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        torch.mm(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def dense_parameters(model: nn.Module) -> int:
    """Parameters that cost multiply-adds per character (an embedding lookup costs none)."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith("embedding"))
