"""Train the book's recipe and bard's trainer (same size: one LSTM layer of 128) on the same text
for the same wall-clock budget, and print both held-out loss curves and the time each takes to
reach the book recipe's best held-out loss (1.695 nats/char measured with Keras).

    python benchmarks/train_vs_book.py [--budget 300] [--eval-every 2] [--folio]

The text is NLTK's three Shakespeare plays, the book's; --folio reads the same three etexts from the
shipped Folio instead (without NLTK's title lines), which needs no NLTK data.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

import book
from bard.checkpoint import load_checkpoint
from bard.config import load_config
from bard.corpus import load_corpus
from bard.model import CharLSTM
from bard.training import make_optimizer, sample_batch, train
from bard.vocabulary import Vocabulary
from machine import machine

BOOK_BEST = 1.695  # the book recipe's best held-out loss, Keras 3 on this machine (issue 3)


def first_time_at_or_below(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((t for t, loss in curve if loss <= target), None)


def bard_steps_per_second(config, vocab_size: int, data: torch.Tensor) -> float:
    """A short probe, so that bard's learning-rate schedule spans the same budget as the book's."""
    torch.manual_seed(0)
    model = CharLSTM(vocab_size, config.model)
    optimizer = make_optimizer(model, config.train)
    generator = torch.Generator().manual_seed(0)
    started = None
    for i in range(13):
        if i == 3:
            started = time.perf_counter()
        x, y = sample_batch(data, config.train.batch_size, config.train.seq_len, generator)
        loss = torch.nn.functional.cross_entropy(model(x)[0].flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return 10 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=300, help="training seconds for each trainer (default 300)")
    parser.add_argument("--eval-every", type=float, default=2, help="seconds between evaluations (default 2)")
    parser.add_argument("--folio", action="store_true",
                        help="the three plays from the shipped Folio instead of NLTK's (no NLTK data needed)")
    args = parser.parse_args()
    console = Console(stderr=True)

    # bard's trainer with settings for a small model and a short run: without dropout (LSTM(128)
    # underfits three plays), and with short, small batches, since early on more updates per
    # second beat bigger ones.
    # The book's text: NLTK's three plays (bard's default corpus is now the whole Folio), or the same
    # three etexts from the Folio.
    if args.folio:
        plays = ["corpus.gutenberg=[]", "corpus.files=[corpora/folio/julius_caesar_gut_f.txt, "
                 "corpora/folio/hamlet_gut_f.txt, corpora/folio/macbeth_gut_f.txt]"]
    else:
        plays = ["corpus.files=[]",
                 "corpus.gutenberg=[shakespeare-caesar.txt, shakespeare-hamlet.txt, shakespeare-macbeth.txt]"]
    config = load_config(None, [*plays, "model.hidden=128", "model.layers=1", "model.dropout=0.0", "train.lr=0.01",
                                "train.batch_size=32", "train.seq_len=64", "train.warmup_steps=30"])
    corpus = load_corpus(config)  # the lowercased plays, last 10% of each held out
    vocab = Vocabulary.from_text(corpus.train_text)
    train_data, val_data = vocab.encode(corpus.train_text), vocab.encode(corpus.val_text)

    console.rule(f"book recipe: 40-char windows, step 3, one-hot, LSTM(128), RMSprop, {args.budget:g} s")
    book_curve = book.train_book(train_data, val_data, len(vocab), args.budget, args.eval_every)

    steps_per_s = bard_steps_per_second(config, len(vocab), train_data)
    config.train.max_steps = max(10, int(steps_per_s * args.budget))
    config.train.eval_every = max(1, int(steps_per_s * args.eval_every))
    console.rule(f"bard trainer: LSTM(128), every position, {config.train.max_steps} steps, {args.budget:g} s")
    with tempfile.TemporaryDirectory() as out:
        run = train(config, Path(out), device="cpu", max_minutes=args.budget / 60, console=console)
        metrics = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
        best = load_checkpoint(Path(out) / "best.pt")
    # bard's clock includes its evaluations; the book's does not. That only favours the book.
    bard_curve = [(m["elapsed_s"], m["val_loss"]) for m in metrics]
    val_x, val_y = book.windows(val_data)
    bard_window_loss = book.window_loss(lambda ids: best.model(ids)[0][:, -1], val_x, val_y)

    table = Table(title="held-out loss (nats/char) against training time")
    table.add_column("trainer")
    table.add_column("points: seconds -> loss")
    for name, curve in (("book", book_curve), ("bard", bard_curve)):
        table.add_row(name, "  ".join(f"{t:.0f}s:{loss:.3f}" for t, loss in curve))
    Console().print(table)

    book_best = min(loss for _, loss in book_curve)
    results = {"budget_s": args.budget, "book_best_loss": book_best, "bard_best_loss": min(l for _, l in bard_curve),
               "bard_best_window_loss": bard_window_loss}
    for label, target in (("1.695", BOOK_BEST), ("book_best_this_run", book_best)):
        book_t, bard_t = first_time_at_or_below(book_curve, target), first_time_at_or_below(bard_curve, target)
        results[f"book_s_to_{label}"], results[f"bard_s_to_{label}"] = book_t, bard_t
        results[f"speedup_to_{label}"] = (book_t or args.budget) / bard_t if bard_t else None

    print(f"book recipe: best held-out loss {book_best:.4f} in {args.budget:g} s; "
          f"reached {BOOK_BEST} after {fmt(results['book_s_to_1.695'])}")
    print(f"bard:        best held-out loss {results['bard_best_loss']:.4f} "
          f"(book's 40-char-window measure: {bard_window_loss:.4f}); reached {BOOK_BEST} after {fmt(results['bard_s_to_1.695'])}")
    speedup = results["speedup_to_1.695"]
    if speedup:
        bound = "" if results["book_s_to_1.695"] else f" (at least: the book did not get there in {args.budget:g} s)"
        print(f"bard reached {BOOK_BEST} {speedup:.1f}x sooner{bound}")
    print(f"bard reached this run's book best ({book_best:.4f}) after {fmt(results['bard_s_to_book_best_this_run'])}, "
          f"{results['speedup_to_book_best_this_run'] or float('nan'):.1f}x sooner than the book")

    # How close bard's training gets to this CPU's matrix-multiply ceiling: 6 FLOPs per dense
    # parameter per character (forward 2, backward 4), at this size and at the default size.
    ceiling = book.matmul_flops_per_second()
    default = load_config(None, plays)
    for name, cfg, chars_per_s in (
        ("LSTM(128), this run", config, run.chars_per_second),
        (f"default {default.model.layers}x{default.model.hidden}", default,
         bard_steps_per_second(default, len(vocab), train_data) * default.train.batch_size * default.train.seq_len),
    ):
        flops = 6 * book.dense_parameters(CharLSTM(len(vocab), cfg.model)) * chars_per_s
        results[f"train_utilization {name}"] = flops / ceiling
        print(f"training {name}: {chars_per_s:,.0f} chars/s = {flops / 1e9:.1f} GFLOP/s, "
              f"{flops / ceiling:.0%} of torch.mm's {ceiling / 1e9:.1f} GFLOP/s (2048x2048 float32)")
    print(json.dumps({**results, **machine()}), file=sys.stderr)


def fmt(seconds: float | None) -> str:
    return f"{seconds:.1f} s" if seconds is not None else "never"


if __name__ == "__main__":
    main()
