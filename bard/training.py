"""`bard train`: every position of every sequence is a target; AdamW, warmup + cosine decay,
gradient clipping, mixed precision, periodic validation, atomic best/last checkpoints, exact resume,
and a schedule sized to a time budget."""

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

from bard.checkpoint import Checkpoint, build_model, load_checkpoint, save_checkpoint
from bard.config import Config, TrainConfig, apply_overrides
from bard.corpus import corpus_record, load_corpus
from bard.device import resolve_device, training_precision
from bard.errors import BardError, ConfigError
from bard.evaluation import evaluate, message_information
from bard.listener import ListeningLSTM, listens
from bard.model import CharLSTM
from bard.pairs import load_lessons, reply_loss
from bard.vocabulary import Vocabulary

# Steps timed to size a schedule to its time budget (after the first, which pays one-off costs):
# at least this many, and for at least this share of the budget, since a few millisecond-long
# steps time too noisily to plan thousands on.
PROBE_STEPS = 8
PROBE_SHARE = 0.03
# The listen settings that shape a listening model's weights.
LISTEN_SHAPE = ("conditioning", "copy", "encoder_embedding", "encoder_hidden", "attention")
# Held-out pairs of each kind read at every evaluation during training (bard eval --pairs reads all).
VALIDATION_PAIRS = 256
# Share of the measured budget the sized schedule may fill: throughput drifts by several percent.
BUDGET_SHARE = 0.92
# A budget too short for train.min_budget_steps halves the batch, down to this.
MIN_BATCH = 8


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


def all_max(value: float, ranks: Ranks, device: torch.device) -> float:
    """The largest `value` over all ranks, so that every rank takes the same decision."""
    if ranks.world == 1:
        return value
    tensor = torch.tensor([float(value)], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor.item()


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


def make_optimizer(model: CharLSTM | ListeningLSTM, config: TrainConfig, new_lr_scale: float = 1.0) -> torch.optim.AdamW:
    """AdamW; a listening model's new weights (encoder, attention) learn `new_lr_scale` times faster
    than the decoder they join: they start from nothing, the decoder from a trained model."""
    new = {id(p) for p in model.new_parameters()} if listens(model) else set()
    groups = []
    for scale, params in ((1.0, [p for p in model.parameters() if id(p) not in new]),
                          (new_lr_scale, [p for p in model.parameters() if id(p) in new])):
        # Weight decay on matrices only: decaying biases and layer gains just fights the fit.
        groups += [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay, "lr_scale": scale},
                   {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0, "lr_scale": scale}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=config.lr, betas=(0.9, 0.99))


def autocast_for(precision: str, device: torch.device):
    """The autocast context for a training precision; the weights and optimizer stay float32."""
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(precision)
    return torch.autocast(device.type, dtype=dtype) if dtype else nullcontext()


def steps_for_budget(seconds_left: float, step_seconds: float, eval_seconds: float, eval_every: int) -> int:
    """Steps that fit in `seconds_left`, counting the evaluations among them and a final one."""
    per_step = step_seconds + eval_seconds / eval_every
    return max(1, int((BUDGET_SHARE * seconds_left - eval_seconds) / per_step))


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


@dataclass
class Data:
    vocab: Vocabulary
    train: torch.Tensor
    val: torch.Tensor
    words: dict  # the corpus's word record, for the responder's lexicon


def prepare_data(config: Config, vocab: Vocabulary | None, console: Console) -> Data:
    """The corpus encoded as compact id tensors (the text itself is dropped after)."""
    with console.status("reading the corpus"):
        corpus = load_corpus(config)
        vocab = vocab or Vocabulary.from_text(corpus.train_text)
    with Progress(TextColumn("encoding"), BarColumn(), TextColumn("{task.completed:,} / {task.total:,} characters"),
                  console=console, transient=True) as progress:
        task = progress.add_task("encode", total=len(corpus.train_text) + len(corpus.val_text))
        train_data = vocab.encode(corpus.train_text, lambda n: progress.advance(task, n))
        val_data = vocab.encode(corpus.val_text, lambda n: progress.advance(task, n))
    seq_len = config.train.seq_len
    if len(train_data) <= seq_len or len(val_data) < 2:
        raise BardError(f"the corpus is too small for seq_len {seq_len}: "
                        f"{len(train_data)} training and {len(val_data)} validation characters")
    return Data(vocab, train_data, val_data, corpus.words)


