"""Typed configuration: one dataclass per stage, loaded from config.yaml plus `--set` overrides.

Every value is checked before any work starts; a bad one raises ConfigError with a single line
naming the file, the key path and what was expected.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bard.errors import ConfigError

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yaml"


def bounded(default, *, low=None, high=None, low_open=False, choices=None):
    """A field whose value must lie in [low, high] (or (low, high] when low_open) or in choices."""
    metadata = {"low": low, "high": high, "low_open": low_open, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class CorpusConfig:
    gutenberg: list[str] = bounded([])
    files: list[str] = bounded(["corpora/folio"])
    lowercase: bool = True
    val_fraction: float = bounded(0.1, low=0.0, high=0.5, low_open=True)


@dataclass
class ModelConfig:
    cell: str = bounded("lstm", choices=("lstm", "gru"))
    embedding: int = bounded(64, low=1)
    hidden: int = bounded(256, low=1)
    layers: int = bounded(2, low=1)
    dropout: float = bounded(0.3, low=0.0, high=0.9)


@dataclass
class TrainConfig:
    seq_len: int = bounded(128, low=2)
    batch_size: int = bounded(64, low=1)
    max_steps: int = bounded(1600, low=1)
    lr: float = bounded(3e-3, low=0.0, low_open=True)
    min_lr: float = bounded(3e-4, low=0.0)
    warmup_steps: int = bounded(100, low=0)
    weight_decay: float = bounded(0.01, low=0.0)
    grad_clip: float = bounded(1.0, low=0.0, low_open=True)
    eval_every: int = bounded(100, low=1)
    min_budget_steps: int = bounded(1000, low=0)
    seed: int = 1337
    precision: str = bounded("auto", choices=("auto", "float32", "bfloat16", "float16"))


@dataclass
class ListenConfig:
    """The model that listens: an encoder over the user's message and, from every step of the
    character LSTM's upper layer, attention to it (or the message's mean, `vector`), trained on
    message -> reply pairs beside the plain text. `none` trains a plain language model."""
    conditioning: str = bounded("none", choices=("none", "attention", "vector"))
    # A pointer over the message's characters, from which the model may copy (See et al. 2017).
    copy: bool = True
    # A plain model whose weights the listening model starts from ("" starts from random weights).
    init_from: str = "checkpoints/bard-char.pt"
    # Written exchanges, split by writer into train/dev/test.tsv ("" for none).
    dialogue: str = "corpora/dialogue"
    # The corpus's own speech -> answer pairs (from each play's training part only).
    folio_pairs: bool = True
    # Write the written replies as the plays spell ("have" -> "haue"): one spelling to learn.
    respell: bool = True
    # Each step: this many pairs beside train.batch_size windows of plain text; of them, this share
    # written exchanges and the rest the plays' own pairs.
    pairs_per_batch: int = bounded(32, low=1)
    # The encoder and attention learn this many times faster than the decoder (train.lr): they
    # start from nothing, the decoder from a trained model whose voice should stay.
    new_lr_scale: float = bounded(5.0, low=0.0, low_open=True)
    written_share: float = bounded(0.5, low=0.0, high=1.0)
    encoder_embedding: int = bounded(64, low=1)
    encoder_hidden: int = bounded(128, low=1)
    attention: int = bounded(128, low=1)
    max_message_chars: int = bounded(160, low=1)
    max_reply_chars: int = bounded(200, low=8)


@dataclass
class SampleConfig:
    # The one rule for temperatures everywhere (config, flags, chat commands, Discord): 0 means always
    # the likeliest character; above 3 every character is about equally likely, which is noise.
    temperature: float = bounded(0.6, low=0.0, high=3.0)
    top_k: int = bounded(0, low=0)
    top_p: float = bounded(1.0, low=0.0, high=1.0, low_open=True)
    length: int = bounded(200, low=1)
    precision: str = bounded("auto", choices=("auto", "float32", "bfloat16", "int8"))


@dataclass
class SentimentConfig:
    embedding: int = bounded(96, low=1)
    hidden: int = bounded(96, low=1)
    dropout: float = bounded(0.5, low=0.0, high=0.9)
    max_tokens: int = bounded(64, low=1)
    min_count: int = bounded(2, low=1)
    batch_size: int = bounded(64, low=1)
    lr: float = bounded(2e-3, low=0.0, low_open=True)
    weight_decay: float = bounded(0.01, low=0.0)
    pretrain_epochs: int = bounded(1, low=0)
    max_epochs: int = bounded(12, low=1)
    patience: int = bounded(3, low=1)
    seed: int = 1
    # Add a copy of each training sentence rewritten in Early Modern forms (you -> thou, has -> hath).
    early_modern: bool = True
    # Play sentences per class that VADER labels at a distance (0: none), and how sure it must be.
    play_lines: int = bounded(10000, low=0)
    play_threshold: float = bounded(0.3, low=0.0, high=1.0)
    # Feed each word's VADER valence to the LSTM beside its embedding.
    lexicon: bool = True
    # Times each labelled chat message (corpora/chat/train.tsv) is read an epoch (0: none).
    chat_repeats: int = bounded(16, low=0)


# Speaker tags as the lowercased plays print them: the bard speaks as the persona, the user as the
# character the persona most often answers.
PERSONAS = {
    "hamlet": ("Hamlet", "ham.", "hor."),
    "macbeth": ("Macbeth", "macb.", "lady."),
    "brutus": ("Brutus", "bru.", "cassi."),
}
MOODS = ("positive", "negative", "neutral", "mirror", "any")


@dataclass
class ResponderConfig:
    persona: str = bounded("hamlet", choices=tuple(PERSONAS))
    mood: str = bounded("positive", choices=MOODS)
    candidates: int = bounded(64, low=1, high=1024)
    budget_ms: float = bounded(400.0, low=0.0)
    topic_stubs: bool = True
    answer_openings: bool = True
    prototypes: int = bounded(0, low=0, high=16)
    prototype_weight: float = bounded(0.2, low=0.0)
    max_chars: int = bounded(96, low=8)
    min_words: int = bounded(3, low=1)
    max_words: int = bounded(40, low=1)
    spelling_threshold: float = bounded(1.0, low=0.0, high=1.0)
    min_mood_fit: float = bounded(0.2, low=0.0, high=1.0)
    message_chars: int = bounded(300, low=1)
    memory_turns: int = bounded(20, low=0)


@dataclass
class DiscordConfig:
    token_file: str = ""
    cooldown_seconds: float = bounded(3.0, low=0.0)
    queue_per_channel: int = bounded(3, low=1)
    max_channels: int = bounded(200, low=1)


@dataclass
class CheckpointsConfig:
    char_model: str = "checkpoints/bard-char.pt"
    sentiment: str = "checkpoints/sentiment.pt"


@dataclass
class Config:
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    listen: ListenConfig = field(default_factory=ListenConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    sentiment: SentimentConfig = field(default_factory=SentimentConfig)
    responder: ResponderConfig = field(default_factory=ResponderConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    checkpoints: CheckpointsConfig = field(default_factory=CheckpointsConfig)
    # Relative paths in the config (checkpoints, corpus files) are taken from this folder.
    base_dir: Path = field(default=PROJECT_ROOT, compare=False, repr=False)

    def resolve(self, path: str | Path) -> Path:
        """A relative path is taken from the config file's folder; failing that, from the project,
        so that a copied config still finds the shipped checkpoints."""
        path = Path(path).expanduser()
        if path.is_absolute():
            return path
        local = self.base_dir / path
        return local if local.exists() or not (PROJECT_ROOT / path).exists() else PROJECT_ROOT / path

    def to_dict(self) -> dict:
        return {f.name: dataclasses.asdict(getattr(self, f.name)) for f in sections()}


def sections() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(Config) if dataclasses.is_dataclass(f.default_factory)]


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Load `path` (default: the project's config.yaml when present) and apply `section.key=value`
    overrides."""
    if path is None:
        path = DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None
    config = Config()
    if path is not None:
        path = Path(path)
        config.base_dir = path.resolve().parent
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"{path}: cannot read config file: {e.strerror}") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            raise ConfigError(f"{path}: not valid YAML{where}") from None
        apply_mapping(config, data, source=str(path))
    apply_overrides(config, overrides)
    return config


