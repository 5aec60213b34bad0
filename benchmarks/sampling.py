"""Sampling speed on the shipped model: the book's sampler (re-read the last 40 characters for every
new one, one sample at a time) against bard's batched, stateful sampler (64 candidates x 200
characters, one LSTM step per character for the whole batch).

    python benchmarks/sampling.py [--checkpoint PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import book
from bard.checkpoint import load_checkpoint
from bard.config import load_config
from bard.sampling import generate

SEED_TEXT = "ham. to be, or not to be, that is the question:\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: the shipped model (checkpoints.char_model)")
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--book-chars", type=int, default=300, help="characters the book's sampler makes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    config = load_config(None)
    checkpoint = load_checkpoint(args.checkpoint or config.resolve(config.checkpoints.char_model))
    model, vocab = checkpoint.model, checkpoint.vocab
    temperature = config.sample.temperature

    generate(model, vocab, SEED_TEXT, args.candidates, 20, temperature, seed=0)  # warm up
    started = time.perf_counter()
    generate(model, vocab, SEED_TEXT, args.candidates, args.length, temperature, seed=0)
    bard_chars_per_s = args.candidates * args.length / (time.perf_counter() - started)

    generator = torch.Generator().manual_seed(0)
    predict = lambda ids: model(ids)[0][:, -1]  # noqa: E731
    book.sample_book_way(predict, vocab, SEED_TEXT, 20, temperature, generator)
    started = time.perf_counter()
    book.sample_book_way(predict, vocab, SEED_TEXT, args.book_chars, temperature, generator)
    book_chars_per_s = args.book_chars / (time.perf_counter() - started)

    # 2 FLOPs per dense parameter per generated character: one forward step.
    ceiling = book.matmul_flops_per_second()
    flops = 2 * book.dense_parameters(model) * bard_chars_per_s
    result = {
        "bard_chars_per_s": bard_chars_per_s,
        "book_chars_per_s": book_chars_per_s,
        "ratio": bard_chars_per_s / book_chars_per_s,
        "bard_gflops": flops / 1e9,
        "matmul_gflops": ceiling / 1e9,
        "utilization": flops / ceiling,
        "checkpoint": str(checkpoint.path),
        "threads": torch.get_num_threads(),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"model: {checkpoint.path} ({model.num_parameters():,} parameters)")
    print(f"book sampler (40-char window re-read, batch 1): {book_chars_per_s:,.0f} chars/s")
    print(f"bard sampler ({args.candidates} x {args.length}, stateful, batched): {bard_chars_per_s:,.0f} chars/s")
    print(f"ratio: {result['ratio']:.0f}x")
    print(f"bard sampling: {result['bard_gflops']:.1f} GFLOP/s, {result['utilization']:.0%} of torch.mm's "
          f"{result['matmul_gflops']:.1f} GFLOP/s (2048x2048 float32)")


if __name__ == "__main__":
    main()
