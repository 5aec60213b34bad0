import pickle

import pytest
import torch

from bard.checkpoint import load_checkpoint
from bard.errors import CheckpointError


def test_save_load_round_trip_gives_the_same_model(tiny_checkpoint):
    a, b = load_checkpoint(tiny_checkpoint), load_checkpoint(tiny_checkpoint)
    ids = a.vocab.encode("the king is dead")[None]
    torch.testing.assert_close(a.model(ids)[0], b.model(ids)[0])
    assert a.meta["bard_version"] and a.meta["vocab"] == a.vocab.chars and a.meta["step"] == 20
    assert a.meta["config"]["corpus"]["files"][0] == "corpora/folio/julius_caesar_gut_f.txt"


def test_truncated_corrupt_and_foreign_files_give_one_line_naming_the_file(tiny_checkpoint, tmp_path):
    data = tiny_checkpoint.read_bytes()
    cases = {
        "truncated.pt": data[: len(data) // 2],
        "noise.pt": bytes(range(256)) * 40,
        "empty.pt": b"",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=f"^{tmp_path / name}: not a readable bard checkpoint") as e:
            load_checkpoint(tmp_path / name)
        assert "\n" not in str(e.value)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a bard character-model checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


class RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_checkpoint_can_never_run_code(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "bard-char-model/1", "payload": RunsCode()}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="not a readable bard checkpoint"):
        load_checkpoint(path)
    assert "this must never run" not in capsys.readouterr().out
