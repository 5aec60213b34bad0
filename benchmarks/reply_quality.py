"""Blind ratings of bard's replies against two baselines.

    python benchmarks/reply_quality.py sheet [--prompts FILE] [--out DIR] [--seed S] [--set SECTION.KEY=VALUE]
                                             [--before SECTION.KEY=VALUE]
    python benchmarks/reply_quality.py score DIR/sheet.tsv DIR/key.json [--json]

`sheet` answers every prompt (benchmarks/quality_prompts.txt: greetings, questions, feelings,
modern topics, quotations, nonsense), each in a fresh conversation, three ways:
- bard: the responder with the shipped models and the default config (or a design under test,
  given with --set, as `bard` takes it);
- book: the book's way, the same character model seeded with the user's words, one sample at
  temperature 0.5, cut at the first sentence end;
- quote: the real speech of the training plays that best matches the message's words (tf-idf over
  modernised spellings, scikit-learn);
- before (only with --before): the responder under other overrides, e.g. `--before
  responder.prototypes=0` for the design without prototypes, rated on the same sheet.
It writes DIR/sheet.tsv, the replies of each prompt shuffled under the letters A, B, C (D) with
empty rating columns, and DIR/key.json, which says which letter is which system (keep it from the
raters). Raters fill in fluency, relevance, specific and character (1-5) and rank (1 = best)
following benchmarks/rating_brief.md.

`score` joins a filled-in sheet with its key and prints, per system, the mean of each rating, the
share of replies rated 4 or 5 for fluency, how often bard is ranked above each other system, and
counts that need no rater (`counts`): echo stubs ("Rain? ..."), replies that use a content word of
the message or an Early Modern neighbour of one beyond such a stub, stock replies (a sentence that
ends replies to 3 or more prompts of the sheet) and replies grown from a prototype.
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
from bard.neighbours import shipped as shipped_neighbours
from bard.responder import NEXT_SPEAKER, SPEECH_END, Responder, clean_message, cut_speech
from bard.sampling import generate

HERE = Path(__file__).resolve().parent
PROMPTS = HERE / "quality_prompts.txt"
SYSTEMS = ("bard", "book", "quote")
RATINGS = ("fluency", "relevance", "specific", "character")
COLUMNS = ("id", "prompt", "option", "reply", *RATINGS, "rank")
# A reply that opens by taking up one word of the message as a question.
ECHO_STUB = re.compile(r"^\s*([A-Za-z']+)\?\s*")
STOCK_PROMPTS = 3
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


def load_responder(overrides: list[str], seed: int) -> Responder:
    try:
        return Responder.load(load_config(None, overrides), seed=seed)
    except ConfigError as e:
        raise SystemExit(f"reply_quality.py: error: {e}") from None


def reply_record(reply) -> dict:
    chosen = reply.candidates[reply.chosen] if reply.chosen is not None else None
    return {"fallback": reply.fallback, "latency_ms": reply.latency_ms, "text": reply.text,
            "seed": chosen.seed if chosen else None, "prototype": chosen.prototype if chosen else None}


def write_sheet(args) -> None:
    prompts = [p for p in Path(args.prompts).read_text(encoding="utf-8").splitlines() if p.strip()]
    responder = load_responder(args.set, args.seed)
    before = load_responder(args.before, args.seed) if args.before else None
    quoter = Quoter(responder)
    shuffle = random.Random(args.seed)
    rows, key, stats = [], {}, {"bard": [], "before": []}
    for i, prompt in enumerate(prompts, start=1):
        reply = responder.reply(responder.new_conversation(), prompt, seed=args.seed + i)
        stats["bard"].append(reply_record(reply))
        answers = {"bard": reply.text, "book": book_reply(responder, prompt, args.seed + i), "quote": quoter.reply(prompt)}
        if before:
            earlier = before.reply(before.new_conversation(), prompt, seed=args.seed + i)
            stats["before"].append(reply_record(earlier))
            answers["before"] = earlier.text
        systems = list(answers)
        shuffle.shuffle(systems)
        for letter, system in zip("ABCD", systems):
            rows.append({"id": i, "prompt": prompt, "option": letter, "reply": answers[system]})
            key[f"{i}{letter}"] = system
        print(f"{i:3d}. {prompt}\n" + "".join(f"     {system + ':':7} {answers[system]}\n" for system in answers), end="")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "sheet.tsv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    record = {"systems": key, "bard": stats["bard"], "seed": args.seed, "set": args.set,
              "prompts": prompts, "neighbours": {p: sorted(responder_topic(responder, p)) for p in prompts}}
    if before:
        record.update(before=stats["before"], before_set=args.before)
    (out / "key.json").write_text(json.dumps(record, indent=1))
    print(f"wrote {out / 'sheet.tsv'} ({len(prompts)} prompts x {len(answers)} replies) and {out / 'key.json'} "
          "(keep it from the raters)")


def responder_topic(responder: Responder, message: str) -> set[str]:
    """The message's content words and their Early Modern neighbours, in modern spelling."""
    words = responder.lexicon.content_words(clean_message(message, 300))
    return words | {near for word in words for near in shipped_neighbours().get(word, ())}


