import json
import subprocess
import sys

import pytest
from conftest import ROOT, TINY

from bard.checkpoint import load_checkpoint
from bard.config import load_config


def bard(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bard", *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_every_command():
    from bard.cli import COMMANDS

    result = bard("--help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert set(COMMANDS) <= listed
    for command, summary in COMMANDS.items():
        assert " ".join(summary.split()[:4]) in " ".join(result.stdout.split()), command
        assert bard(command, "--help").returncode == 0


def test_train_resume_eval_generate_end_to_end(tmp_path):
    out = tmp_path / "x"
    tiny = [a for s in TINY for a in ("--set", s)]
    trained = bard("train", "--out", str(out), "--max-steps", "8", *tiny)
    assert trained.returncode == 0, trained.stderr
    assert {p.name for p in out.iterdir()} >= {"best.pt", "last.pt", "metrics.jsonl"}
    resumed = bard("train", "--out", str(out), "--resume", "--max-steps", "12")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "step 12" in resumed.stderr

    evaluated = bard("eval", "--checkpoint", str(out / "last.pt"), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["checkpoint"] == str(out / "last.pt") and report["step"] == 12
    assert 0 < report["val_loss"] < 5 and abs(report["bpc"] * 0.6931 - report["val_loss"]) < 1e-3
    assert report["val_chars"] > 30000

    generated = bard("generate", "--checkpoint", str(out / "last.pt"), "--seed-text", "to be or not",
                     "-n", "3", "--length", "80", "--temperature", "0.2", "1.0", "--seed", "5", "--json")
    assert generated.returncode == 0, generated.stderr
    samples = json.loads(generated.stdout)["samples"]
    assert [s["temperature"] for s in samples] == [0.2, 1.0]
    assert all(len(s["texts"]) == 3 and all(len(t) == 80 for t in s["texts"]) for s in samples)
    again = bard("generate", "--checkpoint", str(out / "last.pt"), "--seed-text", "to be or not",
                 "-n", "3", "--length", "80", "--temperature", "0.2", "1.0", "--seed", "5", "--json")
    assert json.loads(again.stdout)["samples"] == samples

    plain = bard("generate", "--checkpoint", str(out / "last.pt"), "--seed-text", "to be", "--length", "20")
    assert plain.returncode == 0 and f"temperature {load_config(None).sample.temperature:g}" in plain.stdout


def test_user_errors_are_one_line_with_status_2(tmp_path):
    missing = bard("eval", "--checkpoint", str(tmp_path / "nope.pt"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"bard eval: error: checkpoint not found: {tmp_path / 'nope.pt'} (train one with `bard train`, or pass --checkpoint)"]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    corrupt = bard("generate", "--checkpoint", str(tmp_path / "bad.pt"))
    assert corrupt.returncode == 2 and len(corrupt.stderr.strip().splitlines()) == 1
    assert "not a readable bard checkpoint" in corrupt.stderr
    bad_flag = bard("generate", "--temperature", "-1")
    assert bad_flag.returncode == 2 and "expected a value >= 0.0 and <= 3.0, got -1" in bad_flag.stderr


@pytest.mark.nltk_data("gutenberg")
def test_train_on_other_gutenberg_texts(tmp_path):
    tiny = [a for s in ("model.hidden=16", "model.layers=1", "train.seq_len=16", "train.batch_size=4") for a in ("--set", s)]
    result = bard("train", "--gutenberg", "austen-emma.txt", "--gutenberg", "blake-poems.txt", "--max-steps", "2",
                  "--out", str(tmp_path / "run"), *tiny)
    assert result.returncode == 0, result.stderr
    saved = load_checkpoint(tmp_path / "run" / "last.pt").meta["config"]["corpus"]
    assert saved["gutenberg"] == ["austen-emma.txt", "blake-poems.txt"]
    unknown = bard("train", "--gutenberg", "nosuch.txt", "--out", str(tmp_path / "other"))
    assert unknown.returncode == 2 and "unknown NLTK gutenberg file id 'nosuch.txt'" in unknown.stderr


def test_eval_pairs_reports_message_information_per_file(tmp_path, tiny_checkpoint):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("my dog died\tAlas, poor beast; I grieve with thee.\n"
                     "i passed my exams!\tWell done, good scholar; thou hast earned thy supper.\n"
                     "what should i cook?\tA pie of mutton, and a salad of the garden.\n", encoding="utf-8")
    result = bard("eval", "--checkpoint", str(tiny_checkpoint), "--pairs", str(pairs), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["pairs"][str(pairs)]
    assert figures["pairs"] == 3 and figures["reply_chars"] > 100
    assert figures["reply_loss"] > 0 and figures["reply_loss_other_message"] > 0
    # Replies read after another line's message, where every line says the same: no information.
    same = tmp_path / "same.tsv"
    same.write_text("".join(f"my dog died\t{reply}\n" for reply in ("Alas, poor beast.", "I grieve with thee.",
                                                                     "A hound is a friend.")), encoding="utf-8")
    result = bard("eval", "--checkpoint", str(tiny_checkpoint), "--pairs", str(same), "--json")
    assert json.loads(result.stdout)["pairs"][str(same)]["message_information"] == 0
    pairs.write_text("a message without its reply\n", encoding="utf-8")
    broken = bard("eval", "--checkpoint", str(tiny_checkpoint), "--pairs", str(pairs))
    assert broken.returncode == 2 and broken.stderr.strip().endswith("pairs.tsv:1: expected `message<TAB>reply`")


def test_training_on_your_own_text_trains_a_plain_model_even_under_a_listening_config(tmp_path):
    text = tmp_path / "play.txt"
    text.write_text((ROOT / "corpora" / "folio" / "macbeth_gut_f.txt").read_text(encoding="utf-8"), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text((ROOT / "config.yaml").read_text(encoding="utf-8").replace(
        "  conditioning: none", "  conditioning: attention"), encoding="utf-8")
    assert load_config(config).listen.conditioning == "attention"
    # The tiny settings without their listen.conditioning=none: the config's listener is asked for.
    tiny = [a for s in TINY if not s.startswith("listen.") for a in ("--set", s)]
    trained = bard("train", "--config", str(config), "--out", str(tmp_path / "run"), "--max-steps", "2", *tiny,
                   "--corpus", str(text), "--set", "corpus.files=[]")
    assert trained.returncode == 0, trained.stderr
    assert type(load_checkpoint(tmp_path / "run" / "last.pt").model).__name__ == "CharLSTM"
