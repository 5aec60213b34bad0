import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bard.config import load_config
from bard.errors import CheckpointError
from bard.errors import BardError
from bard.sentiment import CHAT_SETS, SentimentScorer, evaluate_sentiment, train_sentiment
from bard.sentiment_data import (Example, distant_play_examples, early_modern, labelled_texts, play_sentences,
                                 polarity_splits, read_labelled_lines, tokenize, with_early_modern_copies)

PAIRS = Path(__file__).resolve().parent.parent / "benchmarks" / "folio_pairs.tsv"
TINY = ["sentiment.embedding=32", "sentiment.hidden=32", "sentiment.pretrain_epochs=0", "sentiment.play_lines=300",
        "sentiment.max_epochs=4", "sentiment.patience=4", "sentiment.lr=0.005", "sentiment.chat_repeats=1"]
FOLIO_TEST = Path(__file__).resolve().parent.parent / "benchmarks" / "folio_sentiment.tsv"


# The classifier trains on sentence_polarity (and movie_reviews to pretrain, off here) and VADER's
# lexicon, and is evaluated on sentence_polarity beside VADER: the tests that do either are marked.
@pytest.fixture(scope="module")
def tiny_sentiment(tmp_path_factory):
    out = tmp_path_factory.mktemp("sentiment")
    result = train_sentiment(load_config(None, TINY), out)
    return result


@pytest.mark.nltk_data("sentence_polarity")
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


@pytest.mark.nltk_data("sentence_polarity", "vader_lexicon")
def test_a_tiny_training_run_beats_chance(tiny_sentiment):
    assert tiny_sentiment.test_accuracy > 0.6 and tiny_sentiment.val_accuracy > 0.6
    # With chat on, the epoch is chosen on all three worlds, and the checkpoint says how each fared.
    meta = SentimentScorer.load(tiny_sentiment.path).meta
    assert set(meta["val_accuracies"]) == {"sentence_polarity", "chat", "folio"}
    assert meta["chat_examples"] == len(labelled_texts(CHAT_SETS["train"])[0])


@pytest.mark.nltk_data("sentence_polarity", "vader_lexicon")
def test_scores_are_valid_for_any_input(tiny_sentiment):
    scorer = SentimentScorer.load(tiny_sentiment.path)
    texts = ["", "   ", "?!.,;", "🙂🙂🙂", "こんにちは世界", "Привет мир", "\x00\x07\x1b", "a" * 100_000,
             "good " * 20_000, "I loue thee"]
    scores = scorer.score(texts)
    assert scores.shape == (len(texts),) and np.isfinite(scores).all() and ((0 <= scores) & (scores <= 1)).all()
    assert list(scores[:7]) == [0.5] * 7  # nothing to read: neutral
    assert scorer.score([]).shape == (0,)


@pytest.mark.nltk_data("sentence_polarity", "vader_lexicon")
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


@pytest.mark.nltk_data("sentence_polarity", "vader_lexicon")
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
    polarity, folio = report["sentence_polarity"], report["folio_sentiment"]
    assert polarity["n"] == 1066 and 0.5 < polarity["accuracy"] <= 1 and 0.55 < polarity["vader_accuracy"] < 0.75
    assert folio["n"] == 242 and 0 < folio["accuracy"] <= 1 and 0.6 < folio["vader_accuracy"] < 0.9
    chat = report["chat_test"]
    assert chat["n"] == len(labelled_texts(CHAT_SETS["test"])[0]) and 0 < chat["accuracy"] <= 1
    missing = subprocess.run([sys.executable, "-m", "bard", "sentiment", "eval", "--checkpoint", path,
                              "--labelled", "no-such.tsv"], capture_output=True, text=True)
    assert missing.returncode == 2 and "no-such.tsv" in missing.stderr and "Traceback" not in missing.stderr


def test_early_modern_copies_know_thou_and_hath():
    rng = random.Random(0)
    assert early_modern("he has a horse and she loves him".split(), rng) == \
        "he hath a horse and she loveth him".split()
    assert early_modern("it's late".split(), rng) == ["'", "tis", "late"]
    for seed in range(20):  # every choice of form for "you" keeps the verb agreeing
        first, verb = early_modern(["you", "are"], random.Random(seed))
        assert first in ("thou", "thee", "you", "ye") and verb == ("art" if first == "thou" else "are")
    examples = [Example(["a", "fine", "day"], 1), Example(["has", "dull", "film"], 0)]
    copies = with_early_modern_copies(examples, seed=0)
    assert copies == examples + [Example(["hath", "dull", "film"], 0)]


