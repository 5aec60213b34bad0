"""The arithmetic of sampling on this CPU: for each precision it can run (float32; bfloat16 where
the CPU multiplies it natively; int8 on x86), the shipped model's held-out loss, the speed of a
sampling step for 64 candidates, and the time to read 64 candidates back, as the responder does.

    python benchmarks/sampling_precision.py [--checkpoint PATH] [--repeats N] [--json]

On the shipped model int8 moves the held-out loss by 0.0007 nats/char (bfloat16: 0.0001), well
inside the 0.01 that would rule it out.
"""

from __future__ import annotations

import argparse
import json

import torch

from bard.checkpoint import load_checkpoint
from bard.config import load_config
from bard.corpus import load_corpus
from bard.device import bf16_is_native, int8_pays, sampling_precision
from bard.evaluation import evaluate
from bard.model import repeat_state
from bard.sampling import char_log_probs, continue_batch, for_sampling, make_generator, prime
from machine import best_seconds, machine

CANDIDATES = 64
STEPS = 96  # the responder's max_chars
CONTEXT = "\n\n   hor. my father is dead.\n\n   ham. "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: the shipped model (checkpoints.char_model)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each; the best counts")
    parser.add_argument("--val-chars", type=int, default=0, help="score only this many held-out characters (0: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    config = load_config(None)
    checkpoint = load_checkpoint(args.checkpoint or config.resolve(config.checkpoints.char_model))
    model, vocab = checkpoint.model.eval(), checkpoint.vocab
    trained_on = checkpoint.trained_with()
    val = vocab.encode(load_corpus(trained_on).val_text)
    val = val[: args.val_chars] if args.val_chars else val
    cpu = torch.device("cpu")
    precisions = ["float32"] + ["bfloat16"] * bf16_is_native(cpu) + ["int8"] * int8_pays(cpu)

    figures = {}
    for precision in precisions:
        fast = for_sampling(model, precision)
        logits, state = prime(fast, vocab, CONTEXT)
        many_logits, many_state = logits.expand(CANDIDATES, -1), repeat_state(state, CANDIDATES)
        generator = make_generator(0, cpu)
        sample = best_seconds(lambda: continue_batch(fast, many_logits, many_state, STEPS, 0.6, generator=generator),
                              args.repeats)
        texts = [vocab.decode(row) for row in continue_batch(fast, many_logits, many_state, 64, 0.6, generator=generator)[0]]
        read = best_seconds(lambda: char_log_probs(fast, vocab, texts, many_logits, many_state), args.repeats)
        loss, chars = evaluate(fast, val, trained_on.train.seq_len, cpu)
        figures[precision] = {"val_loss": loss, "step_ms": sample / STEPS * 1000, "read_back_ms": read * 1000}
    for row in figures.values():
        row["val_loss_change"] = row["val_loss"] - figures["float32"]["val_loss"]
        row["speedup_over_float32"] = figures["float32"]["step_ms"] / row["step_ms"]
    result = {"checkpoint": str(checkpoint.path), "val_chars": chars, "auto": sampling_precision("auto", cpu),
              "precisions": figures, **machine()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{checkpoint.path}: {chars:,} held-out characters; {result['cpu']} ({result['kernels']} kernels), "
          f"{result['threads']} threads; auto picks {result['auto']}")
    print(f"{'precision':>9}  {'held-out loss':>13}  {'change':>8}  {'step (64 rows)':>14}  {'speed-up':>8}  {'read 64 back':>12}")
    for precision, row in figures.items():
        print(f"{precision:>9}  {row['val_loss']:>13.4f}  {row['val_loss_change']:>+8.4f}  {row['step_ms']:>11.2f} ms  "
              f"{row['speedup_over_float32']:>7.1f}x  {row['read_back_ms']:>9.0f} ms")


if __name__ == "__main__":
    main()