def starting_model(config: Config) -> Checkpoint | None:
    """The checkpoint a new listening model starts from (listen.init_from), whose vocabulary and
    model shape the run takes; None for a plain model or one that starts from random weights."""
    if config.listen.conditioning == "none" or not config.listen.init_from:
        return None
    start = load_checkpoint(config.resolve(config.listen.init_from))
    config.model = start.model.config
    return start


def listening_from(model: CharLSTM | ListeningLSTM, config: Config) -> ListeningLSTM:
    """A listening model from a plain one (its new weights at zero) or a copy of a listening one."""
    if not listens(model):
        return ListeningLSTM.from_language_model(model, config.listen)
    differ = [k for k in LISTEN_SHAPE if getattr(model.listen_config, k) != getattr(config.listen, k)]
    if differ:
        raise ConfigError(f"listen.init_from is a listening model with other {', '.join(differ)}: "
                          f"set {', '.join(f'listen.{k}={getattr(model.listen_config, k)}' for k in differ)}")
    listening = ListeningLSTM(model.vocab_size, model.config, config.listen)
    listening.load_state_dict(model.state_dict())
    return listening


def resumed_config(out_dir: Path, overrides: list[str]) -> Config:
    """The config to continue the run in `out_dir` with: the one it was started with (from its
    last.pt), with `overrides` to the schedule only; the corpus and model must stay as they were."""
    config = load_checkpoint(out_dir / "last.pt").trained_with()
    saved = config.to_dict()
    apply_overrides(config, overrides)
    changed = [s for s in ("corpus", "model") if config.to_dict()[s] != saved[s]]
    changed += [f"listen.{k}" for k in LISTEN_SHAPE if config.to_dict()["listen"][k] != saved["listen"][k]]
    if changed:
        raise ConfigError(f"--resume cannot change {' or '.join(changed)} settings; start a new run with another --out")
    return config


def train(config: Config, out_dir: Path, *, resume: bool = False, device: str = "auto",
          max_minutes: float | None = None, fit_to_budget: bool = False,
          console: Console | None = None) -> TrainResult:
    """Train, or continue with `resume`. With `max_minutes`, stop and save when the time is up; with
    `fit_to_budget` as well, first size train.max_steps so that warmup and decay end inside it."""
    ranks, device = start_distributed(resolve_device(device))
    console = console or Console(stderr=True, soft_wrap=True, quiet=not ranks.leader)
    try:
        result = Trainer(config, out_dir, ranks, device, resume, console).run(max_minutes, fit_to_budget)
        if ranks.world > 1:
            # Rank 0 still evaluates and saves after the last step; a rank that tears gloo down
            # meanwhile can abort at exit ("terminate called without an active exception").
            dist.barrier()
        return result
    finally:
        if ranks.world > 1:
            dist.destroy_process_group()


