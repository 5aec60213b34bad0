import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_NLTK = ROOT.parent / "shared" / "data" / "nltk_data"
# NLTK reads NLTK_DATA when it is first imported, so this must happen before any test imports it.
if "NLTK_DATA" not in os.environ and SHARED_NLTK.is_dir():
    os.environ["NLTK_DATA"] = str(SHARED_NLTK)

from bard.config import load_config  # noqa: E402

# Tests train on NLTK's three plays (375k characters), a twelfth of the default Folio corpus.
NLTK_PLAYS = "[shakespeare-caesar.txt, shakespeare-hamlet.txt, shakespeare-macbeth.txt]"
TINY = [
    f"corpus.gutenberg={NLTK_PLAYS}", "corpus.files=[]",
    "model.hidden=32", "model.layers=1", "model.embedding=16", "model.dropout=0.1",
    "train.seq_len=32", "train.batch_size=8", "train.max_steps=6", "train.eval_every=3",
    "train.warmup_steps=2",
]


@pytest.fixture
def tiny_config():
    """The project's config shrunk to a model that trains in a second on the real plays."""
    return load_config(None, TINY)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    from bard.training import train

    out = tmp_path_factory.mktemp("tiny-run")
    train(load_config(None, [*TINY, "train.max_steps=20", "train.eval_every=10"]), out, device="cpu")
    return out / "last.pt"