# Keys of bard 0.1 that this version reads no more, in config files and checkpoints alike:
# train.amp became train.precision; slash commands are synced by `bard discord --sync`.
RETIRED_KEYS = {"train.amp": "train.precision", "discord.sync_commands": "bard discord --sync"}


def config_from_dict(data: dict, source: str, base_dir: Path = PROJECT_ROOT) -> Config:
    """Rebuild a Config saved with Config.to_dict (e.g. from a checkpoint), checking it as a file."""
    config = Config(base_dir=base_dir)
    apply_mapping(config, data, source)
    return config


def apply_mapping(config: Config, data, source: str) -> None:
    if data is None:
        return
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    for section_name, values in data.items():
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: {section_name}: expected a mapping of keys")
        for key, value in values.items():
            if f"{section_name}.{key}" in RETIRED_KEYS:
                log.warning("%s: %s.%s is no longer used (see %s); ignoring it", source, section_name, key,
                            RETIRED_KEYS[f"{section_name}.{key}"])
                continue
            set_value(config, f"{section_name}.{key}", value, source)


def apply_overrides(config: Config, overrides: list[str]) -> None:
    for override in overrides:
        key_path, sep, text = override.partition("=")
        if not sep:
            raise ConfigError(f"--set {override}: expected section.key=value")
        set_value(config, key_path.strip(), parse_value(text), source="--set")


