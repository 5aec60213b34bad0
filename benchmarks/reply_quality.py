"""Blind ratings of bard's replies against two baselines.

    python benchmarks/reply_quality.py sheet [--prompts FILE] [--out DIR] [--seed S] [--set SECTION.KEY=VALUE]
    python benchmarks/reply_quality.py score DIR/sheet.tsv DIR/key.json [--json]

`sheet` answers every prompt (benchmarks/quality_prompts.txt: greetings, questions, feelings,
modern topics, quotations, nonsense), each in a fresh conversation, three ways:
- bard: the responder with the shipped models and the default config (or a design under test,
  given with --set, as `bard` takes it);
- book: the book's way, the same character model seeded with the user's words, one sample at
  temperature 0.5, cut at the first sentence end;
- quote: the real speech of the training plays that best matches the message's words (tf-idf over
  modernised spellings, scikit-learn).
It writes DIR/sheet.tsv, the three replies of each prompt shuffled under the letters A, B, C with
empty rating columns, and DIR/key.json, which says which letter is which system (keep it from the
raters). Raters fill in fluency, relevance and character (1-5) and rank (1 = best of the three)
following benchmarks/rating_brief.md.

`score` joins a filled-in sheet with its key and prints, per system, the mean of each rating, the
share of replies rated 4 or 5 for fluency, and how often bard is ranked above each baseline.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

import numpy as np

from bard.config import load_config
from bard.corpus import load_corpus
from bard.errors import ConfigError
from bard.responder import NEXT_SPEAKER, SPEECH_END, Responder, clean_message, cut_speech
from bard.sampling import generate

HERE = Path(__file__).resolve().parent
PROMPTS = HERE / "quality_prompts.txt"
SYSTEMS = ("bard", "book", "quote")
RATINGS = ("fluency", "relevance", "character")
COLUMNS = ("id", "prompt", "option", "reply", *RATINGS, "rank")
SPEECH = re.compile(r"\n\n[ \t]+\S+\.[ \t]+(.+?)(?=\n\n|\Z)", re.DOTALL)


def book_reply(responder: Responder, message: str, seed: int) -> str:
    """The book's sampler: the user's words as the seed, one sample at 0.5, cut at the first
    sentence end (or where the speech ends, if sooner: a speaker tag's full stop is no sentence end)."""
    seed_text = responder.to_model_text(clean_message(message, 300)).strip() + " "
    sample = generate(responder.model, responder.vocab, seed_text, 1, 200, 0.5, seed=seed)[0]
    speech = NEXT_SPEAKER.split(sample.partition(SPEECH_END)[0])[0]
    first = re.search(r"^.*?[.!?]", " ".join(speech.split()))
    return responder.display((first.group() if first else " ".join(speech.split())).strip()) or "..."


class Quoter:
    """The corpus speech most similar to a message by tf-idf over modern spellings."""

    def __init__(self, responder: Responder):
        from sklearn.feature_extraction.text import TfidfVectorizer

        text = load_corpus(responder.trained_on).train_text
        speeches = [cut_speech(m.group(1)) for m in SPEECH.finditer(text)]
        self.speeches = [s for s in speeches if s and 4 <= len(s.split()) <= 40]
        self.modernize = responder.lexicon.modernizer.text
        self.responder = responder
        self.vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform([self.modernize(s) for s in self.speeches])

    def reply(self, message: str) -> str:
        similarity = (self.matrix @ self.vectorizer.transform([self.modernize(message)]).T).toarray().ravel()
        return self.responder.display(self.speeches[int(similarity.argmax())])


def write_sheet(args) -> None:
    prompts = [p for p in Path(args.prompts).read_text(encoding="utf-8").splitlines() if p.strip()]
    try:
        config = load_config(None, args.set)
    except ConfigError as e:
        raise SystemExit(f"reply_quality.py: error: {e}") from None
    responder = Responder.load(config, seed=args.seed)
    quoter = Quoter(responder)
    shuffle = random.Random(args.seed)
    rows, key, bard_stats = [], {}, []
    for i, prompt in enumerate(prompts, start=1):
        reply = responder.reply(responder.new_conversation(), prompt, seed=args.seed + i)
        bard_stats.append({"fallback": reply.fallback, "latency_ms": reply.latency_ms, "text": reply.text})
        answers = {"bard": reply.text, "book": book_reply(responder, prompt, args.seed + i), "quote": quoter.reply(prompt)}
        systems = list(SYSTEMS)
        shuffle.shuffle(systems)
        for letter, system in zip("ABC", systems):
            rows.append({"id": i, "prompt": prompt, "option": letter, "reply": answers[system]})
            key[f"{i}{letter}"] = system
        print(f"{i:3d}. {prompt}\n     bard:  {answers['bard']}\n     book:  {answers['book']}\n     quote: {answers['quote']}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "sheet.tsv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    (out / "key.json").write_text(json.dumps({"systems": key, "bard": bard_stats, "seed": args.seed, "set": args.set}, indent=1))
    print(f"wrote {out / 'sheet.tsv'} ({len(prompts)} prompts x 3 replies) and {out / 'key.json'} (keep it from the raters)")


def read_ratings(sheet: Path) -> list[dict]:
    with open(sheet, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        for name in (*RATINGS, "rank"):
            try:
                row[name] = int(row[name])
            except (TypeError, ValueError):
                raise SystemExit(f"{sheet}: prompt {row['id']} option {row['option']} has no {name} rating") from None
    return rows


def score(args) -> None:
    key = json.loads(Path(args.key).read_text())
    rows = read_ratings(Path(args.sheet))
    for row in rows:
        row["system"] = key["systems"][f"{row['id']}{row['option']}"]
    report = {}
    for system in SYSTEMS:
        mine = [r for r in rows if r["system"] == system]
        report[system] = {name: float(np.mean([r[name] for r in mine])) for name in RATINGS}
        report[system]["fluency_4_or_5"] = float(np.mean([r["fluency"] >= 4 for r in mine]))
        report[system]["mean_rank"] = float(np.mean([r["rank"] for r in mine]))
    ranks = {(r["id"], r["system"]): r["rank"] for r in rows}
    prompts = sorted({r["id"] for r in rows})
    for baseline in ("book", "quote"):
        report[f"bard_above_{baseline}"] = float(np.mean([ranks[p, "bard"] < ranks[p, baseline] for p in prompts]))
    report["bard_fallback"] = float(np.mean([s["fallback"] for s in key["bard"]]))
    report["prompts"] = len(prompts)
    if args.json:
        print(json.dumps(report))
        return
    print(f"{len(prompts)} prompts, ratings 1-5 (rank 1 = best of three)")
    print(f"{'system':8} {'fluency':>8} {'flu>=4':>7} {'relevance':>9} {'character':>9} {'rank':>5}")
    for system in SYSTEMS:
        r = report[system]
        print(f"{system:8} {r['fluency']:8.2f} {r['fluency_4_or_5']:7.0%} {r['relevance']:9.2f} {r['character']:9.2f} "
              f"{r['mean_rank']:5.2f}")
    print(f"bard ranked above the book's way on {report['bard_above_book']:.0%} of prompts, above quoting on "
          f"{report['bard_above_quote']:.0%}; bard fell back on {report['bard_fallback']:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("sheet", help="write a blind rating sheet and its key")
    make.add_argument("--prompts", default=str(PROMPTS), help="one prompt per line (default: benchmarks/quality_prompts.txt)")
    make.add_argument("--out", default="runs/ratings", help="folder for sheet.tsv and key.json (default: runs/ratings)")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                      help="a config override for bard's replies, e.g. responder.candidates=128 (repeatable)")
    rate = sub.add_parser("score", help="score a filled-in sheet with its key")
    rate.add_argument("sheet")
    rate.add_argument("key")
    rate.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    write_sheet(args) if args.command == "sheet" else score(args)


if __name__ == "__main__":
    main()
