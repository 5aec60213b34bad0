"""The `bard` command. Each subcommand parses its flags, builds the config and calls one stage;
user errors end as one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bard import __version__
from bard.config import MOODS, PERSONAS
from bard.errors import BardError, ConfigError

COMMANDS = {
    "train": "train a character model on the configured corpus",
    "eval": "held-out loss of a checkpoint on its own validation split, or on another text's",
    "generate": "sample text from a checkpoint (batched, stateful)",
    "sentiment": "train, evaluate or apply the sentiment classifier",
    "reply": "answer messages in character, one conversation (the responder every front-end uses)",
    "chat": "talk with the bard in a terminal chat (Textual)",
    "discord": "run the bard as a Discord bot (token in DISCORD_TOKEN)",
    "tune-temperature": "measure replies across temperatures and keep the best in the config",
}


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def config_flag(key_path: str):
    """An argparse type that checks a flag's value by the config's own rule for `key_path`."""
    from bard.config import checked, parse_value

    def parse(text: str):
        try:
            return checked(key_path, parse_value(text), source=key_path)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix(f"{key_path}: {key_path}: ")) from None
    parse.__name__ = key_path  # argparse names the type in its messages
    return parse


def temperature_list(text: str) -> list[float]:
    parse = config_flag("sample.temperature")
    values = [parse(part) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"expected temperatures separated by commas, e.g. 0.3,0.6,0.9; got {text!r}")
    return sorted(set(values))


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bard",
        description="bard: a Shakespearean chatbot built on a character-level LSTM.",
        epilog="Run `bard COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"bard {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="config file (default: the project's config.yaml)")
    common.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[], dest="overrides",
                        help="override one config value, e.g. --set model.hidden=64 (repeatable)")
    common.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="where to run: auto picks CUDA when available (default: auto)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = sub.add_parser("train", parents=[common], help=COMMANDS["train"], description=(
        "Train a character-level LSTM (or GRU). Every position of each sequence is a prediction "
        "target. With listen.conditioning set (config.yaml: attention), it trains the model that "
        "listens: it starts from listen.init_from and learns message -> reply pairs (the plays' own "
        "and corpora/dialogue's written exchanges) beside the plain text; with --corpus or --gutenberg "
        "it trains a plain model unless a listen.* setting is given. "
        "Writes best.pt, last.pt and metrics.jsonl to --out. Ctrl-C saves last.pt; "
        "--resume continues it exactly. Data-parallel on several processes: "
        "`torchrun --nproc_per_node=N -m bard train ...` (train.batch_size is split among them)."))
    train.add_argument("--out", metavar="DIR", default="runs/char", help="run folder (default: runs/char)")
    train.add_argument("--max-steps", type=positive_int, metavar="N", help="total optimizer steps (sets train.max_steps)")
    train.add_argument("--max-minutes", type=positive_float, metavar="M",
                       help="time budget: stop after M minutes of this invocation and save. Without --max-steps, "
                            "a new run first times a few steps and sizes train.max_steps so that warmup and the "
                            "learning-rate decay finish inside the budget, halving the batch (down to 8) first "
                            "while fewer than train.min_budget_steps steps would fit")
    train.add_argument("--seed", type=int, metavar="S", help="random seed (sets train.seed)")
    train.add_argument("--resume", action="store_true", help="continue last.pt in --out with its own settings")
    train.add_argument("--corpus", metavar="PATH", action="append", default=[],
                       help="add a text file or a folder of .txt files to the corpus (repeatable); to train on "
                            "it alone, also give --set corpus.files=[]")
    train.add_argument("--gutenberg", metavar="FILEID", action="append", default=[],
                       help="train on this NLTK gutenberg text instead of the configured corpus (the Folio), "
                            "e.g. austen-emma.txt (repeatable; --corpus texts are added to it)")

    evaluate = sub.add_parser("eval", parents=[common], help=COMMANDS["eval"], description=(
        "Held-out loss (nats/char and bits/char) of a checkpoint on the validation split recorded "
        "in it: the last fraction of each of its training texts; with --pairs, how much each file's "
        "messages tell the model about their replies. With --gutenberg or --corpus, on the "
        "same fraction of other texts instead, so that models trained on different corpora compare "
        "on the same characters (e.g. the three NLTK plays: --gutenberg shakespeare-caesar.txt "
        "--gutenberg shakespeare-hamlet.txt --gutenberg shakespeare-macbeth.txt)."))
    evaluate.add_argument("--checkpoint", metavar="PATH", help="default: checkpoints.char_model from the config")
    evaluate.add_argument("--gutenberg", metavar="FILEID", action="append", default=[],
                          help="measure on the held-out tail of this NLTK gutenberg text (repeatable)")
    evaluate.add_argument("--corpus", metavar="PATH", action="append", default=[],
                          help="measure on the held-out tail of this file or folder of .txt files (repeatable)")
    evaluate.add_argument("--pairs", metavar="TSV", action="append", default=[], type=Path,
                          help="also score replies on `message<TAB>reply` lines (repeatable): the reply loss after "
                               "its own message, after the previous line's message, and their difference, "
                               "message_information, in nats per reply character")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    generate = sub.add_parser("generate", parents=[common], help=COMMANDS["generate"], description=(
        "Sample continuations of a seed text. The seed is read once; all samples then advance "
        "together, one LSTM step per character. Several temperatures show the book's diversity demo."))
    generate.add_argument("--checkpoint", metavar="PATH", help="default: checkpoints.char_model from the config")
    generate.add_argument("--seed-text", default="", metavar="S", help="text to continue (default: a new line)")
    generate.add_argument("-n", type=positive_int, default=1, metavar="N", help="samples per temperature (default: 1)")
    generate.add_argument("--length", type=positive_int, metavar="L", help="characters per sample (default: sample.length)")
    generate.add_argument("--temperature", type=config_flag("sample.temperature"), nargs="+", metavar="T",
                          help="one or more temperatures; 0 means argmax (default: sample.temperature)")
    generate.add_argument("--top-k", type=int, metavar="K", help="sample only from the K likeliest characters (0: off)")
    generate.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling threshold in (0, 1] (1: off)")
    generate.add_argument("--seed", type=int, metavar="S", help="random seed, for reproducible samples")
    generate.add_argument("--json", action="store_true", help="print one JSON object")

    replying = argparse.ArgumentParser(add_help=False)
    replying.add_argument("--checkpoint", metavar="PATH", help="character model (default: checkpoints.char_model)")
    replying.add_argument("--sentiment-checkpoint", metavar="PATH", help="sentiment classifier (default: checkpoints.sentiment)")
    replying.add_argument("--persona", choices=list(PERSONAS), help="who answers (sets responder.persona)")
    replying.add_argument("--mood", choices=list(MOODS), help="target mood of replies (sets responder.mood)")
    replying.add_argument("--temperature", type=config_flag("sample.temperature"), metavar="T",
                          help="sampling temperature, 0 to 3 (sets sample.temperature)")
    replying.add_argument("--candidates", type=positive_int, metavar="N", help="candidates per reply at most: fewer when they would not fit "
                          "responder.budget_ms (sets responder.candidates)")
    replying.add_argument("--seed", type=int, metavar="S", help="random seed, for reproducible replies "
                          "(every reply then has all its candidates, whatever the time budget)")

    reply = sub.add_parser("reply", parents=[common, replying], help=COMMANDS["reply"], description=(
        "Answer each message in turn, within one conversation: the messages given as arguments, else "
        "one per line of --file, else one per line of standard input. Each reply is the best of many "
        "candidates, filtered for spelling and ranked by mood."))
    reply.add_argument("messages", nargs="*", metavar="MESSAGE")
    reply.add_argument("--file", metavar="F", help="read messages from F, one per line")
    reply.add_argument("--explain", action="store_true", help="also print every candidate with its scores")
    reply.add_argument("--json", action="store_true", help="print one JSON object per reply (with --explain: and its candidates)")

    chat = sub.add_parser("chat", parents=[common, replying], help=COMMANDS["chat"], description=(
        "A terminal chat with the bard. Each chat is saved as it goes in the user data folder "
        "(on Linux $XDG_DATA_HOME/bard/chats, by default ~/.local/share/bard/chats); --resume reopens the "
        "last one with its settings. In the chat: "
        "/help lists the commands, F2 shows the candidates of the last reply, Ctrl+P opens the command "
        "palette, Ctrl+Q quits."))
    chat.add_argument("--resume", action="store_true", help="reopen the last saved chat")

    bot = sub.add_parser("discord", parents=[common, replying], help=COMMANDS["discord"], description=(
        "Run the Discord bot until Ctrl+C or SIGTERM. The token comes from DISCORD_TOKEN (or the file "
        "named by discord.token_file) and is never printed. The bot answers when mentioned in a channel "
        "and in direct messages, and offers /bard, /mood, /persona, /temperature and /reset once they are "
        "registered: start it with --sync the first time."))
    bot.add_argument("--sync", action="store_true",
                     help="register the slash commands with Discord on connecting; needed once, and again after "
                          "upgrading bard (Discord asks bots not to do it at every start)")
    bot.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                     help="logging level (default: INFO)")

    tune = sub.add_parser("tune-temperature", parents=[common], help=COMMANDS["tune-temperature"], description=(
        "For each temperature, reply to held-out prompts with the responder's own seeding and filters and "
        "measure acceptance (spelling, length, repetition), distinct-2, verbatim copies of the training "
        "text (40+ characters), held-out NLL with logits / temperature, mood fit and speed. The best "
        "temperature by acceptance x distinct-2 x (1 - verbatim) is written into the config file in place "
        "(comments kept) as sample.temperature, which bard chat, bard discord and bard reply use."))
    tune.add_argument("--checkpoint", metavar="PATH", help="character model (default: checkpoints.char_model)")
    tune.add_argument("--temperatures", type=temperature_list, default=[0.3, 0.5, 0.7, 0.9, 1.1], metavar="T,T,...",
                      help="the grid (default: 0.3,0.5,0.7,0.9,1.1)")
    tune.add_argument("--prompts", default="16", metavar="N|FILE",
                      help="N speeches from the validation split (default 16), or a file of prompts, one per line")
    tune.add_argument("--samples", type=positive_int, default=64, metavar="K", help="candidates per prompt (default 64)")
    tune.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    tune.add_argument("--plot", metavar="PATH", help="PNG of the metrics against temperature (default: tune-temperature.png)")
    tune.add_argument("--json", action="store_true", help="print one JSON object")
    tune.add_argument("--dry-run", action="store_true", help="measure and report, but write nothing")

    sentiment = sub.add_parser("sentiment", help=COMMANDS["sentiment"], description=(
        "The sentiment classifier the responder ranks replies and reads the user's mood with: a word-level bidirectional LSTM "
        "trained on NLTK's sentence_polarity, lines of the plays and labelled chat messages, reading Early Modern "
        "spellings (loue, vpon) as modern ones."))
    sentiment_sub = sentiment.add_subparsers(dest="sentiment_command", metavar="SUBCOMMAND", required=True)
    s_train = sentiment_sub.add_parser("train", parents=[common], help="train the classifier", description=(
        "Train on sentence_polarity's fixed training split, play lines labelled by VADER and the training part "
        "of corpora/chat (after pretraining on movie_reviews sentences), stop early on validation accuracy "
        "(sentence_polarity's; with chat on, its mean with the chat development part's and the Folio development "
        "set's), and write sentiment.pt to --out."))
    s_train.add_argument("--out", metavar="DIR", default="runs/sentiment", help="output folder (default: runs/sentiment)")
    s_train.add_argument("--max-minutes", type=positive_float, metavar="M", help="stop training after M minutes")
    s_train.add_argument("--seed", type=int, metavar="S", help="random seed (sets sentiment.seed)")
    s_eval = sentiment_sub.add_parser("eval", parents=[common], help="accuracy on held-out test sets, beside VADER's",
                                      description=(
        "Accuracy of the classifier and of NLTK's VADER on sentence_polarity's test split, on hand-labelled "
        "lines from the plays (VADER reads them modernised) and on labelled modern chat messages, each reported "
        "under its file's name (chat parts as chat_PART)."))
    s_eval.add_argument("--checkpoint", metavar="PATH", help="default: checkpoints.sentiment from the config")
    s_eval.add_argument("--labelled", action="append", type=Path, metavar="TSV",
                        help="a labelled set: play lines (label, play, line, text) or chat messages (label, text); "
                             "repeatable; default: the source tree's test sets, benchmarks/folio_sentiment.tsv and "
                             "corpora/chat/test.tsv")
    s_eval.add_argument("--json", action="store_true", help="print one JSON object")
    s_score = sentiment_sub.add_parser("score", parents=[common], help="score texts (arguments, or lines on stdin)",
                                       description="Probability that each text is positive. With no TEXT, reads one text per line from stdin.")
    s_score.add_argument("texts", nargs="*", metavar="TEXT")
    s_score.add_argument("--checkpoint", metavar="PATH", help="default: checkpoints.sentiment from the config")
    s_score.add_argument("--json", action="store_true", help="print one JSON object per text")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        {"train": cmd_train, "eval": cmd_eval, "generate": cmd_generate, "sentiment": cmd_sentiment,
         "reply": cmd_reply, "chat": cmd_chat, "discord": cmd_discord,
         "tune-temperature": cmd_tune_temperature}[args.command](args)
    except BardError as e:
        print(f"bard {args.command}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"bard {args.command}: interrupted", file=sys.stderr)
        sys.exit(130)


def cmd_train(args) -> None:
    from bard.config import load_config
    from bard.training import resumed_config, train

    out = Path(args.out)
    overrides = list(args.overrides)
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.resume:
        if args.config or args.corpus or args.gutenberg:
            raise ConfigError("--resume continues with the run's own config; drop --config, --corpus and --gutenberg")
        config = resumed_config(out, overrides)
    else:
        config = load_config(args.config, overrides)
        if args.gutenberg:  # instead of the configured corpus, as the flag's help says
            config.corpus.gutenberg, config.corpus.files = list(args.gutenberg), []
        config.corpus.files += [str(Path(p).resolve()) for p in args.corpus]
        if (args.corpus or args.gutenberg) and config.listen.conditioning != "none" and not any(
                o.startswith("listen.") for o in overrides):
            # The listening model starts from the shipped Folio model and learns the Folio's pairs;
            # a user's own text trains a plain model, as it always has, unless they ask for more.
            config.listen.conditioning = "none"
    # A budget without a step count sizes the schedule to the budget, so that it ends decayed.
    fit_to_budget = args.max_minutes is not None and args.max_steps is None and not args.resume
    result = train(config, out, resume=args.resume, device=args.device, max_minutes=args.max_minutes,
                   fit_to_budget=fit_to_budget)
    if result.interrupted:
        sys.exit(130 if result.stopped_by_user else 0)


def load_model_for(args, overrides: list[str] = ()):
    """The config and the checkpoint a command should use: --checkpoint, else the config's."""
    from bard.checkpoint import load_checkpoint
    from bard.config import load_config
    from bard.device import resolve_device

    config = load_config(args.config, [*args.overrides, *overrides])
    path = Path(args.checkpoint) if args.checkpoint else config.resolve(config.checkpoints.char_model)
    return config, load_checkpoint(path, resolve_device(args.device))


