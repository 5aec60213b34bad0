import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bard.checkpoint import load_checkpoint, save_checkpoint
from bard.config import load_config
from bard.training import Trainer, learning_rate, sample_batch, train
from conftest import TINY, needs_native_bf16


def test_targets_are_the_inputs_shifted_by_one():
    data = torch.arange(100, dtype=torch.uint8)
    x, y = sample_batch(data, 16, 10, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (16, 10) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert torch.equal(y, x + 1)  # consecutive ids: every target is the next character
    assert int(y.max()) <= 99


def test_learning_rate_warms_up_then_decays_to_min_lr(tiny_config):
    tc = tiny_config.train
    tc.max_steps, tc.warmup_steps, tc.lr, tc.min_lr = 1000, 100, 1e-3, 1e-4
    rates = [learning_rate(s, tc) for s in range(tc.max_steps)]
    assert rates[0] == pytest.approx(1e-5) and rates[99] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[99:], rates[100:]))
    assert learning_rate(tc.max_steps, tc) == pytest.approx(1e-4)
    tc.max_steps = 30  # a short run warms up for a tenth of it, not for warmup_steps
    assert learning_rate(2, tc) == pytest.approx(1e-3)


def test_a_tiny_model_learns_the_plays(tiny_config, tmp_path):
    tiny_config.train.max_steps, tiny_config.train.eval_every, tiny_config.train.batch_size = 120, 20, 16
    tiny_config.train.lr = 0.01
    result = train(tiny_config, tmp_path, device="cpu")
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [20, 40, 60, 80, 100, 120]
    assert metrics[0]["val_loss"] < math.log(50) + 0.1
    # Single-character frequencies alone give 3.0 nats/char on these plays; below 2.8 it has learnt more.
    assert metrics[-1]["val_loss"] < min(2.8, metrics[0]["val_loss"] - 0.3)
    assert result.best_val_loss == min(m["val_loss"] for m in metrics)
    best = load_checkpoint(tmp_path / "best.pt")
    assert best.meta["val_loss"] == result.best_val_loss and best.training is None
    assert best.meta["config"]["corpus"]["val_fraction"] == 0.1


