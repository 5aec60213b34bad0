"""Smoke tests: the benchmark scripts run end to end on small budgets and report every figure they
promise. Timings are never asserted (the scripts print them); an accuracy is checked only against
chance, where a broken script would land."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bard.sentiment import CHAT_SETS
from bard.sentiment_data import labelled_texts
from conftest import needs_native_bf16

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(script, *args):
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


def test_sampling_benchmark_reports_both_samplers(tiny_checkpoint):
    result = run("sampling.py", "--checkpoint", str(tiny_checkpoint), "--candidates", "8", "--length", "20",
                 "--book-chars", "20", "--repeats", "1", "--json")
    report = json.loads(result.stdout)
    assert report["bard_chars_per_s"] > 0 and report["book_chars_per_s"] > 0
    assert {"ratio", "cpu", "threads", "torch"} <= set(report)


def test_sampling_precision_benchmark_reports_loss_and_speed_for_each_arithmetic(tiny_checkpoint):
    from bard.device import bf16_is_native, int8_pays

    report = json.loads(run("sampling_precision.py", "--checkpoint", str(tiny_checkpoint), "--val-chars", "3000",
                            "--repeats", "1", "--json").stdout)
    cpu = torch.device("cpu")
    expected = {"float32", *["bfloat16"] * bf16_is_native(cpu), *["int8"] * int8_pays(cpu)}
    assert set(report["precisions"]) == expected and report["auto"] in expected
    for row in report["precisions"].values():
        assert row["step_ms"] > 0 and row["read_back_ms"] > 0 and abs(row["val_loss_change"]) < 0.05
    assert report["precisions"]["float32"]["val_loss_change"] == 0 and {"cpu", "kernels"} <= set(report)


@needs_native_bf16
def test_training_precision_benchmark_reports_the_ratio():
    report = json.loads(run("train_precision.py", "--set", "model.hidden=32", "--set", "model.layers=1",
                            "--set", "train.batch_size=4", "--set", "train.seq_len=16", "--set", "corpus.gutenberg=[]",
                            "--set", "corpus.files=[corpora/folio/macbeth_gut_f.txt]",
                            "--steps", "2", "--rounds", "1", "--json").stdout)
    assert set(report["chars_per_s"]) == {"float32", "bfloat16"} and all(report["chars_per_s"].values())
    assert {"ratio_bf16_over_fp32", "bf16_native", "cpu", "threads", "torch"} <= set(report)


def test_train_vs_book_trains_both_for_the_budget():
    result = run("train_vs_book.py", "--budget", "2", "--eval-every", "1", "--folio")
    figures = json.loads(result.stderr.strip().splitlines()[-1])
    assert figures["budget_s"] == 2 and figures["book_best_loss"] < 4 and figures["bard_best_loss"] < 4
    assert "training LSTM(128), this run" in result.stdout


def test_plot_is_written(tiny_checkpoint, tmp_path):
    run("plot_training.py", str(tiny_checkpoint.parent / "metrics.jsonl"), str(tmp_path / "loss.png"))
    assert (tmp_path / "loss.png").read_bytes().startswith(b"\x89PNG")


def test_responder_benchmark_reports_latency_fallbacks_and_memory(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Good morrow.\n\nWhat news?\n", encoding="utf-8")
    report = json.loads(run("responder.py", "--prompts", str(prompts), "--json").stdout)
    assert report["replies"] == 3 and report["latency_p50_ms"] > 0 and report["peak_rss_mb"] > 0
    assert 16 <= report["candidates_mean"] <= report["candidates_asked"] == 64
    assert 0 <= report["fallback_rate"] <= 1 and 0 <= report["copy_rate"] <= 1 and not report["beside_training"]


def test_reply_quality_sheet_is_blind_and_scores_a_filled_copy(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Good morrow, sweet prince.\nWhat is love?\n", encoding="utf-8")
    run("reply_quality.py", "sheet", "--prompts", str(prompts), "--out", str(tmp_path),
        "--set", "responder.candidates=16")
    sheet = (tmp_path / "sheet.tsv").read_text(encoding="utf-8").splitlines()
    key = json.loads((tmp_path / "key.json").read_text())
    assert key["set"] == ["responder.candidates=16"]
    assert sheet[0].split("\t") == ["id", "prompt", "option", "reply", "fluency", "relevance", "specific", "character", "rank"]
    assert len(sheet) == 7 and not any(name in "\n".join(sheet) for name in ("bard", "book", "quote"))
    assert sorted(key["systems"].values()) == ["bard", "bard", "book", "book", "quote", "quote"]
    # Fill it in: the quote best and rated 5, bard second with 4, the book last with 1.
    rating = {"quote": ("5", "1"), "bard": ("4", "2"), "book": ("1", "3")}
    filled = [sheet[0]] + [
        "\t".join(row.split("\t")[:4] + [rating[key["systems"][row.split("\t")[0] + row.split("\t")[2]]][0]] * 4
                  + [rating[key["systems"][row.split("\t")[0] + row.split("\t")[2]]][1]]) for row in sheet[1:]]
    (tmp_path / "filled.tsv").write_text("\n".join(filled) + "\n", encoding="utf-8")
    report = json.loads(run("reply_quality.py", "score", str(tmp_path / "filled.tsv"), str(tmp_path / "key.json"),
                            "--json").stdout)
    assert report["bard"]["fluency"] == 4 and report["bard"]["fluency_4_or_5"] == 1 and report["book"]["relevance"] == 1
    assert report["bard_above_book"] == 1 and report["bard_above_quote"] == 0 and report["prompts"] == 2
    assert report["bard"]["specific"] == 4 and set(report["bard"]["counts"]) == {
        "echo_stubs", "uses_message_word", "stock", "from_prototype"}


def test_reply_quality_sheet_rejects_a_bad_override(tmp_path):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "reply_quality.py"), "sheet", "--out", str(tmp_path),
                             "--set", "responder.candidates=0"], capture_output=True, text=True)
    assert result.returncode != 0 and "responder.candidates" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "sheet.tsv").exists()


def test_big_corpus_benchmark_trains_on_a_built_text():
    report = json.loads(run("big_corpus.py", "--megabytes", "2", "--steps", "2", "--json", "--folio").stdout)
    assert 1.9 < report["corpus_mb"] < 2.1 and report["train_chars_per_s"] > 0 and report["peak_rss_mb"] > 0


@pytest.mark.nltk_data("sentence_polarity")
def test_polarity_baselines_fit_a_classifier_that_learns():
    report = json.loads(run("polarity_baselines.py", "--json").stdout)
    assert report["test_sentences"] == 1066
    # Both read film reviews far better than chance; a label or split mix-up would sit near 0.5.
    assert report["nb_lr_bigrams"] > 0.7 and report["bard_lstm"] > 0.7


@pytest.mark.nltk_data("vader_lexicon")
def test_user_mood_benchmark_reports_readings_and_sympathy():
    report = json.loads(run("user_mood.py", "--part", "dev", "--json").stdout)
    assert report["messages"] == 239 and report["glad"] == 119
    # The shipped classifier reads chat far better than chance; VADER's figure sits near 0.68.
    assert report["accuracy"] > 0.8 and 0.6 < report["vader_accuracy"] < 0.75
    # Sure readings are the better ones, and "Alas," goes mostly to unhappy messages; the glad ones
    # it went to are named, and are glad messages of the part.
    assert report["by_threshold"]["0.05"]["sure_accuracy"] >= report["accuracy"] and report["sure_share"] > 0.5
    assert report["alas_for_unhappy"] > 5 * report["alas_for_glad"]
    glad = {text for text, label in zip(*labelled_texts(CHAT_SETS["dev"])[:2]) if label == 1}
    assert set(report["alas_for_glad_messages"]) <= glad


def test_sentiment_benchmark_reports_speed_and_folio_agreement():
    report = json.loads(run("sentiment.py", "--batch", "8", "--json").stdout)
    assert report["batch"] == 8 and {"median_ms", "best_ms"} <= set(report)
    assert report["folio_pairs"] == 32 and report["folio_label_agreement"] > 0.9

@pytest.mark.nltk_data("sentence_polarity")
def test_seed_benchmark_reports_members_their_spread_and_the_ensemble():
    shipped = str(Path(__file__).resolve().parent.parent / "checkpoints" / "sentiment.pt")
    report = json.loads(run("sentiment_seeds.py", shipped, shipped, "--batch", "8", "--repeats", "1", "--json").stdout)
    first, second = report["members"]
    # Two copies of one classifier: the ensemble reads exactly as each does, and far above chance.
    assert first == second and {k: v for k, v in first.items() if k not in ("checkpoint", "seed")} == report["ensemble"]
    assert set(report["ensemble"]) == {"polarity_val", "chat_dev", "folio_dev", "mean"}
    assert report["ensemble"]["chat_dev"] > 0.8 and report["ensemble"]["polarity_val"] > 0.7
    assert all(spread == 0 for spread in report["spread"].values()) and set(report["spread"]) == set(report["ensemble"])
    assert {"one_member_ms", "ensemble_ms"} <= set(report)


def test_word_information_scores_the_written_dev_pairs():
    result = run("word_information.py")
    figures = [float(f) for f in re.findall(r"lam [0-9.]+: (-?[0-9.]+)", result.stdout)]
    # A model of which words follow which can only gain from the message, and gains less the more
    # it leans on the prior.
    assert len(figures) == 4 and figures[0] > figures[-1] > 0


def test_listening_benchmark_counts_alike_openings_and_message_information(tiny_checkpoint, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("my dog died\tAlas, poor beast.\nhello there\tGood morrow, friend.\n", encoding="utf-8")
    report = json.loads(run("listening.py", "--checkpoint", str(tiny_checkpoint), "--pairs", str(pairs),
                            "--samples", "4", "--chars", "10", "--json").stdout)
    openings = report["same_openings"]
    assert openings["compared"] == 7 * 4 and 0 <= openings["same"] <= openings["compared"]
    assert report["pairs"][str(pairs)]["pairs"] == 2 and {"cpu", "torch"} <= set(report)


def test_versus_nanogpt_asks_for_a_checkout(tmp_path):
    # nanoGPT is not shipped: without a checkout the benchmark stops with one line that says so.
    result = subprocess.run([sys.executable, str(BENCHMARKS / "versus_nanogpt.py"), "--nanogpt", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "is not a nanoGPT checkout" in result.stderr and "Traceback" not in result.stderr
