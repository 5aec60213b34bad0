"""`bard chat` under Textual's test pilot, with the real responder on the shipped models."""

import subprocess
import sys
import threading

import pytest
from textual.widgets import DataTable

from bard.config import load_config
from bard.history import ChatLog
from bard.responder import FALLBACKS, Responder, Settings, Turn
from bard.tui import BardApp, Speech


@pytest.fixture(scope="module")
def responder():
    return Responder.load(load_config(None), seed=0)


@pytest.fixture
def make_app(responder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)

    def make(chat=None):
        app = BardApp(responder, chat or ChatLog.new())
        # Every notification the app shows, recorded through its public notify().
        app.notices, notify = [], app.notify

        def recording_notify(message, *args, **kwargs):
            app.notices.append(str(message))
            return notify(message, *args, **kwargs)

        app.notify = recording_notify
        return app
    return make


async def send(pilot, text):
    if text:
        await pilot.press(*text)
    await pilot.press("enter")
    await settle(pilot)


async def settle(pilot):
    await pilot.app.workers.wait_for_complete()
    while pilot.app.typing or pilot.app.thinking:
        await pilot.pause(0.05)
    await pilot.pause()


def speeches(app):
    return [(s.speaker, s.text) for s in app.query(Speech)]


async def test_a_message_shows_then_a_reply_is_typed_out(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"Good morrow")
        await pilot.press("enter")
        assert speeches(app)[0] == ("You", "Good morrow")
        await settle(pilot)
        (you, _), (bard, reply) = speeches(app)
        assert bard == "Hamlet" and reply == app.last_reply.text and reply
        assert f"{app.last_reply.latency_ms:.0f} ms" in str(app.query_one("#status").render())
        # Saved as it went: both turns are on disk.
        saved = ChatLog.load(app.chat.path)
        assert [t.speaker for t in saved.turns] == ["user", "bard"] and saved.turns[1].text == reply


async def test_the_inspector_lists_every_candidate(make_app):
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, "What news from Denmark?")
        table = app.query_one(DataTable)
        assert not app.query_one("#inspector").display
        await pilot.press("f2")
        assert app.query_one("#inspector").display and table.row_count == len(app.last_reply.candidates) == 64
        first = table.get_row_at(0)
        assert first[4] == "chosen" and str(first[6]) == app.last_reply.text


async def test_commands_change_settings_and_bad_ones_give_a_notice(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        for command in ("/temp 0.9", "/mood negative", "/persona macbeth", "/candidates 16"):
            await send(pilot, command)
        settings = app.conversation.settings
        assert (settings.temperature, settings.mood, settings.persona, settings.candidates) == (0.9, "negative", "macbeth", 16)
        assert app.responder.defaults.mood == "positive"  # the conversation's own, not the responder's
        assert ChatLog.load(app.chat.path).settings == settings  # saved with the chat
        assert "Macbeth" in app.sub_title and "mood negative" in str(app.query_one("#status").render())
        await send(pilot, "Is this a dagger?")
        assert speeches(app)[-1][0] == "Macbeth" and len(app.last_reply.candidates) == 16
        for bad in ("/temp hot", "/temp 50", "/mood angry", "/persona yorick", "/candidates 0", "/frobnicate", "/temp"):
            await send(pilot, bad)
        notices = app.notices
        assert len([n for n in notices if "expected" in n or "unknown command" in n or "needs a value" in n]) == 7
        assert any("<= 3.0, got 50" in n for n in notices)  # the config's one temperature rule
        assert settings.temperature == 0.9 and app.is_running


async def test_clear_save_and_help(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Who's there?")
        await send(pilot, "/save chat.md")
        text = (tmp_path / "chat.md").read_text()
        assert text.startswith("# A conversation with Hamlet") and "**You:** Who's there?" in text
        await send(pilot, "/save chat.md/inside.md")  # a file where a folder should be
        assert any("cannot save" in n for n in app.notices)
        first_file = app.chat.path
        await send(pilot, "/clear")
        assert speeches(app) == [] and app.chat.path != first_file and app.conversation.state is None
        await send(pilot, "/help")
        assert "/persona NAME" in str(app.query(".notice").last().render())


async def test_input_history_walks_back_with_up(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/mood any")
        await send(pilot, "/temp 0.5")
        await pilot.press("up")
        assert app.query_one("#message").value == "/temp 0.5"
        await pilot.press("up")
        assert app.query_one("#message").value == "/mood any"
        await pilot.press("down", "down")
        assert app.query_one("#message").value == ""


async def test_resume_restores_the_saved_transcript(make_app, responder, tmp_path):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/persona brutus")
        await send(pilot, "Hail, Caesar!")
        said = speeches(app)
    resumed = ChatLog.latest()
    assert resumed.path == app.chat.path and resumed.settings.persona == "brutus"
    again = make_app(resumed)
    async with again.run_test(size=(100, 30)) as pilot:
        assert speeches(again) == said
        assert again.conversation.state is not None and len(again.conversation.turns) == 2
        await send(pilot, "And Rome?")
        assert len(ChatLog.load(resumed.path).turns) == 4


async def test_a_message_is_saved_before_the_reply_arrives(make_app, monkeypatch):
    app = make_app()
    release = threading.Event()
    real_reply = app.responder.reply

    def slow_reply(*args, **kwargs):
        release.wait(10)
        return real_reply(*args, **kwargs)

    async with app.run_test(size=(100, 30)) as pilot:
        monkeypatch.setattr(app.responder, "reply", slow_reply)
        await pilot.press(*"Speak", "enter")
        await pilot.pause(0.2)
        # While the bard thinks, the interface still answers keys and the message is on disk.
        assert app.thinking and app.query_one("#thinking").display
        await pilot.press("f2")
        assert app.query_one("#inspector").display
        assert [t.text for t in ChatLog.load(app.chat.path).turns] == ["Speak"]
        release.set()
        await settle(pilot)
        assert [t.speaker for t in ChatLog.load(app.chat.path).turns] == ["user", "bard"]
    monkeypatch.undo()


async def test_a_failing_responder_gives_a_notice_not_a_crash(make_app, monkeypatch):
    app = make_app()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    async with app.run_test(size=(100, 30)) as pilot:
        monkeypatch.setattr(app.responder, "reply", broken)
        await send(pilot, "hello")
        assert app.is_running and not app.thinking
        assert any("went wrong" in n for n in app.notices)
        monkeypatch.undo()


def test_main_screen_snapshot(make_app, snap_compare, tmp_path):
    settings = Settings("hamlet", "positive", 0.7, 64)
    turns = [Turn("user", "Good morrow, my lord."), Turn("bard", FALLBACKS["hamlet"][1])]
    assert snap_compare(make_app(ChatLog(tmp_path / "saved.json", turns, settings)), terminal_size=(90, 24))


def test_bard_chat_help_and_missing_checkpoint():
    helped = subprocess.run([sys.executable, "-m", "bard", "chat", "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "--resume" in helped.stdout and "/help" in helped.stdout
    missing = subprocess.run([sys.executable, "-m", "bard", "chat", "--checkpoint", "/nonexistent.pt"],
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "checkpoint not found: /nonexistent.pt" in missing.stderr
    assert "Traceback" not in missing.stderr
