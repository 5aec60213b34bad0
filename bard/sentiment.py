"""Sentiment: a word-level bidirectional LSTM trained on NLTK's sentence_polarity (optionally
pretrained on movie_reviews sentences), reading First Folio spellings through the Modernizer.

`SentimentScorer.load(path).score(texts)` is what the responder calls: positive probabilities for
a batch of short texts, never an exception.
"""

from __future__ import annotations

import math
import re
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
from bard.corpus import ensure_nltk_data, nltk_corpus
from bard.spelling import Modernizer
from bard.wordlists import shipped

FORMAT = "bard-sentiment/1"
PAD, UNK = 0, 1
# Words (with inner apostrophes and hyphens, as sentence_polarity writes "he's", "co-writer") and
# single punctuation marks.
TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[^\sa-z0-9]")
SPLIT_SEED = 2005  # the year Pang & Lee published the data; fixes the train/val/test split


@dataclass
class Example:
    tokens: list[str]
    label: int  # 1 positive, 0 negative


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def polarity_splits() -> dict[str, list[Example]]:
    """sentence_polarity shuffled with a fixed seed: 80% train, 10% validation, 10% test."""
    reader = nltk_corpus("sentence_polarity")
    examples = [Example([t.lower() for t in sent], label)
                for label, category in ((1, "pos"), (0, "neg")) for sent in reader.sents(categories=category)]
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(SPLIT_SEED)).tolist()
    shuffled = [examples[i] for i in order]
    tenth = len(shuffled) // 10
    return {"test": shuffled[:tenth], "val": shuffled[tenth : 2 * tenth], "train": shuffled[2 * tenth :]}


def movie_review_sentences() -> list[Example]:
    """Every sentence of NLTK's movie_reviews, labelled with its review's label (noisy, but the
    same domain as sentence_polarity and six times its size)."""
    reader = nltk_corpus("movie_reviews")
    return [Example(tokenize(" ".join(sent)), label)
            for label, category in ((1, "pos"), (0, "neg"))
            for fileid in reader.fileids(category) for sent in reader.sents(fileid)]


class SentimentLSTM(nn.Module):
    """Embedding -> bidirectional LSTM -> max- and mean-pooling over the words -> one logit.

    The two directions are two LSTMs over right-padded batches, the backward one reading each text
    reversed within its own length: padding then never enters a state that is pooled, and no
    packed sequences are needed (they cost 10x on CPU)."""

    def __init__(self, vocab_size: int, config: SentimentConfig):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embedding, padding_idx=PAD)
        self.forward_lstm = nn.LSTM(config.embedding, config.hidden, batch_first=True)
        self.backward_lstm = nn.LSTM(config.embedding, config.hidden, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(4 * config.hidden, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids (batch, time), right-padded; lengths (batch,) >= 1 -> positive-class logits (batch,)."""
        positions = torch.arange(ids.size(1), device=ids.device)[None]
        valid = positions < lengths[:, None]
        reversed_positions = torch.where(valid, lengths[:, None] - 1 - positions, positions)
        x = self.dropout(self.embedding(ids))
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
            model = SentimentLSTM(len(meta["words"]), SentimentConfig(**meta["sentiment_config"]))
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


def evaluate_sentiment(scorer: SentimentScorer) -> dict:
    """Accuracy of `scorer` on sentence_polarity's held-out test split, beside VADER's."""
    test = polarity_splits()["test"]
    labels = np.array([e.label for e in test])
    predicted = scorer.score([" ".join(e.tokens) for e in test]) >= 0.5
    return {"accuracy": float((predicted == labels).mean()), "vader_accuracy": vader_accuracy(test), "n_test": len(test)}


def vader_accuracy(examples: list[Example]) -> float:
    """NLTK's VADER lexicon rules on the same examples (compound >= 0 counts as positive)."""
    from nltk.sentiment.vader import SentimentIntensityAnalyzer

    ensure_nltk_data("vader_lexicon", "sentiment/vader_lexicon")
    analyzer = SentimentIntensityAnalyzer()
    right = sum((analyzer.polarity_scores(" ".join(e.tokens))["compound"] >= 0) == (e.label == 1) for e in examples)
    return right / len(examples)


@dataclass
class SentimentResult:
    val_accuracy: float
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
    counts = Counter(t for e in splits["train"] + pretrain for t in e.tokens)
    words = ["<pad>", "<unk>"] + [w for w, c in counts.most_common() if c >= sc.min_count]
    encoder = Encoder(words, sc.max_tokens)
    torch.manual_seed(sc.seed)
    model = SentimentLSTM(len(words), sc).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=sc.lr, weight_decay=sc.weight_decay)
    generator = torch.Generator().manual_seed(sc.seed)
    console.print(f"[bold]bard sentiment train[/] {sum(p.numel() for p in model.parameters()):,} parameters; "
                  f"{len(words):,} words; {len(splits['train']):,} train / {len(splits['val']):,} val / "
                  f"{len(splits['test']):,} test sentences; {len(pretrain):,} movie_reviews sentences to pretrain")

    deadline = time.time() + max_minutes * 60 if max_minutes else math.inf
    stages = [("pretrain", pretrain)] * sc.pretrain_epochs + [("train", splits["train"])] * sc.max_epochs
    best_acc, best_state, stale, epochs = -1.0, None, 0, 0
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
            val_acc = accuracy(model, encoder, splits["val"], device)
            improved = stage == "train" and val_acc > best_acc
            progress.console.print(f"{stage} epoch {epochs}: loss {loss:.4f}, validation accuracy {val_acc:.4f}"
                                   f"{'  *best' if improved else ''}")
            if stage == "train":
                if improved:
                    best_acc, stale = val_acc, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    stale += 1
            if time.time() >= deadline or stale >= sc.patience:
                break
    if best_state is None:  # stopped before any epoch on sentence_polarity: keep what there is
        best_state, best_acc = model.state_dict(), accuracy(model, encoder, splits["val"], device)
    model.load_state_dict(best_state)
    test_acc = accuracy(model, encoder, splits["test"], device)
    path = out_dir / "sentiment.pt"
    meta = {"bard_version": __version__, "words": words, "counts": [counts.get(w, 0) for w in words],
            "sentiment_config": vars(sc).copy(), "split_seed": SPLIT_SEED, "val_accuracy": best_acc,
            "test_accuracy": test_acc, "epochs": epochs}
    atomic_save({"format": FORMAT, "model": {k: v.cpu() for k, v in best_state.items()}, "meta": meta}, path)
    console.print(f"saved {path}: validation accuracy {best_acc:.4f}, test accuracy {test_acc:.4f}")
    return SentimentResult(best_acc, test_acc, epochs, path)
