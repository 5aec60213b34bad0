"""Chats saved as they go, under the user's data directory (platformdirs: $XDG_DATA_HOME/bard on
Linux, ~/Library/Application Support/bard on macOS, %LOCALAPPDATA%\\bard on Windows), so that
`bard chat --resume` can reopen the last one; and transcripts as Markdown."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from platformdirs import user_data_path

from bard.config import write_atomically
from bard.errors import BardError, ConfigError
from bard.responder import SETTING_KEYS, Settings, Turn

FORMAT = "bard-chat/1"


def chats_dir() -> Path:
    return user_data_path("bard", appauthor=False) / "chats"


@dataclass
class ChatLog:
    """One chat on disk: every turn, and the conversation's settings as last saved (None until the
    first save of a new chat)."""
    path: Path
    turns: list[Turn] = field(default_factory=list)
    settings: Settings | None = None

    @classmethod
    def new(cls, folder: Path | None = None) -> ChatLog:
        folder = folder or chats_dir()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"{stamp}.json"
        for n in range(1, 1000):
            if not path.exists():
                break
            path = folder / f"{stamp}-{n}.json"
        return cls(path)

    def fresh(self) -> ChatLog:
        """A new, empty chat saved beside this one."""
        return ChatLog.new(self.path.parent)

    @classmethod
    def latest(cls) -> ChatLog | None:
        """The most recently saved chat, or None when there is none."""
        saved = sorted(chats_dir().glob("*.json"), key=lambda p: p.stat().st_mtime)
        return cls.load(saved[-1]) if saved else None

    @classmethod
    def load(cls, path: Path) -> ChatLog:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            settings = Settings(**data["settings"])
            for name in SETTING_KEYS:  # checked as the config would check them: the file may be old or edited
                settings.change(name, str(getattr(settings, name)))
            return cls(path, [Turn(**t) for t in data["turns"]], settings)
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as e:
            raise BardError(f"cannot read saved chat {path}: {e}") from None

    def add(self, turn: Turn, settings: Settings) -> None:
        self.turns.append(turn)
        self.save(settings)

    def save(self, settings: Settings) -> None:
        """Write every turn and a copy of `settings` (the conversation's, which the chat may change)."""
        self.settings = dataclasses.replace(settings)
        data = {"format": FORMAT, "settings": asdict(self.settings), "turns": [asdict(t) for t in self.turns]}
        write_atomically(self.path, json.dumps(data, ensure_ascii=False, indent=1))


def to_markdown(turns: list[Turn], bard_name: str) -> str:
    lines = [f"# A conversation with {bard_name}", ""]
    for turn in turns:
        speaker = "You" if turn.speaker == "user" else bard_name
        lines += [f"**{speaker}:** {turn.text}", ""]
    return "\n".join(lines)
