"""Sentiment: a word-level bidirectional LSTM trained on NLTK's sentence_polarity (optionally
pretrained on movie_reviews sentences), reading First Folio spellings through the Modernizer.

`SentimentScorer.load(path).score(texts)` is what the responder calls: positive probabilities for
a batch of short texts, never an exception.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from bard import __version__
from bard.checkpoint import MISMATCH, atomic_save, mismatch_error, read_checkpoint
from bard.config import Config, SentimentConfig
from bard.errors import BardError
from bard.sentiment_data import (SPLIT_SEED, TOKEN, Example, distant_play_examples, labelled_texts, movie_review_sentences,
                                 polarity_splits, tokenize, vader_compound, vader_lexicon, with_early_modern_copies)
from bard.spelling import Modernizer
from bard.wordlists import shipped

FORMAT = "bard-sentiment/1"
PAD, UNK = 0, 1


class SentimentLSTM(nn.Module):
    """Embedding (plus, with `config.lexicon`, each word's fixed VADER valence) -> bidirectional
    LSTM -> max- and mean-pooling over the words -> one logit.

    The two directions are two LSTMs over right-padded batches, the backward one reading each text
    reversed within its own length: padding then never enters a state that is pooled, and no
    packed sequences are needed (they cost 10x on CPU)."""

    def __init__(self, vocab_size: int, config: SentimentConfig):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embedding, padding_idx=PAD)
        # A prior that does not come from films: words rare in the training text still carry their
        # lexicon valence (-1 to 1), which the LSTM learns to negate and weigh in context.
        self.register_buffer("valence", torch.zeros(vocab_size) if config.lexicon else None)
        inputs = config.embedding + int(config.lexicon)
        self.forward_lstm = nn.LSTM(inputs, config.hidden, batch_first=True)
        self.backward_lstm = nn.LSTM(inputs, config.hidden, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(4 * config.hidden, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids (batch, time), right-padded; lengths (batch,) >= 1 -> positive-class logits (batch,)."""
        positions = torch.arange(ids.size(1), device=ids.device)[None]
        valid = positions < lengths[:, None]
        reversed_positions = torch.where(valid, lengths[:, None] - 1 - positions, positions)
        x = self.dropout(self.embedding(ids))
        if self.valence is not None:
            x = torch.cat([x, self.valence[ids][..., None].to(x.dtype)], -1)
        forward_out, _ = self.forward_lstm(x)
        backward_out, _ = self.backward_lstm(x.gather(1, reversed_positions[..., None].expand_as(x)))
        out = torch.cat([forward_out, backward_out], -1)  # pooling ignores word order, so no un-reversing
        mask = valid[..., None]
        max_pool = out.masked_fill(~mask, float("-inf")).amax(1)
        mean_pool = (out * mask).sum(1) / lengths[:, None]
        return self.head(self.dropout(torch.cat([max_pool, mean_pool], -1))).squeeze(-1)


class Encoder:
    """Token lists -> padded id tensors, through a fixed word vocabulary."""

    def __init__(self, words: list[str], max_tokens: int):
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self.max_tokens = max_tokens

    def batch(self, token_lists: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [[self.index.get(t, UNK) for t in tokens[: self.max_tokens]] or [UNK] for tokens in token_lists]
        width = max(map(len, rows))
        ids = torch.tensor([row + [PAD] * (width - len(row)) for row in rows])
        return ids, torch.tensor([len(row) for row in rows])


class SentimentScorer:
    """The trained classifier, loaded once: score(texts) -> positive probabilities (numpy)."""

    def __init__(self, model: SentimentLSTM, encoder: Encoder, modernizer: Modernizer, meta: dict):
        self.model = model.eval()
        self.encoder = encoder
        self.modernizer = modernizer
        self.meta = meta
        self.device = next(model.parameters()).device

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> SentimentScorer:
        data = read_checkpoint(Path(path), FORMAT, "sentiment classifier", "bard sentiment train", device)
        meta = data["meta"]
        try:
            # Checkpoints from before the Early Modern data, the lexicon and chat were trained without them.
            trained = {"early_modern": False, "play_lines": 0, "lexicon": False, "chat_repeats": 0,
                       **meta["sentiment_config"]}
            model = SentimentLSTM(len(meta["words"]), SentimentConfig(**trained))
            model.load_state_dict(data["model"])
        except MISMATCH as e:
            raise mismatch_error(Path(path), e) from None
        frequencies = dict(zip(meta["words"], meta["counts"]))
        encoder = Encoder(meta["words"], meta["sentiment_config"]["max_tokens"])
        return cls(model.to(device), encoder, Modernizer(shipped().all_words, frequencies), meta)

    def tokens(self, text: str) -> list[str]:
        return TOKEN.findall(self.modernizer.text(text))  # modernizer.text lowercases already

    @torch.inference_mode()
    def score(self, texts: list[str]) -> np.ndarray:
        """Probability that each text is positive; 0.5 for a text with no word to read."""
        token_lists = [self.tokens(t[: 40 * self.encoder.max_tokens]) for t in texts]
        readable = [i for i, tokens in enumerate(token_lists) if any(t[0].isascii() and t[0].isalnum() for t in tokens)]
        scores = np.full(len(texts), 0.5)
        if readable:
            ids, lengths = self.encoder.batch([token_lists[i] for i in readable])
            logits = self.model(ids.to(self.device), lengths.to(self.device))
            scores[readable] = torch.sigmoid(logits.float()).cpu().numpy()
        return scores


def accuracy(model: SentimentLSTM, encoder: Encoder, examples: list[Example], device) -> float:
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(examples), 512):
            chunk = examples[i : i + 512]
            ids, lengths = encoder.batch([e.tokens for e in chunk])
            predicted = model(ids.to(device), lengths.to(device)) > 0
            correct += int((predicted.cpu() == torch.tensor([e.label == 1 for e in chunk])).sum())
    model.train()
    return correct / len(examples)


# The hand-labelled sets sit in the source tree, not in the installed package: play lines (a test
# set and a development set) and modern chat messages (training, development and test parts).
SOURCE_TREE = Path(__file__).resolve().parent.parent
FOLIO_TEST_SET = SOURCE_TREE / "benchmarks" / "folio_sentiment.tsv"
FOLIO_DEV_SET = SOURCE_TREE / "benchmarks" / "folio_sentiment_dev.tsv"
CHAT_SETS = {part: SOURCE_TREE / "corpora" / "chat" / f"{part}.tsv" for part in ("train", "dev", "test")}


def default_labelled_sets() -> list[Path]:
    """The test sets `bard sentiment eval` reads by default: play lines and chat messages."""
    return [path for path in (FOLIO_TEST_SET, CHAT_SETS["test"]) if path.exists()]


def held_out_sets() -> list[Path]:
    """Every labelled set of play lines in the source tree (the test set and the development set
    that chooses between designs): training never reads near their lines."""
    return sorted(FOLIO_TEST_SET.parent.glob("folio_sentiment*.tsv"))


def set_name(path: Path) -> str:
    """How a report names a labelled set: its file's name, with its folder's for corpora/chat's parts."""
    path = Path(path)
    return f"{path.parent.name}_{path.stem}" if path.parent.name == "chat" else path.stem


def evaluate_sentiment(scorer: SentimentScorer, labelled_sets: list[Path] = ()) -> dict:
    """Accuracy of `scorer` on sentence_polarity's held-out test split and on each hand-labelled set
    (play lines or chat messages), each beside VADER's on the same texts (play lines modernised first)."""
    test = polarity_splits()["test"]
    polarity = [" ".join(e.tokens) for e in test]
    sets = {"sentence_polarity": (polarity, [e.label for e in test], polarity)}  # texts, labels, what VADER reads
    for path in labelled_sets:
        texts, labels, play_lines = labelled_texts(path)
        sets[set_name(path)] = (texts, labels, [scorer.modernizer.text(t) for t in texts] if play_lines else texts)
    report = {}
    for name, (texts, labels, vader_texts) in sets.items():
        truth = np.array(labels) == 1
        report[name] = {"accuracy": float(((scorer.score(texts) >= 0.5) == truth).mean()),
                        "vader_accuracy": float(((vader_compound(vader_texts) >= 0) == truth).mean()), "n": len(truth)}
    return report


def labelled_examples(path: Path, modernize) -> list[Example]:
    """A hand-labelled set (play lines or chat messages), read as the scorer reads a text."""
    if not path.exists():
        raise BardError(f"the labelled set {path} is missing: training reads it from a clone of the bard repository "
                        "(or set sentiment.chat_repeats: 0)")
    texts, labels, _ = labelled_texts(path)
    return [Example(tokenize(modernize(text)), label) for text, label in zip(texts, labels)]


@dataclass
class SentimentResult:
    val_accuracy: float  # the mean over the validation sets (sentence_polarity's, and chat's and the Folio's)
    test_accuracy: float
    epochs: int
    path: Path


def run_epoch(model, optimizer, encoder, examples, batch_size, generator, device, on_batch) -> float:
    order = torch.randperm(len(examples), generator=generator).tolist()
    total = 0.0
    for i in range(0, len(order), batch_size):
        chunk = [examples[j] for j in order[i : i + batch_size]]
        ids, lengths = encoder.batch([e.tokens for e in chunk])
        labels = torch.tensor([float(e.label) for e in chunk], device=device)
        loss = F.binary_cross_entropy_with_logits(model(ids.to(device), lengths.to(device)), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item() * len(chunk)
        if on_batch() is False:
            break
    return total / len(examples)


def train_sentiment(config: Config, out_dir: Path, *, max_minutes: float | None = None, device: str = "cpu",
                    console: Console | None = None) -> SentimentResult:
    from bard.device import resolve_device

    console = console or Console(stderr=True, soft_wrap=True)
    sc = config.sentiment
    device = resolve_device(device)
    splits = polarity_splits()
    pretrain = movie_review_sentences() if sc.pretrain_epochs else []
    modern_counts = Counter(t for e in splits["train"] + pretrain for t in e.tokens)
    modernizer = Modernizer(shipped().all_words, modern_counts)  # as the scorer will read texts
    plays = [example for path in config.corpus.files for example in distant_play_examples(
        config.resolve(path), modernizer.text, held_out_sets(), sc.play_threshold, sc.play_lines, sc.seed)
        ] if sc.play_lines else []
    # Some 2,300 chat messages beside some 18,000 film and play sentences: each is read `chat_repeats` times
    # an epoch. Chat pulls the model away from the plays' idiom, so the epoch is chosen on all three
    # worlds: film reviews, chat and the Folio development set.
    chat = labelled_examples(CHAT_SETS["train"], modernizer.text) if sc.chat_repeats else []
    validation = {"sentence_polarity": splits["val"]}
    if chat:
        validation["chat"] = labelled_examples(CHAT_SETS["dev"], modernizer.text)
        validation["folio"] = labelled_examples(FOLIO_DEV_SET, modernizer.text)
    train = splits["train"] + plays + chat * sc.chat_repeats
    if sc.early_modern:
        train, pretrain = with_early_modern_copies(train, sc.seed), with_early_modern_copies(pretrain, sc.seed)
    counts = Counter(t for e in train + pretrain for t in e.tokens)
    lexicon = vader_lexicon() if sc.lexicon else {}
    words = ["<pad>", "<unk>"] + [w for w, c in counts.most_common() if c >= sc.min_count or w in lexicon]
    words += sorted(w for w in lexicon.keys() - set(words) if TOKEN.fullmatch(w))
    encoder = Encoder(words, sc.max_tokens)
    torch.manual_seed(sc.seed)
    model = SentimentLSTM(len(words), sc).to(device)
    if sc.lexicon:
        model.valence.copy_(torch.tensor([lexicon.get(w, 0.0) / 4 for w in words]))
    optimizer = torch.optim.AdamW(model.parameters(), lr=sc.lr, weight_decay=sc.weight_decay)
    generator = torch.Generator().manual_seed(sc.seed)
    console.print(f"[bold]bard sentiment train[/] {sum(p.numel() for p in model.parameters()):,} parameters; "
                  f"{len(words):,} words; {len(train):,} train ({len(plays):,} play lines labelled by VADER, "
                  f"{len(chat):,} chat messages x {sc.chat_repeats}) / {len(splits['val']):,} val / "
                  f"{len(splits['test']):,} test sentences; {len(pretrain):,} movie_reviews sentences to pretrain")

    def validate() -> dict[str, float]:
        return {name: accuracy(model, encoder, examples, device) for name, examples in validation.items()}

    def mean(scores: dict[str, float]) -> float:
        return sum(scores.values()) / len(scores)

    def described(scores: dict[str, float]) -> str:
        return f"{mean(scores):.4f} (" + ", ".join(f"{name} {score:.4f}" for name, score in scores.items()) + ")"

    deadline = time.time() + max_minutes * 60 if max_minutes else math.inf
    stages = [("pretrain", pretrain)] * sc.pretrain_epochs + [("train", train)] * sc.max_epochs
    best_acc, best_scores, best_state, stale, epochs = -1.0, {}, None, 0, 0
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} batches"),
                        TimeElapsedColumn(), console=console)
    with progress:
        for stage, examples in stages:
            task = progress.add_task(f"{stage} epoch {epochs + 1}", total=math.ceil(len(examples) / sc.batch_size))

            def on_batch(task=task):
                progress.advance(task)
                return time.time() < deadline

            loss = run_epoch(model, optimizer, encoder, examples, sc.batch_size, generator, device, on_batch)
            epochs += 1
            scores = validate()
            val_acc = mean(scores)
            improved = stage == "train" and val_acc > best_acc
            progress.console.print(f"{stage} epoch {epochs}: loss {loss:.4f}, validation accuracy {described(scores)}"
                                   f"{'  *best' if improved else ''}")
            if stage == "train":
                if improved:
                    best_acc, best_scores, stale = val_acc, scores, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    stale += 1
            if time.time() >= deadline or stale >= sc.patience:
                break
    if best_state is None:  # stopped before any epoch on sentence_polarity: keep what there is
        best_state, best_scores = model.state_dict(), validate()
        best_acc = mean(best_scores)
    model.load_state_dict(best_state)
    test_acc = accuracy(model, encoder, splits["test"], device)
    path = out_dir / "sentiment.pt"
    meta = {"bard_version": __version__, "words": words, "counts": [modern_counts.get(w, 0) for w in words],
            "sentiment_config": vars(sc).copy(), "split_seed": SPLIT_SEED, "play_examples": len(plays), "chat_examples": len(chat),
            "val_accuracy": best_acc, "val_accuracies": best_scores, "test_accuracy": test_acc, "epochs": epochs}
    # Half precision on disk keeps the 4-million-weight classifier near 9 MB; it loads into float32.
    weights = {k: v.cpu().half() if v.is_floating_point() else v.cpu() for k, v in best_state.items()}
    atomic_save({"format": FORMAT, "model": weights, "meta": meta}, path)
    console.print(f"saved {path}: validation accuracy {described(best_scores)}, sentence_polarity test accuracy "
                  f"{test_acc:.4f}")
    return SentimentResult(best_acc, test_acc, epochs, path)
