"""`bard chat`: the terminal front-end. It holds no generation logic: every reply comes from the
Responder, made in a worker thread so that the interface keeps answering keys while the bard
thinks. The chat is saved after every message (bard/history.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Static

from bard.config import MOODS, PERSONAS, write_atomically
from bard.errors import ConfigError
from bard.history import ChatLog, to_markdown
from bard.responder import Reply, Responder, Settings, Turn

log = logging.getLogger(__name__)

COMMANDS = {
    "/temp X": "sampling temperature, e.g. /temp 0.7",
    "/mood M": "target mood: " + ", ".join(MOODS),
    "/persona NAME": "who answers: " + ", ".join(PERSONAS),
    "/candidates N": "candidates sampled per reply",
    "/clear": "start a new conversation",
    "/save FILE": "write the transcript as Markdown",
    "/help": "this list",
}
SETTING_COMMANDS = {"temp": "temperature", "temperature": "temperature", "mood": "mood",
                    "persona": "persona", "candidates": "candidates"}
# The chosen reply is typed out over about half a second.
TYPE_INTERVAL = 0.015
TYPE_CHARS = 3


# The message's words the inspector names, most attended first.
ATTENDED_WORDS = 6


class HistoryInput(Input):
    """An input line that remembers what was sent: up and down walk through it."""

    BINDINGS = [Binding("up", "older", "previous", show=False), Binding("down", "newer", "next", show=False)]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.history: list[str] = []
        self.position = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self.position = len(self.history)

    def show(self, position: int) -> None:
        self.position = position
        self.value = self.history[position] if position < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_older(self) -> None:
        if self.position > 0:
            self.show(self.position - 1)

    def action_newer(self) -> None:
        if self.position < len(self.history):
            self.show(self.position + 1)


class Speech(Static):
    """One message in the transcript, its speaker's name in bold."""

    def __init__(self, speaker: str, text: str, classes: str):
        super().__init__(classes=f"message {classes}")
        self.speaker = speaker
        self.text = text
        self.show_text(text)

    def show_text(self, text: str) -> None:
        self.update(Text.assemble((f"{self.speaker}: ", "bold"), text))


