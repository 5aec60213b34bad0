import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bard.config import load_config
from bard.errors import CheckpointError
from bard.sentiment import SentimentScorer, polarity_splits, tokenize, train_sentiment

PAIRS = Path(__file__).resolve().parent.parent / "benchmarks" / "folio_pairs.tsv"
TINY = ["sentiment.embedding=32", "sentiment.hidden=32", "sentiment.pretrain_epochs=0",
        "sentiment.max_epochs=4", "sentiment.patience=4", "sentiment.lr=0.005"]


@pytest.fixture(scope="module")
def tiny_sentiment(tmp_path_factory):
    out = tmp_path_factory.mktemp("sentiment")
    result = train_sentiment(load_config(None, TINY), out)
    return result


def test_split_is_fixed_disjoint_and_covers_the_corpus():
    first, again = polarity_splits(), polarity_splits()
    assert [len(first[k]) for k in ("train", "val", "test")] == [8530, 1066, 1066]
    for name in first:
        assert [e.tokens for e in first[name]] == [e.tokens for e in again[name]]
    test = {" ".join(e.tokens) for e in first["test"]}
    assert not test & {" ".join(e.tokens) for e in first["train"][:2000]} - {""}
    assert 0.45 < np.mean([e.label for e in first["test"]]) < 0.55


def test_tokenize_matches_the_corpus_style():
    assert tokenize("He's a co-writer, isn't he?") == ["he's", "a", "co-writer", ",", "isn't", "he", "?"]


def test_a_tiny_training_run_beats_chance(tiny_sentiment):
    assert tiny_sentiment.test_accuracy > 0.6 and tiny_sentiment.val_accuracy > 0.6


def test_scores_are_valid_for_any_input(tiny_sentiment):
    scorer = SentimentScorer.load(tiny_sentiment.path)
    texts = ["", "   ", "?!.,;", "🙂🙂🙂", "こんにちは世界", "Привет мир", "\x00\x07\x1b", "a" * 100_000,
             "good " * 20_000, "I loue thee"]
    scores = scorer.score(texts)
    assert scores.shape == (len(texts),) and np.isfinite(scores).all() and ((0 <= scores) & (scores <= 1)).all()
    assert list(scores[:7]) == [0.5] * 7  # nothing to read: neutral
    assert scorer.score([]).shape == (0,)


def test_save_load_gives_the_same_scores(tiny_sentiment):
    texts = ["a wonderful, moving film", "a dull and tedious mess"]
    assert np.array_equal(SentimentScorer.load(tiny_sentiment.path).score(texts),
                          SentimentScorer.load(tiny_sentiment.path).score(texts))


def test_corrupt_or_wrong_checkpoint_is_one_line(tmp_path, tiny_checkpoint):
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a readable bard checkpoint"):
        SentimentScorer.load(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="not a bard sentiment classifier checkpoint"):
        SentimentScorer.load(tiny_checkpoint)
    with pytest.raises(CheckpointError, match="bard sentiment train"):
        SentimentScorer.load(tmp_path / "missing.pt")


def test_cli_end_to_end(tiny_sentiment):
    path = str(tiny_sentiment.path)
    scored = subprocess.run([sys.executable, "-m", "bard", "sentiment", "score", "--checkpoint", path, "--json",
                             "what a joy", ""], capture_output=True, text=True)
    assert scored.returncode == 0, scored.stderr
    rows = [json.loads(line) for line in scored.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["what a joy", ""] and rows[1]["positive"] == 0.5
    assert rows[0]["label"] in ("positive", "negative") and rows[1]["label"] == "neutral"
    piped = subprocess.run([sys.executable, "-m", "bard", "sentiment", "score", "--checkpoint", path],
                           input="line one\nline two\n", capture_output=True, text=True)
    assert piped.returncode == 0 and len(piped.stdout.splitlines()) == 2
    evaluated = subprocess.run([sys.executable, "-m", "bard", "sentiment", "eval", "--checkpoint", path, "--json"],
                               capture_output=True, text=True)
    report = json.loads(evaluated.stdout)
    assert report["n_test"] == 1066 and 0.5 < report["accuracy"] <= 1 and 0.55 < report["vader_accuracy"] < 0.75


def test_shipped_classifier_reads_folio_spelling_like_modern():
    scorer = SentimentScorer.load(load_config(None).resolve(load_config(None).checkpoints.sentiment))
    pairs = [line.split("\t") for line in PAIRS.read_text().splitlines() if line and not line.startswith("#")]
    modern = scorer.score([m for m, _ in pairs]) >= 0.5
    folio = scorer.score([f for _, f in pairs]) >= 0.5
    assert len(pairs) >= 30 and (modern == folio).mean() >= 0.9
