"""`bard tune-temperature` on a tiny model trained on the plays, and its NLL on the shipped one."""

import json
import shutil
import subprocess
import sys

import pytest

from bard.config import DEFAULT_CONFIG_PATH, load_config, set_config_value
from bard.errors import ConfigError
from bard.responder import Responder
from bard.tuning import Sweep, distinct2, validation_prompts


def tune(*args):
    return subprocess.run([sys.executable, "-m", "bard", "tune-temperature", *args],
                          capture_output=True, text=True, check=False)


@pytest.fixture
def config_copy(tmp_path):
    copy = tmp_path / "copy.yaml"
    shutil.copy(DEFAULT_CONFIG_PATH, copy)
    return copy


def test_the_sweep_picks_a_grid_temperature_and_writes_it_keeping_comments(config_copy, tmp_path):
    # The shipped model: a tiny one accepts no candidate at any temperature, so every score would be
    # 0 and any choice would pass.
    shipped = load_config(None).checkpoints.char_model
    before = config_copy.read_text()
    args = ["--config", str(config_copy), "--checkpoint", str(shipped), "--temperatures", "0.1,1.3",
            "--prompts", "2", "--samples", "6", "--seed", "1", "--plot", str(tmp_path / "tune.png")]
    result = tune(*args, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = {row["temperature"]: row for row in report["results"]}
    assert set(rows) == {0.1, 1.3}
    assert rows[0.1]["score"] != pytest.approx(rows[1.3]["score"], abs=0.01)
    # The best is the row with the highest score (not the first, the last or the lowest).
    assert report["best_temperature"] == max(rows.values(), key=lambda row: row["score"])["temperature"]
    for row in rows.values():
        assert 0 <= row["acceptance"] <= 1 and 0 <= row["verbatim"] <= 1 and 0 <= row["distinct2"] <= 1
        assert row["score"] == pytest.approx(row["acceptance"] * row["distinct2"] * (1 - row["verbatim"]))
    # Logits divided by T: a sweep that ignored T would give equal figures (that the NLL is lowest
    # near T = 1 is checked on the trained, shipped model below).
    assert rows[1.3]["nll"] != pytest.approx(rows[0.1]["nll"], abs=1e-3)
    assert load_config(config_copy).sample.temperature == report["best_temperature"]
    changed = [(a, b) for a, b in zip(before.splitlines(), config_copy.read_text().splitlines()) if a != b]
    assert len(before.splitlines()) == len(config_copy.read_text().splitlines())
    assert len(changed) <= 1 and all(b.strip().startswith("temperature:") for _, b in changed)
    assert (tmp_path / "tune.png").read_bytes().startswith(b"\x89PNG")
    # Reproducible with a seed, and --dry-run touches nothing.
    written = config_copy.read_bytes()
    again = tune(*args, "--json", "--dry-run")

    def measured(rows):  # everything but the speed, which wanders
        return [{k: v for k, v in row.items() if k != "candidates_per_s"} for row in rows]

    assert again.returncode == 0 and measured(json.loads(again.stdout)["results"]) == measured(report["results"])
    assert config_copy.read_bytes() == written
    table = tune(*args[:-2], "--dry-run")
    assert table.returncode == 0 and "best temperature" in table.stdout and "*" in table.stdout


@pytest.mark.parametrize("grid", ["-0.5,0.5", "-1", "hot,cold", ",", "9"])
def test_bad_temperature_grids_give_one_line(grid):
    result = tune("--temperatures", grid, "--dry-run")
    assert result.returncode == 2 and "--temperatures" in result.stderr and "Traceback" not in result.stderr


def test_bad_prompts_checkpoint_and_config_give_one_line(tmp_path, config_copy, tiny_checkpoint):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    result = tune("--checkpoint", str(tiny_checkpoint), "--prompts", str(empty), "--dry-run")
    assert result.returncode == 2 and "holds no prompts" in result.stderr
    result = tune("--checkpoint", str(tmp_path / "none.pt"), "--dry-run")
    assert result.returncode == 2 and "checkpoint not found" in result.stderr
    # A config that cannot be replaced (even by root): the sweep fails to write, and the file is whole.
    (tmp_path / "copy.yaml.partial").mkdir()
    before = config_copy.read_bytes()
    result = tune("--config", str(config_copy), "--checkpoint", str(tiny_checkpoint), "--temperatures", "0.5",
                  "--prompts", "1", "--samples", "2", "--plot", str(tmp_path / "p.png"))
    assert result.returncode == 2 and "cannot write the config file" in result.stderr
    assert config_copy.read_bytes() == before


def test_set_config_value_checks_the_value_and_adds_missing_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("# mine\nsample:\n  # how wild\n  temperature: 0.7  # keep me\n")
    set_config_value(path, "sample.temperature", 0.45)
    assert path.read_text() == "# mine\nsample:\n  # how wild\n  temperature: 0.45 # keep me\n"
    set_config_value(path, "sample.top_k", 5)
    set_config_value(path, "responder.mood", "any")
    config = load_config(path)
    assert (config.sample.temperature, config.sample.top_k, config.responder.mood) == (0.45, 5, "any")
    with pytest.raises(ConfigError):
        set_config_value(path, "sample.temperature", -1)


def test_nll_is_lowest_near_one_on_the_trained_model():
    config = load_config(None)
    sweep = Sweep(Responder.load(config, seed=0))
    nlls = {t: sweep.nll(t) for t in (0.3, 0.6, 1.0, 1.6, 3.0)}
    assert min(nlls, key=nlls.get) == 1.0
    assert nlls[1.0] == pytest.approx(1.1998, abs=0.01)  # the shipped model's held-out loss on the Folio
    # The verbatim check finds a line of the training text, and not an invented one.
    assert sweep.copies_training_text("Tis now strook twelue, get thee to bed Francisco")
    assert not sweep.copies_training_text("the quick brown fox jumps over the lazy dog and runs away")


def test_prompts_and_distinct2():
    text = "\n\n   ham. to be, or not to be.\n\n   hor. my lord, i came to see.\n\n   ham. no.\n"
    assert validation_prompts(text, 5) == ["to be, or not to be.", "my lord, i came to see."]
    assert distinct2(["a b a b", "c d"]) == pytest.approx(3 / 4)