def parse_value(text: str):
    """A value typed by a person (`--set`, a chat command), read as YAML: 0.5, true, [a, b]."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def set_value(config: Config, key_path: str, value, source: str) -> None:
    section_name, _, key = key_path.partition(".")
    section_names = [f.name for f in sections()]
    if section_name not in section_names:
        raise ConfigError(
            f"{source}: {key_path}: unknown section {section_name!r}; "
            f"expected one of {', '.join(section_names)}"
        )
    section = getattr(config, section_name)
    fields = {f.name: f for f in dataclasses.fields(section)}
    if key not in fields:
        raise ConfigError(
            f"{source}: {key_path}: unknown key; {section_name} has {', '.join(fields)}"
        )
    hints = typing.get_type_hints(type(section))
    checked = check_value(value, hints[key], fields[key].metadata, f"{source}: {key_path}")
    setattr(section, key, checked)


def checked(key_path: str, value, source: str):
    """`value` for `section.key` as the config file would take it (converted to the key's type), or
    ConfigError with one line. Flags, chat commands and bots check values through this."""
    scratch = Config()
    set_value(scratch, key_path, value, source)
    section, key = key_path.split(".")
    return getattr(getattr(scratch, section), key)


def bounds(key_path: str) -> tuple:
    """(low, high) of a numeric key, for front-ends that show or enforce a range."""
    section, key = key_path.split(".")
    rules = next(f for f in dataclasses.fields(getattr(Config(), section)) if f.name == key).metadata
    return rules.get("low"), rules.get("high")


def check_value(value, hint, rules, where: str):
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
    elif hint is float:
        if isinstance(value, str):
            # PyYAML reads exponents without a dot ("1e-3") as strings.
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    elif hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
    elif typing.get_origin(hint) is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return list(value)
    low, high, choices = rules.get("low"), rules.get("high"), rules.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
    too_low = low is not None and (value <= low if rules.get("low_open") else value < low)
    if too_low or (high is not None and value > high):
        lower = f"> {low}" if rules.get("low_open") else f">= {low}"
        bounds = [b for b in (low is not None and lower, high is not None and f"<= {high}") if b]
        raise ConfigError(f"{where}: expected a value {' and '.join(bounds)}, got {value!r}")
    return value


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file, then rename: a crash mid-write leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def set_config_value(path: Path, key_path: str, value) -> None:
    """Set `section.key` in a config file with a round-trip YAML editor (ruamel.yaml), so every
    comment and the layout stay as they are (PyYAML would drop them). The value is checked like any
    other first."""
    import io

    from ruamel.yaml import YAML

    value = checked(key_path, value, source=str(path))
    section, key = key_path.split(".")
    editor = YAML()  # round-trip mode
    editor.preserve_quotes = True
    editor.width = 4096  # never re-wrap a long line
    editor.indent(mapping=2, sequence=4, offset=2)  # config.yaml's own list layout
    try:
        data = editor.load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file: {e.strerror}") from None
    if data is None:
        data = editor.load(f"{section}:\n")
    if data.get(section) is None:
        data[section] = {}
    data[section][key] = value
    text = io.StringIO()
    editor.dump(data, text)
    try:
        write_atomically(path, text.getvalue())
    except OSError as e:
        raise ConfigError(f"{path}: cannot write the config file: {e.strerror}") from None
