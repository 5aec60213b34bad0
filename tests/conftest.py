import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED_NLTK = ROOT.parent / "shared" / "data" / "nltk_data"
# NLTK reads NLTK_DATA when it is first imported, so this must happen before any test imports it.
if "NLTK_DATA" not in os.environ and SHARED_NLTK.is_dir():
    os.environ["NLTK_DATA"] = str(SHARED_NLTK)

from bard.config import load_config  # noqa: E402
from bard.device import bf16_is_native  # noqa: E402
from bard.errors import CorpusError  # noqa: E402

# Tests train on three plays of the shipped Folio (375,444 characters, a twelfth of it), so they
# need no download: the same etexts as NLTK's three plays, without NLTK's title lines. The paths
# are relative to the project, which the config resolves them against from any working folder.
FOLIO_PLAYS = ("[corpora/folio/julius_caesar_gut_f.txt, corpora/folio/hamlet_gut_f.txt,"
               " corpora/folio/macbeth_gut_f.txt]")
# NLTK's three plays, for the tests whose subject is NLTK's gutenberg corpus.
NLTK_PLAYS = "[shakespeare-caesar.txt, shakespeare-hamlet.txt, shakespeare-macbeth.txt]"
TINY = [
    "corpus.gutenberg=[]", f"corpus.files={FOLIO_PLAYS}",
    "model.hidden=32", "model.layers=1", "model.embedding=16", "model.dropout=0.1",
    "train.seq_len=32", "train.batch_size=8", "train.max_steps=6", "train.eval_every=3",
    "train.warmup_steps=2",
    # A plain model, whatever config.yaml says (tests that want a listener add listen.* after these).
    "listen.conditioning=none",
]

# Under this variable (CI sets it) a test whose NLTK data is missing fails instead of skipping.
REQUIRE_NLTK_DATA = "BARD_REQUIRE_NLTK_DATA"
# Where NLTK keeps each package the tests read; corpora/<package> unless listed.
NLTK_RESOURCES = {"vader_lexicon": "sentiment/vader_lexicon"}
_nltk_missing: dict[str, bool] = {}  # package -> missing (and not downloadable), asked once per session


# oneDNN has no bfloat16 LSTM on CPUs without native bfloat16 (most AVX2-only CPUs), and bard
# refuses bfloat16 by name there; tests that need it are skipped, saying why.
needs_native_bf16 = pytest.mark.skipif(
    not bf16_is_native(torch.device("cpu")),
    reason="this CPU (or ATEN_CPU_CAPABILITY/ONEDNN_MAX_CPU_ISA) has no native bfloat16: no bfloat16 LSTM")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "nltk_data(*packages): the test reads these NLTK data packages; without them (and no "
                   f"download) it is skipped, or fails when {REQUIRE_NLTK_DATA}=1")


def missing_nltk_data(packages) -> list[str]:
    """The packages NLTK cannot find and bard.corpus.ensure_nltk_data could not download either."""
    from bard.corpus import ensure_nltk_data

    for package in packages:
        if package not in _nltk_missing:
            try:
                ensure_nltk_data(package, NLTK_RESOURCES.get(package, f"corpora/{package}"))
                _nltk_missing[package] = False
            except CorpusError:
                _nltk_missing[package] = True
    return [p for p in dict.fromkeys(packages) if _nltk_missing[p]]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skip (or, under BARD_REQUIRE_NLTK_DATA=1, fail) a test marked nltk_data before any of its
    fixtures is set up, module-scoped ones included."""
    packages = [p for mark in item.iter_markers("nltk_data") for p in mark.args]
    missing = missing_nltk_data(packages) if packages else []
    if not missing:
        return
    reason = (f"NLTK data {', '.join(missing)} missing and not downloadable; fetch it with "
              f"`python -m nltk.downloader {' '.join(missing)}`")
    if os.environ.get(REQUIRE_NLTK_DATA) == "1":
        pytest.fail(f"{reason} ({REQUIRE_NLTK_DATA}=1 forbids skipping; NLTK_DATA="
                    f"{os.environ.get('NLTK_DATA', '(unset)')})", pytrace=False)
    # Reported at the test's own line, as pytest reports a skip raised by a fixture or a skip mark.
    raise pytest.skip.Exception(reason, _use_item_location=True)


@pytest.fixture
def tiny_config():
    """The project's config shrunk to a model that trains in a second on three Folio plays."""
    return load_config(None, TINY)


@pytest.fixture
def nltk_plays_config():
    """The tiny config on NLTK's three plays instead (mark the test nltk_data("gutenberg"))."""
    return load_config(None, [*TINY, f"corpus.gutenberg={NLTK_PLAYS}", "corpus.files=[]"])


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    from bard.training import train

    out = tmp_path_factory.mktemp("tiny-run")
    train(load_config(None, [*TINY, "train.max_steps=20", "train.eval_every=10"]), out, device="cpu")
    return out / "last.pt"