def cmd_eval(args) -> None:
    from bard.evaluation import evaluate_checkpoint, evaluate_pairs

    _, checkpoint = load_model_for(args)
    trained_on = checkpoint.trained_with()
    report = evaluate_checkpoint(checkpoint, args.gutenberg, [Path(p).resolve() for p in args.corpus])
    texts = [*args.gutenberg, *args.corpus] or ["its own training corpus"]
    report["texts"] = texts
    if args.pairs:
        report["pairs"] = {str(path): evaluate_pairs(checkpoint, path) for path in args.pairs}
    if args.json:
        print(json.dumps(report))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"held-out loss of {checkpoint.path}", show_header=False)
    table.add_row("held-out text", f"last {trained_on.corpus.val_fraction:.0%} of {', '.join(texts)}")
    table.add_row("validation loss", f"{report['val_loss']:.4f} nats/char")
    table.add_row("bits per character", f"{report['bpc']:.4f}")
    table.add_row("validation characters", f"{report['val_chars']:,}")
    table.add_row("training step", f"{report['step']:,}")
    table.add_row("parameters", f"{report['parameters']:,}")
    for path, figures in report.get("pairs", {}).items():
        table.add_row(f"{path}: reply loss", f"{figures['reply_loss']:.4f} nats/char after its own message, "
                                             f"{figures['reply_loss_other_message']:.4f} after another")
        table.add_row(f"{path}: message information", f"{figures['message_information']:.4f} nats/char "
                                                      f"({figures['pairs']:,} pairs)")
    Console().print(table)