class BardApp(App):
    CSS_PATH = "tui.tcss"
    TITLE = "bard"
    BINDINGS = [
        Binding("f2", "toggle_inspector", "Candidates"),
        Binding("ctrl+l", "clear", "New chat"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, responder: Responder, chat: ChatLog):
        """`chat`: a new ChatLog, or a saved one to resume with its turns and settings."""
        super().__init__()
        self.responder = responder
        self.chat = chat
        self.conversation = responder.restore(chat.turns, chat.settings)
        self.thinking = False
        self.typer: Timer | None = None
        self.typing: tuple[Speech, str, int] | None = None
        self.last_reply: Reply | None = None

    @property
    def bard_name(self) -> str:
        return PERSONAS[self.settings.persona][0]

    @property
    def settings(self) -> Settings:
        return self.conversation.settings

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            yield VerticalScroll(id="transcript")
            with Vertical(id="inspector"):
                yield Static(id="attended")
                yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static(id="thinking")
        yield Static(id="status")
        yield HistoryInput(placeholder="Say something to the bard, or /help", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("#", "score", "mood", "spell", "verdict", "seed", "candidate", "prototype")
        for turn in self.chat.turns:
            self.add_speech(turn.speaker, turn.text)
        if self.chat.turns:
            self.add_notice(f"Resumed {self.chat.path.name}: {len(self.chat.turns)} messages.")
        else:
            self.add_notice(f"{self.bard_name} waits. Type a message and press Enter; /help lists the commands.")
        self.refresh_labels()
        self.query_one(HistoryInput).focus()

    # Transcript -----------------------------------------------------------------------------

    def add_speech(self, speaker: str, text: str, fallback: bool = False) -> Speech:
        name = "You" if speaker == "user" else self.bard_name
        classes = "user" if speaker == "user" else "bard fallback" if fallback else "bard"
        speech = Speech(name, text, classes)
        transcript = self.query_one("#transcript", VerticalScroll)
        transcript.mount(speech)
        transcript.scroll_end(animate=False)
        return speech

    def add_notice(self, text: str) -> None:
        transcript = self.query_one("#transcript", VerticalScroll)
        transcript.mount(Static(Text(text), classes="message notice"))
        transcript.scroll_end(animate=False)

    def refresh_labels(self) -> None:
        settings = self.settings
        self.sub_title = f"{self.bard_name} · {self.responder.model_name}"
        status = f"temperature {settings.temperature:g} · mood {settings.mood} · up to {settings.candidates} candidates"
        if self.last_reply:
            reply = self.last_reply
            # The reply budget may have sampled fewer candidates than the setting allows.
            status += (f" · last reply {reply.latency_ms:.0f} ms, {reply.n_accepted} of {len(reply.candidates)} "
                       "candidates accepted"
                       + (" (fallback)" if reply.fallback else ""))
        self.query_one("#status", Static).update(Text(status))
        self.query_one("#thinking", Static).update(Text(f"{self.bard_name} is thinking…"))

    # Sending and replying -------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value
        event.input.value = ""
        self.query_one(HistoryInput).remember(text)
        if text.strip().startswith("/"):
            self.run_command(text.strip())
            return
        if self.thinking:
            self.notify(f"{self.bard_name} is still thinking; wait for the reply.", severity="warning")
            return
        self.chat.add(Turn("user", text), self.settings)
        self.add_speech("user", text)
        self.thinking = True
        self.query_one("#thinking").add_class("shown")
        self.make_reply(text, self.conversation)

    @work(thread=True, group="reply")
    def make_reply(self, message: str, conversation) -> None:
        try:
            reply = self.responder.reply(conversation, message)
        except Exception:  # a failed reply must not take the chat down with it
            log.exception("the responder failed")
            self.call_from_thread(self.reply_failed)
            return
        self.call_from_thread(self.show_reply, reply, conversation)

    def reply_failed(self) -> None:
        self.stop_thinking()
        self.notify("Something went wrong making that reply; see the log. Try again.", severity="error")

    def stop_thinking(self) -> None:
        self.thinking = False
        self.query_one("#thinking").remove_class("shown")

    def show_reply(self, reply: Reply, conversation) -> None:
        self.stop_thinking()
        if conversation is not self.conversation:  # the chat was cleared meanwhile
            return
        self.last_reply = reply
        self.chat.add(Turn("bard", reply.text), self.settings)
        self.type_out(self.add_speech("bard", "", fallback=reply.fallback), reply.text)
        self.fill_inspector(reply)
        self.refresh_labels()

    def type_out(self, speech: Speech, text: str) -> None:
        self.finish_typing()
        speech.text = text
        self.typing = (speech, text, 0)
        self.typer = self.set_interval(TYPE_INTERVAL, self.type_step)

    def type_step(self) -> None:
        speech, text, shown = self.typing
        shown = min(len(text), shown + TYPE_CHARS)
        speech.show_text(text[:shown])
        self.typing = (speech, text, shown)
        if shown == len(text):
            self.finish_typing()
        self.query_one("#transcript", VerticalScroll).scroll_end(animate=False)

    def finish_typing(self) -> None:
        if self.typer:
            self.typer.stop()
            speech, text, _ = self.typing
            speech.show_text(text)
        self.typer = self.typing = None

    def fill_inspector(self, reply: Reply) -> None:
        table = self.query_one(DataTable)
        table.clear()
        attended = "  ".join(f"{word} {share:.0%}" for word, share in reply.attended[:ATTENDED_WORDS])
        label = self.query_one("#attended", Static)
        label.update(f"Attended to: {attended}")
        label.display = bool(attended)  # a plain model attends to nothing: no empty line
        for i, c, verdict in reply.ranked():
            style = "bold green" if i == reply.chosen else "" if c.accepted else "dim"
            table.add_row(str(i), f"{c.score:.2f}", f"{c.mood_fit:.2f}", f"{c.spelling:.2f}", verdict[:28],
                          c.seed.strip() or "-", Text(c.text, style=style), c.prototype or "-")

    # Commands -------------------------------------------------------------------------------

    def run_command(self, line: str) -> None:
        name, _, argument = line[1:].partition(" ")
        name, argument = name.lower(), argument.strip()
        if name in SETTING_COMMANDS:
            if argument:
                self.change_setting(SETTING_COMMANDS[name], argument)
            else:
                self.notify(f"/{name} needs a value; /help lists the commands", severity="error")
        elif name == "clear":
            self.action_clear()
        elif name == "save":
            self.save_markdown(argument)
        elif name == "help":
            self.add_notice("\n".join(f"{command:<15} {what}" for command, what in COMMANDS.items()))
        else:
            self.notify(f"unknown command /{name}; /help lists the commands", severity="error")

    def change_setting(self, name: str, value: str) -> None:
        try:
            self.settings.change(name, value)
        except ConfigError as e:
            self.notify(str(e), severity="error")
            return
        self.chat.save(self.settings)
        self.refresh_labels()
        self.notify(f"{name} is now {getattr(self.settings, name)}")

    def save_markdown(self, argument: str) -> None:
        path = Path(argument or f"bard-chat-{time.strftime('%Y%m%d-%H%M%S')}.md").expanduser()
        try:
            write_atomically(path, to_markdown(self.chat.turns, self.bard_name))
        except OSError as e:
            self.notify(f"cannot save {path}: {e.strerror}", severity="error")
            return
        self.notify(f"saved the transcript to {path}")

    def action_clear(self) -> None:
        self.finish_typing()
        self.chat = self.chat.fresh()
        self.conversation = self.responder.new_conversation(self.settings)  # the settings carry over
        self.last_reply = None
        self.query_one("#transcript", VerticalScroll).remove_children()
        self.query_one(DataTable).clear()
        self.add_notice(f"A new conversation. {self.bard_name} waits.")
        self.refresh_labels()

    def action_toggle_inspector(self) -> None:
        self.query_one("#inspector").toggle_class("shown")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Candidates", "Show or hide the candidates of the last reply (F2)", self.action_toggle_inspector)
        yield SystemCommand("New chat", "Forget this conversation and start another (/clear)", self.action_clear)
        yield SystemCommand("Save transcript", "Write the chat as Markdown in this folder (/save)", lambda: self.save_markdown(""))
        for mood in MOODS:
            yield SystemCommand(f"Mood: {mood}", f"Aim replies at a {mood} mood (/mood {mood})",
                                lambda mood=mood: self.change_setting("mood", mood))
        for persona, (name, _, _) in PERSONAS.items():
            yield SystemCommand(f"Persona: {name}", f"{name} answers (/persona {persona})",
                                lambda persona=persona: self.change_setting("persona", persona))
        for temperature in ("0.4", "0.7", "1.0"):
            yield SystemCommand(f"Temperature: {temperature}", "Lower is safer, higher is wilder (/temp)",
                                lambda t=temperature: self.change_setting("temperature", t))
