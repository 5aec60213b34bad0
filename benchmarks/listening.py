"""Does the model listen? Three measures, on any character model (plain or listening):

- message information (`bard eval --pairs`): the reply loss after another pair's message less the
  reply loss after its own, in nats per reply character, on each pairs file given;
- the same, on the held-out speech pairs of the model's own corpus (--folio: each play's held-out tail,
  the speech and the answer to it, as the model trains on them);
- the same first characters: with the same random draws, how often the model begins its speech
  alike after unrelated messages (the responder's framing and temperature, a fresh conversation):
  every message's samples are compared with the first message's, sample by sample.

    python benchmarks/listening.py [--checkpoint PATH] [--pairs TSV ...] [--folio] [--samples 16] [--chars 40] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from bard.checkpoint import load_checkpoint
from bard.config import PERSONAS, load_config
from bard.errors import BardError
from bard.evaluation import evaluate_pairs, message_information
from bard.listener import hearing
from bard.model import repeat_state
from bard.pairs import PairSet, encode_message, folio_pairs, model_text, speech
from bard.sampling import continue_batch, for_sampling, make_generator, prime
from machine import machine

# Unrelated modern messages, none of them from a rated prompt set or the written exchanges.
MESSAGES = (
    "my father is dead.",
    "my sister is getting married in june.",
    "what should i cook for dinner tonight?",
    "i just failed my driving test for the third time",
    "can you recommend a good book about the sea?",
    "our cat had four kittens this morning!",
    "the trains are on strike again and i'm stuck at the station",
    "i think i'm in love with my best friend",
)


def same_openings(model, vocab, config, trained_on, samples: int, chars: int, seed: int) -> dict:
    """Share of (message, sample) pairs whose first `chars` characters equal the first message's."""
    text = model_text(trained_on, vocab)
    _, bard_tag, user_tag = PERSONAS[config.responder.persona]
    openings = []
    for message in MESSAGES:
        state = hearing(model, None, encode_message(message, vocab, text, trained_on.listen.max_message_chars))
        logits, state = prime(model, vocab, speech(user_tag, text(message)) + speech(bard_tag, ""), state)
        ids, _ = continue_batch(model, logits.expand(samples, -1), repeat_state(state, samples), chars,
                                config.sample.temperature, generator=make_generator(seed, logits.device))
        openings.append([vocab.decode(row) for row in ids.cpu()])
    same = sum(other[i] == openings[0][i] for other in openings[1:] for i in range(samples))
    total = (len(MESSAGES) - 1) * samples
    return {"messages": len(MESSAGES), "samples": samples, "chars": chars, "same": same, "compared": total,
            "share": same / total, "first_message_openings": openings[0][:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: checkpoints.char_model from config.yaml")
    parser.add_argument("--pairs", action="append", default=[], type=Path, metavar="TSV",
                        help="pairs file to measure message information on (repeatable)")
    parser.add_argument("--folio", action="store_true", help="also measure on the corpus's held-out speech pairs")
    parser.add_argument("--samples", type=int, default=16, help="samples per message (default 16)")
    parser.add_argument("--chars", type=int, default=40, help="characters compared (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.samples < 1 or args.chars < 1:
        parser.error("--samples and --chars must be at least 1")
    try:
        report(args)
    except BardError as e:
        raise SystemExit(f"listening.py: error: {e}") from None


def report(args) -> None:
    config = load_config(None)
    checkpoint = load_checkpoint(args.checkpoint or config.resolve(config.checkpoints.char_model))
    trained_on = checkpoint.trained_with()
    model = for_sampling(checkpoint.model, config.sample.precision)
    with torch.inference_mode():
        openings = same_openings(model, checkpoint.vocab, config, trained_on, args.samples, args.chars, args.seed)
    pairs = {str(p): evaluate_pairs(checkpoint, p) for p in args.pairs}
    if args.folio:
        held_out = PairSet(folio_pairs(trained_on)[1], checkpoint.vocab, model_text(trained_on, checkpoint.vocab),
                           trained_on.listen.max_message_chars, trained_on.listen.max_reply_chars)
        device = next(checkpoint.model.parameters()).device
        pairs["folio held-out"] = message_information(checkpoint.model, held_out, device)
    figures = {"checkpoint": str(checkpoint.path), "same_openings": openings, "pairs": pairs, **machine()}
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{checkpoint.path}: {figures['cpu']}, torch {figures['torch']}")
    print(f"same first {args.chars} characters after unrelated messages: {openings['same']} of "
          f"{openings['compared']} samples ({openings['share']:.0%})")
    for path, measured in pairs.items():
        print(f"{path}: reply loss {measured['reply_loss']:.4f} after its own message, "
              f"{measured['reply_loss_other_message']:.4f} after another; "
              f"message information {measured['message_information']:.4f} nats/char ({measured['pairs']} pairs)")


if __name__ == "__main__":
    main()