def cmd_generate(args) -> None:
    from bard.sampling import generate

    flags = {"top_k": args.top_k, "top_p": args.top_p}
    config, checkpoint = load_model_for(args, [f"sample.{k}={v}" for k, v in flags.items() if v is not None])
    sample = config.sample
    temperatures = args.temperature or [sample.temperature]
    length = args.length or sample.length
    seed_text = checkpoint.vocab.normalize(args.seed_text)
    results = []
    for temperature in temperatures:
        texts = generate(checkpoint.model, checkpoint.vocab, seed_text, args.n, length, temperature,
                         sample.top_k, sample.top_p, args.seed, sample.precision)
        results.append({"temperature": temperature, "texts": texts})
    if args.json:
        print(json.dumps({"checkpoint": str(checkpoint.path), "seed_text": seed_text, "samples": results}))
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    for result in results:
        console.rule(f"temperature {result['temperature']:g}")
        for text in result["texts"]:
            console.print(f"[dim]{escape(seed_text)}[/]{escape(text)}", highlight=False)
            console.print()


def cmd_sentiment(args) -> None:
    from bard.config import load_config

    overrides = list(args.overrides)
    if getattr(args, "seed", None) is not None:
        overrides.append(f"sentiment.seed={args.seed}")
    config = load_config(args.config, overrides)
    if args.sentiment_command == "train":
        from bard.sentiment import train_sentiment

        train_sentiment(config, Path(args.out), max_minutes=args.max_minutes, device=args.device)
        return
    from bard.sentiment import SentimentScorer
    from bard.device import resolve_device

    path = Path(args.checkpoint) if args.checkpoint else config.resolve(config.checkpoints.sentiment)
    scorer = SentimentScorer.load(path, resolve_device(args.device))
    if args.sentiment_command == "eval":
        from bard.sentiment import default_labelled_sets, evaluate_sentiment

        report = {"checkpoint": str(path), **evaluate_sentiment(scorer, args.labelled or default_labelled_sets())}
        if args.json:
            print(json.dumps(report))
        else:
            for name, figures in report.items():
                if name != "checkpoint":
                    print(f"{name}: accuracy {figures['accuracy']:.4f} on {figures['n']} texts "
                          f"(VADER {figures['vader_accuracy']:.4f})")
        return
    texts = args.texts or [line.rstrip("\n") for line in sys.stdin]
    for text, positive in zip(texts, scorer.score(texts)):
        label = "positive" if positive > 0.5 else "negative" if positive < 0.5 else "neutral"
        if args.json:
            print(json.dumps({"text": text, "positive": float(positive), "label": label}))
        else:
            print(f"{positive:.3f}  {label:<8}  {text}")


