import dataclasses
import subprocess
import sys

import pytest
import yaml

from bard.config import DEFAULT_CONFIG_PATH, Config, load_config
from bard.errors import ConfigError


def test_config_yaml_documents_the_built_in_defaults():
    # The committed config.yaml and the dataclass defaults must never drift apart.
    assert load_config(DEFAULT_CONFIG_PATH).to_dict() == Config().to_dict()


def test_every_key_in_config_yaml_has_a_comment():
    lines = DEFAULT_CONFIG_PATH.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  ") and not line.strip().startswith(("#", "-")) and ":" in line:
            assert lines[i - 1].strip().startswith("#"), f"config.yaml line {i + 1} has no comment: {line}"


def test_overrides_are_parsed_to_the_key_type():
    config = load_config(None, ["model.hidden=64", "train.lr=1e-3", "corpus.lowercase=false",
                                "model.cell=gru", "corpus.gutenberg=[austen-emma.txt]"])
    assert config.model.hidden == 64
    assert config.train.lr == pytest.approx(1e-3)
    assert config.corpus.lowercase is False
    assert config.model.cell == "gru"
    assert config.corpus.gutenberg == ["austen-emma.txt"]


@pytest.mark.parametrize("override, message", [
    ("model.hiden=64", "--set: model.hiden: unknown key"),
    ("modle.hidden=64", "--set: modle.hidden: unknown section"),
    ("model.hidden=big", "--set: model.hidden: expected an integer, got 'big'"),
    ("model.hidden=1.5", "--set: model.hidden: expected an integer"),
    ("model.hidden=0", "--set: model.hidden: expected a value >= 1, got 0"),
    ("model.dropout=1.5", "--set: model.dropout: expected a value >= 0.0 and <= 0.9"),
    ("model.cell=transformer", "--set: model.cell: expected one of lstm, gru"),
    ("corpus.lowercase=maybe", "--set: corpus.lowercase: expected true or false"),
    ("train.lr=0", "--set: train.lr: expected a value > 0.0"),
    ("model.hidden", "--set model.hidden: expected section.key=value"),
])
def test_bad_overrides_name_the_key_and_the_expectation(override, message):
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[").replace(".", r"\.")):
        load_config(None, [override])


def test_bad_file_names_the_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"train": {"batch_size": -3}}))
    with pytest.raises(ConfigError, match=f"^{path}: train.batch_size: expected a value >= 1, got -3$"):
        load_config(path)
    path.write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")


def test_relative_paths_are_taken_from_the_config_folder(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("checkpoints:\n  char_model: models/mine.pt\n")
    config = load_config(path)
    assert config.resolve(config.checkpoints.char_model) == tmp_path / "models" / "mine.pt"


def test_partial_file_keeps_other_defaults(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text("model:\n  hidden: 32\n")
    config = load_config(path)
    assert config.model.hidden == 32
    assert dataclasses.asdict(config.train) == dataclasses.asdict(Config().train)


def test_cli_reports_a_bad_config_in_one_line_without_traceback():
    result = subprocess.run([sys.executable, "-m", "bard", "train", "--set", "model.layers=zero"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "bard train: error: --set: model.layers: expected an integer, got 'zero'"
    assert "Traceback" not in result.stderr


def test_settings_of_bard_0_1_are_ignored_with_a_warning(tmp_path, caplog):
    path = tmp_path / "old.yaml"
    path.write_text("train:\n  amp: true\n  lr: 0.002\ndiscord:\n  sync_commands: true\n")
    config = load_config(path)
    assert config.train.lr == 0.002
    assert "train.amp is no longer used (see train.precision)" in caplog.text
    assert "discord.sync_commands is no longer used (see bard discord --sync)" in caplog.text


@pytest.mark.parametrize("value", ["nan", ".nan", "inf", "-.inf"])
def test_numbers_must_be_finite(value):
    with pytest.raises(ConfigError, match="expected a finite number"):
        load_config(None, [f"sample.temperature={value}"])


def test_temperature_has_one_rule_for_every_front_end():
    from bard.cli import build_parser
    from bard.config import bounds
    from bard.discord_bot import TEMPERATURE_RANGE
    from bard.responder import Settings

    low, high = bounds("sample.temperature")
    assert (low, high) == (0.0, 3.0)
    assert (TEMPERATURE_RANGE.min_value, TEMPERATURE_RANGE.max_value) == (low, high)  # Discord's slash command
    settings = Settings.from_config(Config())
    for front_end_value in ("3.5", "-0.1", "nan"):  # /temp in the chat, and every flag
        with pytest.raises(ConfigError):
            settings.change("temperature", front_end_value)
        for command in (["reply", "--temperature"], ["generate", "--temperature"], ["tune-temperature", "--temperatures"]):
            with pytest.raises(SystemExit):
                build_parser().parse_args([*command, front_end_value])
    assert build_parser().parse_args(["reply", "--temperature", "0"]).temperature == 0.0
