"""`bard train`: every position of every sequence is a target; AdamW, warmup + cosine decay,
gradient clipping, periodic validation, atomic best/last checkpoints and exact resume."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bard.checkpoint import load_checkpoint, save_checkpoint
from bard.config import Config, TrainConfig, config_from_dict
from bard.corpus import corpus_record, load_corpus
from bard.errors import BardError
from bard.model import CharLSTM
from bard.vocabulary import Vocabulary

EVAL_STREAMS = 16  # parallel contiguous streams the validation text is cut into


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BardError("--device cuda was asked for, but PyTorch sees no CUDA device")
    return torch.device(name)


@dataclass
class Ranks:
    """Where this process stands in a torchrun job (rank 0 of 1 when run alone)."""
    rank: int = 0
    world: int = 1

    @property
    def leader(self) -> bool:
        return self.rank == 0


def start_distributed(device: torch.device) -> tuple[Ranks, torch.device]:
    """Join the process group torchrun describes in the environment (gloo on CPU, NCCL on CUDA,
    one GPU per local rank); alone, do nothing."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks(), device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size()), device


def all_agree(flag: bool, ranks: Ranks, device: torch.device) -> bool:
    """True on every rank when it is true on any, so that all ranks stop at the same step."""
    if ranks.world == 1:
        return flag
    tensor = torch.tensor([float(flag)], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warmup to `lr`, then cosine decay to `min_lr` at `max_steps`. Warmup takes at most a
    tenth of the run, so that a short run still trains at full rate."""
    warmup = min(config.warmup_steps, config.max_steps // 10)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.max_steps - warmup)
    return config.min_lr + 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))) * (config.lr - config.min_lr)


def sample_batch(data: torch.Tensor, batch_size: int, seq_len: int, generator: torch.Generator):
    """Random windows of seq_len + 1 characters: inputs, and targets shifted by one."""
    starts = torch.randint(len(data) - seq_len, (batch_size,), generator=generator)
    windows = data[starts[:, None] + torch.arange(seq_len + 1)].long()
    return windows[:, :-1], windows[:, 1:]


@torch.inference_mode()  # on a generator, torch enters the mode around each step only
def held_out_logits(model: CharLSTM, data: torch.Tensor, seq_len: int, device: torch.device):
    """Logits and targets over `data`, read as contiguous streams with the state carried, the way
    the sampler reads text, `seq_len` characters at a time."""
    was_training = model.training
    model.eval()
    streams = max(1, min(EVAL_STREAMS, (len(data) - 1) // seq_len))
    length = (len(data) - 1) // streams
    inputs = data[: streams * length].view(streams, length).to(device)
    targets = data[1 : streams * length + 1].view(streams, length).to(device)
    state = None
    for t in range(0, length, seq_len):
        logits, state = model(inputs[:, t : t + seq_len], state)
        yield logits.float().flatten(0, 1), targets[:, t : t + seq_len].flatten().long()
    model.train(was_training)


def evaluate(model: CharLSTM, data: torch.Tensor, seq_len: int, device: torch.device) -> tuple[float, int]:
    """Mean loss in nats/char over `data` (see held_out_logits). Returns (loss, characters scored)."""
    total, count = 0.0, 0
    for logits, targets in held_out_logits(model, data, seq_len, device):
        total += F.cross_entropy(logits, targets, reduction="sum").item()
        count += len(targets)
    return total / count, count


def make_optimizer(model: CharLSTM, config: TrainConfig) -> torch.optim.AdamW:
    # Weight decay on matrices only: decaying biases and layer gains just fights the fit.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.99))


class StopRequest:
    """The first Ctrl-C (or SIGTERM) asks the loop to stop after the current step and save; a
    second one interrupts at once."""

    def __init__(self):
        self.requested = False
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


@dataclass
class TrainResult:
    step: int
    best_val_loss: float
    interrupted: bool
    stopped_by_user: bool
    chars_per_second: float


def saved_run_config(out_dir: Path) -> Config:
    """The config a run in `out_dir` was started with, from its last.pt."""
    last_path = out_dir / "last.pt"
    return config_from_dict(load_checkpoint(last_path).meta["config"], source=str(last_path))


def train(config: Config, out_dir: Path, *, resume: bool = False, device: str = "auto",
          max_minutes: float | None = None, console: Console | None = None) -> TrainResult:
    ranks, device = start_distributed(resolve_device(device))
    try:
        return train_ranks(config, out_dir, ranks, device, resume, max_minutes,
                           console or Console(stderr=True, soft_wrap=True, quiet=not ranks.leader))
    finally:
        if ranks.world > 1:
            dist.destroy_process_group()


def train_ranks(config: Config, out_dir: Path, ranks: Ranks, device: torch.device, resume: bool,
                max_minutes: float | None, console: Console) -> TrainResult:
    """The training loop. Under torchrun every rank draws the same global batch (one shared batch
    generator, so resume stays exact) and trains on its own slice; DistributedDataParallel averages
    the gradients; only rank 0 evaluates, prints and writes files."""
    tc = config.train
    if tc.batch_size % ranks.world:
        raise BardError(f"train.batch_size {tc.batch_size} must divide evenly among {ranks.world} processes")
    local = slice(ranks.rank * tc.batch_size // ranks.world, (ranks.rank + 1) * tc.batch_size // ranks.world)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"

    with console.status("reading the corpus"):
        corpus = load_corpus(config)
        previous = load_checkpoint(last_path) if resume else None
        vocab = previous.vocab if previous else Vocabulary.from_text(corpus.train_text)
    with Progress(TextColumn("encoding"), BarColumn(), TextColumn("{task.completed:,} / {task.total:,} characters"),
                  console=console, transient=True) as progress:
        task = progress.add_task("encode", total=len(corpus.train_text) + len(corpus.val_text))
        train_data = vocab.encode(corpus.train_text, lambda n: progress.advance(task, n))
        val_data = vocab.encode(corpus.val_text, lambda n: progress.advance(task, n))
    del corpus  # the compact id tensors are all training needs
    if len(train_data) <= tc.seq_len or len(val_data) < 2:
        raise BardError(f"the corpus is too small for seq_len {tc.seq_len}: "
                        f"{len(train_data)} training and {len(val_data)} validation characters")

    torch.manual_seed(tc.seed)
    model = CharLSTM(len(vocab), config.model).to(device)
    optimizer = make_optimizer(model, tc)
    forward = model
    batches = torch.Generator().manual_seed(tc.seed)
    use_amp = tc.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    autocast = torch.autocast("cuda", dtype=torch.float16) if use_amp else nullcontext()
    step, best_val, elapsed_before = 0, math.inf, 0.0
    if previous:
        state = previous.training
        model.load_state_dict(previous.model.state_dict())
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        batches.set_state(state["batch_rng"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"])
        step, best_val = previous.meta["step"], previous.meta["best_val_loss"]
        elapsed_before = previous.meta["elapsed_s"]

    if ranks.world > 1:
        forward = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if ranks.leader:
        out_dir.mkdir(parents=True, exist_ok=True)
    chars_per_step = tc.batch_size * tc.seq_len

    def meta(val_loss):
        return {"step": step, "val_loss": val_loss, "best_val_loss": best_val, "val_chars": len(val_data),
                "train_chars": len(train_data), "elapsed_s": elapsed_before + (time.time() - started),
                "config": {**config.to_dict(), "corpus": corpus_record(config)}, "device": device.type}

    def save_last(val_loss):
        training = {"optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                    "batch_rng": batches.get_state(), "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state() if device.type == "cuda" else None}
        save_checkpoint(last_path, model, vocab, meta(val_loss), training)

    processes = f" x {ranks.world} processes" if ranks.world > 1 else ""
    console.print(f"[bold]bard train[/] {model.num_parameters():,} parameters ({config.model.cell}, "
                  f"{config.model.layers}x{config.model.hidden}) on {device}{processes}; {len(train_data):,} training / "
                  f"{len(val_data):,} validation characters; vocabulary {len(vocab)}")
    if previous:
        console.print(f"resuming {last_path} at step {step}")

    model.train()
    started = time.time()
    train_seconds, steps_timed, loss_sum, loss_count = 0.0, 0, 0.0, 0
    val_loss, interrupted, saved_step = None, False, step
    progress = Progress(TextColumn("step {task.completed}/{task.total}"), BarColumn(),
                        TextColumn("loss {task.fields[loss]:.3f}"), TextColumn("{task.fields[speed]:,.0f} chars/s"),
                        TimeRemainingColumn(), console=console)
    with progress, StopRequest() as stop:
        task = progress.add_task("train", total=tc.max_steps, completed=step, loss=float("nan"), speed=0.0)
        while step < tc.max_steps:
            step_started = time.time()
            lr = learning_rate(step, tc)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = sample_batch(train_data, tc.batch_size, tc.seq_len, batches)
            x, y = x[local].to(device, non_blocking=True), y[local].to(device, non_blocking=True)
            with autocast:
                logits, _ = forward(x)
                loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            step += 1
            loss_sum, loss_count = loss_sum + loss.item(), loss_count + 1
            train_seconds += time.time() - step_started
            steps_timed += 1
            speed = steps_timed * chars_per_step / train_seconds
            progress.update(task, completed=step, loss=loss_sum / loss_count, speed=speed)

            out_of_time = max_minutes is not None and time.time() - started >= max_minutes * 60
            stopping = all_agree(stop.requested or out_of_time, ranks, device)
            if ranks.leader and (step % tc.eval_every == 0 or step == tc.max_steps or stopping):
                val_loss, _ = evaluate(model, val_data, tc.seq_len, device)
                improved = val_loss < best_val
                best_val = min(best_val, val_loss)
                record = {"step": step, "train_loss": loss_sum / loss_count, "val_loss": val_loss,
                          "val_bpc": val_loss / math.log(2), "lr": lr, "chars_per_s": speed,
                          "elapsed_s": elapsed_before + time.time() - started}
                with open(out_dir / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(record) + "\n")
                progress.console.print(f"step {step:>6}  train {record['train_loss']:.4f}  val {val_loss:.4f} nats/char "
                                       f"({record['val_bpc']:.3f} bpc){'  *best' if improved else ''}")
                loss_sum, loss_count = 0.0, 0
                if improved:
                    save_checkpoint(best_path, model, vocab, meta(val_loss))
                save_last(val_loss)
                saved_step = step
            if stopping:
                interrupted = True
                break
        if ranks.leader and saved_step != step:
            save_last(val_loss)

    speed = steps_timed * chars_per_step / max(train_seconds, 1e-9)
    if interrupted:
        why = "interrupted" if stop.requested else "time budget reached"
        console.print(f"{why} at step {step}/{tc.max_steps}; saved {last_path}. "
                      f"Continue with: bard train --out {out_dir} --resume")
    else:
        console.print(f"done: step {step}, best validation loss {best_val:.4f} nats/char; {best_path}")
    return TrainResult(step, best_val, interrupted, stop.requested, speed)
