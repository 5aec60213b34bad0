"""Sampling speed on the shipped model: the book's sampler (re-read the last 40 characters for every
new one, one sample at a time) against bard's batched, stateful sampler (64 candidates x 200
characters, one LSTM step per character for the whole batch).

    python benchmarks/sampling.py [--checkpoint PATH] [--json]
"""

from __future__ import annotations

import argparse
import json

import torch

import book
from bard.checkpoint import load_checkpoint
from bard.config import load_config
from bard.sampling import for_sampling, generate
from machine import best_seconds, machine

SEED_TEXT = "ham. to be, or not to be, that is the question:\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: the shipped model (checkpoints.char_model)")
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--book-chars", type=int, default=300, help="characters the book's sampler makes")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each sampler; the best counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    config = load_config(None)
    checkpoint = load_checkpoint(args.checkpoint or config.resolve(config.checkpoints.char_model))
    model, vocab = checkpoint.model, checkpoint.vocab
    temperature = config.sample.temperature

    # The arithmetic the chat samples in, as for_sampling chooses it for this model.
    precision = getattr(for_sampling(model, config.sample.precision), "precision", "float32")

    # Best of --repeats runs for each sampler, each after a warm-up.
    def bard_rate(precision: str) -> float:
        sampling_model = for_sampling(model, precision)
        seconds = best_seconds(lambda: generate(sampling_model, vocab, SEED_TEXT, args.candidates, args.length,
                                                temperature, seed=0, precision=precision), args.repeats)
        return args.candidates * args.length / seconds

    def book_rate(precision: str) -> float:
        generator = torch.Generator().manual_seed(0)
        sampling_model = for_sampling(model, precision)
        predict = lambda ids: sampling_model(ids)[0][:, -1]  # noqa: E731
        seconds = best_seconds(lambda: book.sample_book_way(predict, vocab, SEED_TEXT, args.book_chars, temperature, generator),
                               args.repeats, warm_up=lambda: book.sample_book_way(predict, vocab, SEED_TEXT, 20, temperature, generator))
        return args.book_chars / seconds

    bard_chars_per_s, book_chars_per_s = bard_rate(precision), book_rate("float32")
    rates = {"float32": (bard_rate("float32") if precision != "float32" else bard_chars_per_s, book_chars_per_s)}
    if precision != "float32":
        rates[precision] = (bard_chars_per_s, book_rate(precision))

    # 2 FLOPs per dense parameter per generated character: one forward step.
    ceiling = book.matmul_flops_per_second()
    flops_per_char = 2 * book.dense_parameters(model)
    result = {
        "bard_chars_per_s": bard_chars_per_s,
        "book_chars_per_s": book_chars_per_s,
        "ratio": bard_chars_per_s / book_chars_per_s,
        "bard_precision": precision,
        "same_precision": {p: {"bard_chars_per_s": b, "book_chars_per_s": k, "ratio": b / k,
                               "utilization": flops_per_char * b / ceiling} for p, (b, k) in rates.items()},
        "matmul_gflops": ceiling / 1e9,
        "checkpoint": str(checkpoint.path),
        **machine(),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"model: {checkpoint.path} ({model.num_parameters():,} parameters), {torch.get_num_threads()} threads")
    print(f"book sampler (40-char window re-read, batch 1, float32 as in the book): {book_chars_per_s:,.0f} chars/s")
    print(f"bard sampler ({args.candidates} x {args.length}, stateful, batched, {precision}): {bard_chars_per_s:,.0f} chars/s")
    print(f"ratio: {result['ratio']:.0f}x")
    for p, row in result["same_precision"].items():
        print(f"both in {p}: bard {row['bard_chars_per_s']:,.0f} / book {row['book_chars_per_s']:,.0f} chars/s = "
              f"{row['ratio']:.0f}x; bard at {flops_per_char * row['bard_chars_per_s'] / 1e9:.1f} GFLOP/s = "
              f"{row['utilization']:.0%} of torch.mm's {ceiling / 1e9:.1f} GFLOP/s (2048x2048 float32)")


if __name__ == "__main__":
    main()