def load_responder(args):
    """The config and the responder with the shared flags of reply, chat and discord applied over the config."""
    from bard.config import load_config
    from bard.responder import Responder
    from bard.device import resolve_device

    flags = {"responder.persona": args.persona, "responder.mood": args.mood,
             "sample.temperature": args.temperature, "responder.candidates": args.candidates}
    config = load_config(args.config, [*args.overrides, *(f"{k}={v}" for k, v in flags.items() if v is not None)])
    return config, Responder.load(config, args.checkpoint, args.sentiment_checkpoint, resolve_device(args.device), args.seed)


def read_messages(args) -> list[str]:
    if args.messages:
        return args.messages
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as e:
            raise BardError(f"cannot read {args.file}: {e.strerror}") from None
    if sys.stdin.isatty():
        raise BardError("give messages as arguments, with --file, or on standard input")
    return sys.stdin.read().splitlines()


def cmd_reply(args) -> None:
    messages = read_messages(args)
    _, responder = load_responder(args)
    conversation = responder.new_conversation()
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    for message in messages:
        reply = responder.reply(conversation, message)
        if args.json:
            print(json.dumps(reply.to_dict(with_candidates=args.explain)), flush=True)
            continue
        if args.explain:
            console.print(candidate_table(reply))
        name = PERSONAS[reply.settings.persona][0]
        note = " [dim](fallback)[/]" if reply.fallback else ""
        console.print(f"[bold]{name}:[/] {escape(reply.text)}{note} [dim]{reply.latency_ms:.0f} ms, "
                      f"{reply.n_accepted}/{len(reply.candidates)} accepted[/]")