def counts(records: list[dict], prompts: list[str], topics: dict[str, list[str]], modernize) -> dict:
    """What needs no rater: echo stubs, replies using the message's words (or neighbours) beyond a
    stub, stock replies and replies grown from a prototype, each as a share of the replies."""
    def sentences(text: str) -> list[str]:
        return [" ".join(s.lower().split()) for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]

    prompts_ending = {}
    for prompt, record in zip(prompts, records):
        for sentence in set(sentences(record["text"])):
            prompts_ending.setdefault(sentence, set()).add(prompt)
    stock = {s for s, said in prompts_ending.items() if len(said) >= STOCK_PROMPTS}
    echo = uses = stocked = grown = 0
    for prompt, record in zip(prompts, records):
        text = record["text"]
        stub = ECHO_STUB.match(text)
        topic = set(topics[prompt])
        echo += bool(stub and modernize(stub.group(1).lower()) in topic)
        rest = text[stub.end():] if stub else text
        uses += bool(topic & {modernize(w) for w in re.findall(r"[a-z']+", rest.lower())})
        stocked += any(s in stock for s in sentences(text))
        grown += bool(record.get("prototype"))
    n = max(len(records), 1)
    return {"echo_stubs": echo / n, "uses_message_word": uses / n, "stock": stocked / n, "from_prototype": grown / n}


def read_ratings(sheet: Path) -> tuple[list[dict], tuple[str, ...]]:
    """The rows of a filled-in sheet and the ratings it has (sheets before `specific` lack it)."""
    with open(sheet, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    rated = tuple(name for name in RATINGS if rows and name in rows[0])
    for row in rows:
        for name in (*rated, "rank"):
            try:
                row[name] = int(row[name])
            except (TypeError, ValueError):
                raise SystemExit(f"{sheet}: prompt {row['id']} option {row['option']} has no {name} rating") from None
    return rows, rated


def score(args) -> None:
    key = json.loads(Path(args.key).read_text())
    rows, rated = read_ratings(Path(args.sheet))
    for row in rows:
        row["system"] = key["systems"][f"{row['id']}{row['option']}"]
    systems = [s for s in ("bard", "before", "book", "quote") if any(r["system"] == s for r in rows)]
    report = {}
    for system in systems:
        mine = [r for r in rows if r["system"] == system]
        report[system] = {name: float(np.mean([r[name] for r in mine])) for name in rated}
        report[system]["fluency_4_or_5"] = float(np.mean([r["fluency"] >= 4 for r in mine]))
        report[system]["mean_rank"] = float(np.mean([r["rank"] for r in mine]))
    ranks = {(r["id"], r["system"]): r["rank"] for r in rows}
    prompts = sorted({r["id"] for r in rows})
    for other in systems[1:]:
        report[f"bard_above_{other}"] = float(np.mean([ranks[p, "bard"] < ranks[p, other] for p in prompts]))
    report["bard_fallback"] = float(np.mean([s["fallback"] for s in key["bard"]]))
    report["prompts"] = len(prompts)
    if "neighbours" in key:  # keys written before the counts were added lack the message topics
        from bard.sentiment import SentimentScorer

        config = load_config(None, [])
        modernize = SentimentScorer.load(config.resolve(config.checkpoints.sentiment)).modernizer.word
        for system in ("bard", "before"):
            if system in key:
                report[system]["counts"] = counts(key[system], key["prompts"], key["neighbours"], modernize)
    if args.json:
        print(json.dumps(report))
        return
    print(f"{len(prompts)} prompts, ratings 1-5 (rank 1 = best of {len(systems)})")
    print(f"{'system':8} {'fluency':>8} {'flu>=4':>7} " + " ".join(f"{name:>9}" for name in rated[1:]) + f" {'rank':>5}")
    for system in systems:
        r = report[system]
        print(f"{system:8} {r['fluency']:8.2f} {r['fluency_4_or_5']:7.0%} " + " ".join(f"{r[name]:9.2f}" for name in rated[1:])
              + f" {r['mean_rank']:5.2f}")
    print("bard ranked above " + ", ".join(f"{other} on {report[f'bard_above_{other}']:.0%}" for other in systems[1:])
          + f" of prompts; bard fell back on {report['bard_fallback']:.0%}")
    for system in ("bard", "before"):
        if "counts" in report.get(system, {}):
            c = report[system]["counts"]
            print(f"{system}: echo stubs {c['echo_stubs']:.0%}, uses a message word or neighbour beyond a stub "
                  f"{c['uses_message_word']:.0%}, stock {c['stock']:.0%}, grown from a prototype {c['from_prototype']:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("sheet", help="write a blind rating sheet and its key")
    make.add_argument("--prompts", default=str(PROMPTS), help="one prompt per line (default: benchmarks/quality_prompts.txt)")
    make.add_argument("--out", default="runs/ratings", help="folder for sheet.tsv and key.json (default: runs/ratings)")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                      help="a config override for bard's replies, e.g. responder.candidates=128 (repeatable)")
    make.add_argument("--before", action="append", default=[], metavar="SECTION.KEY=VALUE",
                      help="rate a second design on the same sheet: bard under these overrides, "
                           "e.g. responder.prototypes=0 (repeatable)")
    rate = sub.add_parser("score", help="score a filled-in sheet with its key")
    rate.add_argument("sheet")
    rate.add_argument("key")
    rate.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    write_sheet(args) if args.command == "sheet" else score(args)


if __name__ == "__main__":
    main()
