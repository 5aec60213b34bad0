"""One-file checkpoints: tensors plus JSON-able metadata, loaded with weights_only=True so that a
checkpoint can never run code. Writes are atomic: a killed run leaves the previous file intact."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from bard import __version__
from bard.config import Config, ListenConfig, ModelConfig, config_from_dict
from bard.errors import CheckpointError
from bard.listener import ListeningLSTM, listens
from bard.model import CharLSTM
from bard.vocabulary import Vocabulary

FORMAT = "bard-char-model/1"


@dataclass
class Checkpoint:
    path: Path
    model: CharLSTM | ListeningLSTM
    vocab: Vocabulary
    meta: dict
    # Optimizer, RNG and scaler state; present only in a run's last.pt, for --resume.
    training: dict | None

    def trained_with(self) -> Config:
        """The config the model was trained with: its corpus and validation split, model, schedule."""
        return config_from_dict(self.meta["config"], source=str(self.path))


def atomic_save(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, model: CharLSTM | ListeningLSTM, vocab: Vocabulary, meta: dict,
                    training: dict | None = None) -> None:
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    meta = {
        **meta,
        "bard_version": __version__,
        "vocab": vocab.chars,
        "model_config": vars(model.config).copy(),
    }
    if listens(model):
        meta["listen_config"] = vars(model.listen_config).copy()
    atomic_save({"format": FORMAT, "model": weights, "meta": meta, "training": training}, path)


# What building a model from a checkpoint's metadata raises when the two disagree.
MISMATCH = (KeyError, TypeError, ValueError, RuntimeError)


def mismatch_error(path: Path, error: Exception) -> CheckpointError:
    return CheckpointError(f"{path}: checkpoint does not match its own metadata ({str(error).splitlines()[0][:160]})")


def read_checkpoint(path: Path, expected_format: str, kind: str, train_command: str,
                    device: str | torch.device = "cpu") -> dict:
    """The raw dict of a checkpoint of `expected_format`, or a one-line CheckpointError."""
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path} (train one with `{train_command}`, or pass --checkpoint)")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable bard checkpoint (corrupt, truncated or foreign: {reason[:160]})") from None
    if not isinstance(data, dict) or data.get("format") != expected_format:
        raise CheckpointError(f"{path}: not a bard {kind} checkpoint (expected format {expected_format})")
    return data


def build_model(vocab_size: int, model: ModelConfig, listen: ListenConfig) -> CharLSTM | ListeningLSTM:
    """A plain character model, or one that listens when `listen.conditioning` asks for it (a
    checkpoint from before the listening model has no listen config, and loads as it always did)."""
    if listen.conditioning == "none":
        return CharLSTM(vocab_size, model)
    return ListeningLSTM(vocab_size, model, listen)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    path = Path(path)
    data = read_checkpoint(path, FORMAT, "character-model", "bard train", device)
    meta = data["meta"]
    try:
        vocab = Vocabulary(meta["vocab"])
        model = build_model(len(vocab), ModelConfig(**meta["model_config"]), ListenConfig(**meta.get("listen_config", {})))
        model.load_state_dict(data["model"])
    except MISMATCH as e:
        raise mismatch_error(path, e) from None
    model.to(device).eval()
    return Checkpoint(path=path, model=model, vocab=vocab, meta=meta, training=data.get("training"))