@pytest.mark.nltk_data("vader_lexicon")
def test_play_lines_near_a_held_out_line_are_never_used(tmp_path):
    play = tmp_path / "play.txt"
    speeches = [f"   Rom. O happy joy, sweet love and blessed day number {i}, my dearest friend.\n\n"
                if i % 2 else f"   Iul. O cruel death, vile murder and woe upon woe number {i}, my grief.\n\n"
                for i in range(200)]
    play.write_text("".join(speeches))
    held_out = tmp_path / "held.tsv"
    held_out.write_text("# a set\nlabel\tplay\tline\ttext\npositive\tplay.txt\t201\tO happy joy\n")
    examples = distant_play_examples(play, str.lower, [held_out], threshold=0.5, per_class=1000, seed=0)
    numbers = {int(next(t for t in e.tokens if t.isdigit())) for e in examples}
    assert {e.label for e in examples} == {0, 1}
    assert sum(e.label for e in examples) == len(examples) / 2  # balanced
    # Speech i starts on line 2i + 1: the held-out line 201 is speech 100; 30 lines either side are out.
    assert numbers and not numbers & set(range(85, 116))
    with pytest.raises(BardError, match="header"):
        read_labelled_lines(play)
    verse = tmp_path / "verse.txt"
    verse.write_text("   Ham. One two three four five six.\nSeuen eight nine ten eleuen twelue.\n")
    assert [s.line for s in play_sentences(verse)] == [1, 2]  # where each sentence begins


def test_chat_set_is_balanced_and_its_test_messages_are_unseen(tmp_path):
    parts = {part: labelled_texts(path) for part, path in CHAT_SETS.items()}
    assert sum(len(texts) for texts, _, _ in parts.values()) >= 300
    for texts, labels, play_lines in parts.values():
        assert not play_lines and 0.45 <= sum(labels) / len(labels) <= 0.55 and all(t.strip() for t in texts)

    def words(text):
        return set(re.findall(r"[a-z']+", text.lower()))
    # Not even a paraphrase of a training message (half its words shared) is in dev or test.
    training = [words(t) for t in parts["train"][0]]
    for part in ("dev", "test"):
        for text in parts[part][0]:
            assert all(len(words(text) & seen) < 0.5 * len(words(text) | seen) for seen in training), text
    wrong = tmp_path / "wrong.tsv"
    wrong.write_text("# a comment\nlabel\ttext\npositive\tfine\n\nglad\tnot a label\n")
    with pytest.raises(BardError, match="line 5 needs a label"):
        labelled_texts(wrong)
    wrong.write_text("# a comment\nlabel\ttext\n")
    with pytest.raises(BardError, match="no rows"):
        labelled_texts(wrong)
    with pytest.raises(BardError, match="play lines needs"):
        read_labelled_lines(CHAT_SETS["test"])


@pytest.mark.nltk_data("sentence_polarity", "vader_lexicon")
def test_shipped_classifier_reads_chat():
    scorer = SentimentScorer.load(load_config(None).resolve(load_config(None).checkpoints.sentiment))
    chat = evaluate_sentiment(scorer, [CHAT_SETS["test"]])["chat_test"]
    # The shipped classifier's figure on messages by writers it never read, 0.911 (README,
    # "Sentiment"; the classifier trained without chat read 0.655, VADER 0.570).
    assert chat["accuracy"] >= 0.90 and chat["accuracy"] > chat["vader_accuracy"]


@pytest.mark.nltk_data("sentence_polarity", "vader_lexicon")
def test_shipped_classifier_reads_the_plays():
    scorer = SentimentScorer.load(load_config(None).resolve(load_config(None).checkpoints.sentiment))
    report = evaluate_sentiment(scorer, [FOLIO_TEST])
    # The shipped classifier's figure, 0.752 (README; the film-review classifier before it read 0.63).
    assert report["folio_sentiment"]["accuracy"] >= 0.74
    grief = ["I weepe, I grieue, my heart is full of woe.", "My soule is sicke with sorrow and despaire.",
             "O cruell death, that tooke my sonne from me."]
    assert (scorer.score(grief) < 0.5).all()


def test_shipped_classifier_reads_folio_spelling_like_modern():
    scorer = SentimentScorer.load(load_config(None).resolve(load_config(None).checkpoints.sentiment))
    pairs = [line.split("\t") for line in PAIRS.read_text().splitlines() if line and not line.startswith("#")]
    modern = scorer.score([m for m, _ in pairs]) >= 0.5
    folio = scorer.score([f for _, f in pairs]) >= 0.5
    assert len(pairs) >= 30 and (modern == folio).mean() >= 0.9
