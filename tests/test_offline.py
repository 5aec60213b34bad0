"""Chatting needs no NLTK data and no network: the lexicon's words ship in the checkpoint and in
bard/data, and the default training corpus ships in corpora/."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT


@pytest.fixture
def offline_env(tmp_path):
    """No NLTK_DATA, an empty HOME (so no ~/nltk_data), and a proxy on a closed local port, so that
    any attempt to download fails at once."""
    env = {k: v for k, v in os.environ.items() if k != "NLTK_DATA"}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), https_proxy="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    probe = subprocess.run([sys.executable, "-c", "import nltk; nltk.data.find('corpora/words.zip')"],
                           env=env, capture_output=True, cwd=tmp_path)
    if probe.returncode == 0:
        pytest.skip("this machine has NLTK data in a system folder; it cannot be hidden here")
    return env


def test_reply_needs_no_nltk_data(offline_env, tmp_path):
    result = subprocess.run([sys.executable, "-m", "bard", "reply", "Good morrow", "--json", "--seed", "1"],
                            capture_output=True, text=True, env=offline_env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["text"] and not reply["fallback"] and reply["n_accepted"] > 0


def test_chat_starts_and_answers_without_nltk_data(offline_env, tmp_path):
    # The same loading path as `bard chat`, then the real app under Textual's pilot.
    script = textwrap.dedent("""
        import asyncio
        from bard.cli import build_parser, load_responder
        from bard.history import ChatLog
        from bard.tui import BardApp

        async def main():
            _, responder = load_responder(build_parser().parse_args(["chat", "--seed", "1"]))
            app = BardApp(responder, ChatLog.new())
            async with app.run_test() as pilot:
                await pilot.press(*"Good morrow", "enter")
                await app.workers.wait_for_complete()
                while app.thinking or app.typing:
                    await pilot.pause(0.05)
                print(app.last_reply.text)

        asyncio.run(main())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=offline_env,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_training_on_the_default_corpus_needs_no_download(offline_env, tmp_path):
    tiny = ["model.hidden=16", "model.layers=1", "model.embedding=8", "train.seq_len=16", "train.batch_size=4",
            "train.eval_every=1"]
    result = subprocess.run([sys.executable, "-m", "bard", "train", "--max-steps", "1", "--out", str(tmp_path / "run"),
                             "--config", str(ROOT / "config.yaml"), *(a for s in tiny for a in ("--set", s))],
                            capture_output=True, text=True, env=offline_env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    from bard.checkpoint import load_checkpoint

    meta = load_checkpoint(tmp_path / "run" / "best.pt").meta
    assert meta["config"]["corpus"]["files"] == ["corpora/folio"] and meta["train_chars"] > 4_000_000