def candidate_table(reply):
    from rich.table import Table

    table = Table(title=f"{len(reply.candidates)} candidates, {reply.n_accepted} accepted", expand=True)
    table.add_column("seed", max_width=14)
    table.add_column("candidate", ratio=1, min_width=30)
    for column in ("spell", "pos", "mood", "overlap", "score"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("verdict", max_width=24)
    table.add_column("prototype", max_width=30)
    for i, c, verdict in reply.ranked():
        table.add_row(c.seed.strip() or "-", c.text, f"{c.spelling:.2f}", f"{c.positive:.2f}", f"{c.mood_fit:.2f}",
                      f"{c.overlap:.2f}", f"{c.score:.2f}", verdict, c.prototype or "-",
                      style="bold green" if i == reply.chosen else None)
    return table


def cmd_chat(args) -> None:
    from bard.history import ChatLog

    resumed = ChatLog.latest() if args.resume else None
    if args.resume and resumed is None:
        print("bard chat: no saved chat to resume; starting a new one", file=sys.stderr)
    print("bard chat: loading the models...", file=sys.stderr)
    _, responder = load_responder(args)
    if resumed:  # flags given with --resume change the resumed chat's settings
        flags = {"persona": args.persona, "mood": args.mood, "temperature": args.temperature,
                 "candidates": args.candidates}
        for name, value in flags.items():
            if value is not None:
                resumed.settings.change(name, str(value))
    from bard.tui import BardApp

    BardApp(responder, resumed or ChatLog.new()).run()


def cmd_discord(args) -> None:
    import asyncio

    from bard.config import load_config
    from bard.discord_bot import BardBot, read_token, serve

    token = read_token(load_config(args.config, args.overrides))
    logging.getLogger().setLevel(args.log_level)
    config, responder = load_responder(args)
    asyncio.run(serve(BardBot(responder, config, sync_commands=args.sync), token))


def cmd_tune_temperature(args) -> None:
    import os

    from rich.console import Console
    from rich.progress import Progress

    from bard.config import DEFAULT_CONFIG_PATH, load_config, set_config_value
    from bard.responder import Responder
    from bard.device import resolve_device
    from bard.tuning import Sweep, best_of, plot

    config_path = Path(args.config) if args.config else DEFAULT_CONFIG_PATH
    config = load_config(config_path, args.overrides)
    if not args.dry_run and not os.access(config_path, os.W_OK):
        raise ConfigError(f"{config_path}: the config file is not writable (use --dry-run to only measure)")
    responder = Responder.load(config, args.checkpoint, device=resolve_device(args.device), seed=args.seed)
    sweep = Sweep(responder)
    prompts = sweep.prompts(args.prompts)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("sweeping temperatures", total=len(args.temperatures) * len(prompts))
        results = sweep.over(args.temperatures, prompts, args.samples, args.seed,
                             on_temperature=lambda t: progress.update(task, description=f"temperature {t:g}"),
                             on_prompt=lambda: progress.advance(task))
    best = best_of(results)
    plot_path = Path(args.plot or "tune-temperature.png") if (args.plot or not args.dry_run) else None
    if plot_path:
        plot(results, best, plot_path)
    if not args.dry_run:
        set_config_value(config_path, "sample.temperature", best.temperature)
    if args.json:
        import dataclasses

        print(json.dumps({"best_temperature": best.temperature, "prompts": len(prompts), "samples": args.samples,
                          "config": None if args.dry_run else str(config_path),
                          "plot": str(plot_path) if plot_path else None,
                          "results": [dataclasses.asdict(r) for r in results]}))
        return
    from rich.table import Table

    table = Table(title=f"{len(prompts)} prompts x {args.samples} candidates per temperature; "
                        "score = acceptance x distinct-2 x (1 - verbatim)")
    for column in ("temp", "accept", "dist-2", "verbatim", "NLL", "mood", "cand/s", "score"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(f"{r.temperature:g}" + (" *" if r is best else ""), f"{r.acceptance:.3f}", f"{r.distinct2:.3f}",
                      f"{r.verbatim:.3f}", "inf" if r.nll is None else f"{r.nll:.3f}", f"{r.mood_fit:.3f}", f"{r.candidates_per_s:.0f}",
                      f"{r.score:.3f}", style="bold green" if r is best else None)
    out = Console()
    out.print(table)
    out.print(f"best temperature: {best.temperature:g}"
              + ("" if args.dry_run else f" (written to {config_path} as sample.temperature)")
              + (f"; plot: {plot_path}" if plot_path else ""))