class Trainer:
    """One training run. Under torchrun every rank draws the same global batch (one shared batch
    generator, so resume stays exact) and trains on its own slice; DistributedDataParallel averages
    the gradients; only rank 0 evaluates, prints and writes files."""

    def __init__(self, config: Config, out_dir: Path, ranks: Ranks, device: torch.device, resume: bool,
                 console: Console):
        tc = config.train
        if tc.batch_size % ranks.world:
            raise BardError(f"train.batch_size {tc.batch_size} must divide evenly among {ranks.world} processes")
        if config.listen.conditioning != "none" and config.listen.pairs_per_batch % ranks.world:
            raise BardError(f"listen.pairs_per_batch {config.listen.pairs_per_batch} must divide evenly among "
                            f"{ranks.world} processes")
        self.config, self.ranks, self.device, self.console = config, ranks, device, console
        self.last_path, self.best_path = out_dir / "last.pt", out_dir / "best.pt"
        self.out_dir = out_dir
        previous = load_checkpoint(self.last_path) if resume else None
        start = starting_model(config) if not previous else None
        if config.listen.conditioning != "none" and config.model.layers < 2:
            raise ConfigError("a listening model needs model.layers >= 2 (attention feeds its top layer); "
                              "set model.layers or listen.conditioning=none")
        self.data = prepare_data(config, previous.vocab if previous else start.vocab if start else None, console)
        self.lessons = None
        if config.listen.conditioning != "none":
            with console.status("reading message -> reply pairs"):
                self.lessons = load_lessons(config, self.data.vocab)

        torch.manual_seed(tc.seed)
        self.model = listening_from(start.model, config) if start else build_model(
            len(self.data.vocab), config.model, config.listen)
        self.model.to(device)
        self.optimizer = make_optimizer(self.model, tc, config.listen.new_lr_scale)
        self.batches = torch.Generator().manual_seed(tc.seed)
        self.precision = training_precision(tc.precision, device)
        self.autocast = autocast_for(self.precision, device)
        # float16 needs its loss scaled to keep small gradients; bfloat16 has float32's range.
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.precision == "float16")
        self.step, self.best_val, self.elapsed_before = 0, math.inf, 0.0
        if previous:
            self.restore(previous)
        self.forward = self.model
        if ranks.world > 1:
            self.forward = DistributedDataParallel(self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.set_batch_size(tc.batch_size)
        self.started = math.nan  # set when run() starts the clock

    def restore(self, previous: Checkpoint) -> None:
        state = previous.training
        self.model.load_state_dict(previous.model.state_dict())
        self.optimizer.load_state_dict(state["optimizer"])
        if state["scaler"]:  # empty when the run was saved without loss scaling (not float16)
            self.scaler.load_state_dict(state["scaler"])
        self.batches.set_state(state["batch_rng"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"])
        self.step, self.best_val = previous.meta["step"], previous.meta["best_val_loss"]
        self.elapsed_before = previous.meta["elapsed_s"]

    # One step, one evaluation ---------------------------------------------------------------------

    def train_step(self) -> float:
        tc = self.config.train
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, tc) * group.get("lr_scale", 1.0)
        x, y = sample_batch(self.data.train, tc.batch_size, tc.seq_len, self.batches)
        x, y = x[self.local].to(self.device, non_blocking=True), y[self.local].to(self.device, non_blocking=True)
        with self.autocast:
            logits, _ = self.forward(x)
            loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
            if self.lessons:
                pairs = self.lessons.sample(self.config.listen.pairs_per_batch, self.batches)
                local = slice(self.ranks.rank * len(pairs.inputs) // self.ranks.world,
                              (self.ranks.rank + 1) * len(pairs.inputs) // self.ranks.world)
                loss = loss + reply_loss(self.model, pairs.rows(local).to(self.device), forward=self.forward)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        return loss.item()

    def validate(self) -> tuple[float, dict]:
        """The held-out loss of the plain text, and for a listening model its held-out pairs' figures."""
        val_loss = evaluate(self.model, self.data.val, self.config.train.seq_len, self.device, self.autocast)[0]
        pairs = {name: message_information(self.model, pair_set, self.device, VALIDATION_PAIRS, self.autocast)
                 for name, pair_set in (self.lessons.held_out.items() if self.lessons else ())}
        return val_loss, pairs

    # Checkpoints --------------------------------------------------------------------------------

    def meta(self, val_loss: float | None) -> dict:
        return {"step": self.step, "val_loss": val_loss, "best_val_loss": self.best_val,
                "val_chars": len(self.data.val), "train_chars": len(self.data.train),
                "elapsed_s": self.elapsed_before + time.time() - self.started,
                "config": {**self.config.to_dict(), "corpus": corpus_record(self.config)},
                "device": self.device.type, "precision": self.precision, "words": self.data.words}

    def save(self, val_loss: float | None, improved: bool) -> None:
        if improved:
            save_checkpoint(self.best_path, self.model, self.data.vocab, self.meta(val_loss))
        training = {"optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict(),
                    "batch_rng": self.batches.get_state(), "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state() if self.device.type == "cuda" else None}
        save_checkpoint(self.last_path, self.model, self.data.vocab, self.meta(val_loss), training)

    def record(self, validation: tuple[float, dict], train_loss: float, speed: float) -> None:
        """Log an evaluation and save. A listening model is kept as best by its plain-text loss plus
        its held-out reply losses: it must keep the plays' voice and answer the message."""
        val_loss, pairs = validation
        selection = val_loss + sum(p["reply_loss"] for p in pairs.values())
        improved = selection < self.best_val
        self.best_val = min(self.best_val, selection)
        entry = {"step": self.step, "train_loss": train_loss, "val_loss": val_loss,
                 "val_bpc": val_loss / math.log(2), "lr": learning_rate(self.step - 1, self.config.train),
                 "chars_per_s": speed, "elapsed_s": self.elapsed_before + time.time() - self.started}
        if pairs:
            entry["pairs"] = pairs
        with open(self.out_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")
        listening = "".join(f"  {name} {p['reply_loss']:.4f} (message {p['message_information']:+.4f})"
                            for name, p in pairs.items())
        self.console.print(f"step {self.step:>6}  train {train_loss:.4f}  val {val_loss:.4f} nats/char "
                           f"({entry['val_bpc']:.3f} bpc){listening}{'  *best' if improved else ''}")
        self.save(val_loss, improved)

    # The run ----------------------------------------------------------------------------------------

    def fit_schedule(self, budget_s: float) -> None:
        """Set train.max_steps from the measured cost of a step and of an evaluation (with its
        checkpoint writes), so that the whole schedule ends inside the budget; first halve
        train.batch_size while the budget would hold fewer than train.min_budget_steps steps, so
        that a short budget on a slow CPU still takes enough steps to learn (the steps of each
        probe are part of the run). Every rank takes the same decisions."""
        tc = self.config.train
        losses, step_s = self.probe_steps(budget_s)
        while (tc.batch_size // 2 >= MIN_BATCH and (tc.batch_size // 2) % self.ranks.world == 0
               and steps_for_budget(budget_s - self.elapsed(), step_s, 0.0, tc.eval_every) < tc.min_budget_steps):
            self.console.print(f"time budget {budget_s / 60:g} min: at batch {tc.batch_size}, {step_s * 1000:.0f} ms a step "
                               f"leaves room for fewer than {tc.min_budget_steps} steps; halving the batch")
            self.set_batch_size(tc.batch_size // 2)
            losses, step_s = self.probe_steps(budget_s)
        started = time.time()
        if self.ranks.leader:
            self.record(self.validate(), sum(losses) / len(losses), tc.batch_size * tc.seq_len / step_s)
        eval_s = all_max(time.time() - started, self.ranks, self.device)
        tc.max_steps = self.step + steps_for_budget(budget_s - self.elapsed(), step_s, eval_s, tc.eval_every)
        self.console.print(f"time budget {budget_s / 60:g} min: batch {tc.batch_size}, {step_s * 1000:.0f} ms a step, "
                           f"{eval_s:.1f} s an evaluation -> {tc.max_steps:,} steps")

    def probe_steps(self, budget_s: float) -> tuple[list[float], float]:
        """Train a few steps and time them: their losses and the seconds a step takes."""
        losses = [self.train_step()]  # the first step pays one-off costs (allocation, kernel choice)
        started = time.time()
        probing = True
        while probing:  # every rank must take as many steps, so they decide together
            losses.append(self.train_step())
            short = len(losses) <= PROBE_STEPS or time.time() - started < PROBE_SHARE * budget_s
            probing = bool(all_max(short, self.ranks, self.device))
        return losses, all_max((time.time() - started) / (len(losses) - 1), self.ranks, self.device)

    def elapsed(self) -> float:
        return all_max(time.time() - self.started, self.ranks, self.device)

    def set_batch_size(self, batch_size: int) -> None:
        """A new batch size for the steps to come, and this rank's share of it; the config (and so
        every checkpoint, and a resumed run) keeps it."""
        self.config.train.batch_size = batch_size
        world, rank = self.ranks.world, self.ranks.rank
        self.local = slice(rank * batch_size // world, (rank + 1) * batch_size // world)

    def keep_pace(self, budget_s: float, loop_started: float, loop_first_step: int) -> None:
        """Shorten a budgeted schedule that runs slower than its probe measured (other work on the
        machine, overheads a few probe steps miss), so that warmup and decay still end inside the
        budget. It never lengthens one: a schedule is only ever cut by what the run has shown."""
        tc = self.config.train
        now = time.time()
        pace = all_max((now - loop_started) / (self.step - loop_first_step), self.ranks, self.device)
        elapsed = self.elapsed()
        tc.max_steps = min(tc.max_steps, self.step + max(1, int((BUDGET_SHARE * budget_s - elapsed) / pace)))

    def run(self, max_minutes: float | None, fit_to_budget: bool) -> TrainResult:
        tc, ranks = self.config.train, self.ranks
        if ranks.leader:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        processes = f" x {ranks.world} processes" if ranks.world > 1 else ""
        self.console.print(
            f"[bold]bard train[/] {self.model.num_parameters():,} parameters ({self.config.model.cell}, "
            f"{self.config.model.layers}x{self.config.model.hidden}) on {self.device}{processes} in {self.precision}; "
            f"{len(self.data.train):,} training / {len(self.data.val):,} validation characters; "
            f"vocabulary {len(self.data.vocab)}")
        if self.step:
            self.console.print(f"resuming {self.last_path} at step {self.step}")
        self.model.train()
        self.started = time.time()
        budget_s = max_minutes * 60 if max_minutes is not None else math.inf
        train_seconds, steps_timed, loss_sum, loss_count, speed = 0.0, 0, 0.0, 0, 0.0
        progress = Progress(TextColumn("step {task.completed}/{task.total}"), BarColumn(),
                            TextColumn("loss {task.fields[loss]:.3f}"), TextColumn("{task.fields[speed]:,.0f} chars/s"),
                            TimeRemainingColumn(), console=self.console)
        budgeted = fit_to_budget and max_minutes is not None
        with StopRequest() as stop:
            if budgeted:
                self.fit_schedule(budget_s)
            chars_per_step = tc.batch_size * tc.seq_len  # as the budget chose it
            loop_started, loop_first_step = time.time(), self.step
            with progress:
                task = progress.add_task("train", total=tc.max_steps, completed=self.step, loss=float("nan"), speed=0.0)
                stopping = False
                while self.step < tc.max_steps and not stopping:
                    step_started = time.time()
                    loss_sum, loss_count = loss_sum + self.train_step(), loss_count + 1
                    train_seconds, steps_timed = train_seconds + time.time() - step_started, steps_timed + 1
                    speed = steps_timed * chars_per_step / train_seconds
                    progress.update(task, completed=self.step, loss=loss_sum / loss_count, speed=speed)
                    out_of_time = time.time() - self.started >= budget_s
                    stopping = bool(all_max(stop.requested or out_of_time, ranks, self.device))
                    # The last step always evaluates and saves, so nothing is lost however the loop ends.
                    due = self.step % tc.eval_every == 0 or self.step == tc.max_steps or stopping
                    if budgeted and due and not stopping and self.step < tc.max_steps:
                        self.keep_pace(budget_s, loop_started, loop_first_step)
                        progress.update(task, total=tc.max_steps)
                    if ranks.leader and due:
                        self.record(self.validate(), loss_sum / loss_count, speed)
                        loss_sum, loss_count = 0.0, 0

        interrupted = self.step < tc.max_steps
        if interrupted:
            why = "interrupted" if stop.requested else "time budget reached"
            self.console.print(f"{why} at step {self.step}/{tc.max_steps}; saved {self.last_path}. "
                               f"Continue with: bard train --out {self.out_dir} --resume")
        else:
            kept_by = "held-out text + reply losses" if self.lessons else "validation loss"
            self.console.print(f"done: step {self.step}, best {kept_by} {self.best_val:.4f} nats/char; "
                               f"{self.best_path}")
        return TrainResult(self.step, self.best_val, interrupted, stop.requested, speed)
