"""Data-parallel training under torchrun: two CPU processes (gloo) on the real plays."""

import json
import subprocess
import sys

import torch

from bard.checkpoint import load_checkpoint
from bard.config import load_config
from bard.training import train
from conftest import TINY

# No dropout and float32, so that a 2-process step and a 1-process step on the same global batch
# must agree (bfloat16 rounds a half batch's gradients differently from a whole one's).
SETTINGS = [*TINY, "model.dropout=0.0", "train.max_steps=6", "train.precision=float32"]


def torchrun(*args):
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "bard", "train",
                           *args, *(a for setting in SETTINGS for a in ("--set", setting))],
                          capture_output=True, text=True, check=False, timeout=300)


def test_two_process_training_matches_one_process(tmp_path):
    result = torchrun("--out", str(tmp_path / "ddp"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("bard train ") == 1 and "x 2 processes" in result.stderr  # rank 0 alone prints
    metrics = [json.loads(line)["step"] for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert metrics == [3, 6]  # written once per evaluation, by rank 0 only
    together = load_checkpoint(tmp_path / "ddp" / "last.pt")
    # Each rank trains on half of the same global batch and DDP averages the gradients: the same
    # updates as one process on the whole batch.
    train(load_config(None, SETTINGS), tmp_path / "alone", device="cpu")
    alone = load_checkpoint(tmp_path / "alone" / "last.pt")
    for (name, a), b in zip(together.model.state_dict().items(), alone.model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=name)
    # The result is a normal checkpoint that every command loads.
    evaluated = subprocess.run([sys.executable, "-m", "bard", "eval", "--checkpoint", str(tmp_path / "ddp" / "last.pt"),
                                "--json"], capture_output=True, text=True, check=False)
    assert evaluated.returncode == 0 and '"step": 6' in evaluated.stdout


def test_two_process_training_resumes(tmp_path):
    first = torchrun("--out", str(tmp_path), "--max-steps", "4")
    assert first.returncode == 0, first.stderr
    resumed = torchrun("--out", str(tmp_path), "--resume", "--max-steps", "6")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and load_checkpoint(tmp_path / "last.pt").meta["step"] == 6


def test_batch_must_divide_among_processes(tmp_path):
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "bard", "train",
                             "--out", str(tmp_path), "--set", "train.batch_size=7", "--max-steps", "1"],
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode != 0 and "must divide evenly among 2 processes" in result.stderr