def test_resumed_run_reaches_the_same_weights_as_an_uninterrupted_one(tiny_config, tmp_path):
    train(tiny_config, tmp_path / "straight", device="cpu")
    # A tiny time budget stops the first invocation after its first step; --resume finishes it.
    first = train(tiny_config, tmp_path / "resumed", device="cpu", max_minutes=1e-9)
    assert first.interrupted and first.step == 1
    second = train(tiny_config, tmp_path / "resumed", resume=True, device="cpu")
    assert second.step == tiny_config.train.max_steps
    straight = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)
    for name, tensor in straight["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    for a, b in zip(straight["training"]["optimizer"]["state"].values(), resumed["training"]["optimizer"]["state"].values()):
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
    assert straight["meta"]["val_loss"] == resumed["meta"]["val_loss"]


def test_ctrl_c_saves_last_pt_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "bard", "train", "--out", str(out), "--device", "cpu",
               *[a for s in TINY for a in ("--set", s)], "--set", "train.eval_every=5", "--max-steps", "100000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert f"Continue with: bard train --out {out} --resume" in stderr
    assert "Traceback" not in stderr
    saved = load_checkpoint(out / "last.pt")
    assert saved.meta["step"] >= 5 and saved.training is not None
    resumed = subprocess.run([sys.executable, "-m", "bard", "train", "--out", str(out), "--resume",
                              "--max-steps", str(saved.meta["step"] + 2)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(out / "last.pt").meta["step"] == saved.meta["step"] + 2


def test_resume_refuses_to_change_the_model(tmp_path, tiny_config):
    train(tiny_config, tmp_path, device="cpu", max_minutes=1e-9)
    result = subprocess.run([sys.executable, "-m", "bard", "train", "--out", str(tmp_path), "--resume",
                             "--set", "model.hidden=64"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--resume cannot change model settings" in result.stderr


def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(tiny_config, tmp_path, monkeypatch):
    train(tiny_config, tmp_path, device="cpu")
    before = (tmp_path / "last.pt").read_bytes()
    previous = load_checkpoint(tmp_path / "last.pt")
    real_save = torch.save

    def crash_halfway(obj, f, *args, **kwargs):
        """Write half of the checkpoint, then fail as a full disk or a kill would."""
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        half = buffer.getvalue()[: buffer.tell() // 2]
        if hasattr(f, "write"):
            f.write(half)
        else:
            Path(f).write_bytes(half)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", crash_halfway)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "last.pt", previous.model, previous.vocab, {**previous.meta, "step": 99})
    assert (tmp_path / "last.pt").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["best.pt", "last.pt", "metrics.jsonl"]  # no half-written leftovers


def test_cuda_request_without_cuda_is_a_clear_error(tiny_config, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from bard.errors import BardError

    with pytest.raises(BardError, match="sees no CUDA device"):
        train(tiny_config, tmp_path, device="cuda")


def test_corpus_too_small_for_the_sequence_length(tmp_path):
    (tmp_path / "tiny.txt").write_text("to be or not to be\n")
    config = load_config(None, [*TINY, "corpus.gutenberg=[]", f"corpus.files=[{tmp_path / 'tiny.txt'}]"])
    from bard.errors import BardError

    with pytest.raises(BardError, match="too small for seq_len 32"):
        train(config, tmp_path / "run", device="cpu")


@needs_native_bf16
def test_bfloat16_training_matches_float32(tiny_config, tmp_path):
    # The same steps, batches and initial weights in both arithmetics; autocast keeps float32 master
    # weights, so the held-out losses may differ only by bfloat16's rounding.
    tc = tiny_config.train
    tc.max_steps, tc.eval_every, tc.batch_size, tc.lr, tiny_config.model.dropout = 80, 80, 16, 0.01, 0.0
    losses = {}
    for precision in ("float32", "bfloat16"):
        tc.precision = precision
        losses[precision] = train(tiny_config, tmp_path / precision, device="cpu").best_val_loss
        assert load_checkpoint(tmp_path / precision / "best.pt").meta["precision"] == precision
    assert losses["float32"] < 2.9  # it learnt: single-character frequencies alone give 3.0
    assert abs(losses["bfloat16"] - losses["float32"]) < 0.01


def test_steps_for_budget_counts_evaluations_and_keeps_a_margin():
    from bard.training import BUDGET_SHARE, steps_for_budget

    # 100 s at 0.1 s a step and 1 s per evaluation every 10 steps: 0.2 s a step with its share.
    assert steps_for_budget(100, 0.1, 1.0, 10) == int((BUDGET_SHARE * 100 - 1) / 0.2)
    assert steps_for_budget(0.5, 0.1, 1.0, 10) == 1  # too short for anything: one step still runs


def test_a_budgeted_run_that_slows_down_still_ends_its_schedule_inside_the_budget(tiny_config, tmp_path, monkeypatch):
    # Steps twice as slow after the first second, as when other work starts on the machine: the
    # schedule sized from the first steps would overrun, so it is shortened to the pace kept.
    tiny_config.train.max_steps, tiny_config.train.eval_every = 1_000_000, 25
    step, first = Trainer.train_step, {}

    def slowing_step(self):
        began = time.time()
        loss = step(self)
        if began - first.setdefault("step", began) > 1:
            time.sleep(time.time() - began)
        return loss
    monkeypatch.setattr(Trainer, "train_step", slowing_step)
    result = train(tiny_config, tmp_path, device="cpu", max_minutes=0.1, fit_to_budget=True)
    saved = load_checkpoint(tmp_path / "last.pt").meta
    assert not result.interrupted and result.step == saved["config"]["train"]["max_steps"]
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["lr"] == pytest.approx(tiny_config.train.min_lr, rel=0.05)


def test_a_budget_without_a_step_count_sizes_the_schedule_to_end_inside_it(tiny_config, tmp_path):
    tiny_config.train.max_steps = 1_000_000  # far more than fits: the budget must size the run
    tiny_config.train.eval_every = 25
    result = train(tiny_config, tmp_path, device="cpu", max_minutes=0.1, fit_to_budget=True)
    saved = load_checkpoint(tmp_path / "last.pt").meta
    assert 10 < saved["config"]["train"]["max_steps"] < 1_000_000
    # The whole schedule ran (warmup and decay down to min_lr), not a cut-off piece of a longer one.
    assert not result.interrupted and result.step == saved["config"]["train"]["max_steps"]
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["lr"] == pytest.approx(tiny_config.train.min_lr, rel=0.05)


@pytest.mark.parametrize("min_budget_steps, batch_size", [(10**9, 8), (0, 32)])
def test_a_short_budget_halves_the_batch_until_enough_steps_fit(tiny_config, tmp_path, min_budget_steps, batch_size):
    # No machine takes 10**9 steps in 3 s: the batch halves down to 8 (and no lower); 0 keeps the
    # batch whatever the budget.
    tiny_config.train.max_steps, tiny_config.train.batch_size = 1_000_000, 32
    tiny_config.train.min_budget_steps = min_budget_steps
    result = train(tiny_config, tmp_path, device="cpu", max_minutes=0.05, fit_to_budget=True)
    saved = load_checkpoint(tmp_path / "last.pt").meta
    assert saved["config"]["train"]["batch_size"] == batch_size  # a resumed run goes on with it
    assert not result.interrupted and result.step == saved["config"]["train"]["max_steps"]
