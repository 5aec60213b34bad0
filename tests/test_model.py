import pytest
import torch

from bard.config import ModelConfig
from bard.model import CharLSTM, repeat_state


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_shapes_with_and_without_state(cell):
    model = CharLSTM(50, ModelConfig(cell=cell, embedding=8, hidden=16, layers=2, dropout=0.1)).eval()
    ids = torch.randint(50, (4, 7), dtype=torch.uint8)
    logits, state = model(ids)
    assert logits.shape == (4, 7, 50)
    states = state if cell == "lstm" else (state,)
    assert all(s.shape == (2, 4, 16) for s in states)
    more, _ = model(ids[:, :1], state)
    assert more.shape == (4, 1, 50)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_carried_state_equals_reading_the_whole_sequence(cell):
    torch.manual_seed(0)
    model = CharLSTM(30, ModelConfig(cell=cell, embedding=8, hidden=16, layers=2, dropout=0.0)).eval()
    ids = torch.randint(30, (3, 12))
    whole, _ = model(ids)
    first, state = model(ids[:, :5])
    rest, _ = model(ids[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, rest], 1), whole)


def test_repeat_state_copies_one_sequence_across_the_batch():
    model = CharLSTM(10, ModelConfig(embedding=4, hidden=6, layers=1, dropout=0.0)).eval()
    _, state = model(torch.tensor([[1, 2, 3]]))
    h, c = repeat_state(state, 5)
    assert h.shape == c.shape == (1, 5, 6)
    assert torch.equal(h[:, 4], state[0][:, 0])
