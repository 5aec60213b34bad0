"""Chats saved as they go, under the user's data directory (XDG), so `bard chat --resume` can
reopen the last one; and transcripts as Markdown."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bard.config import write_atomically
from bard.errors import BardError
from bard.responder import Settings, Turn

FORMAT = "bard-chat/1"


def data_dir() -> Path:
    """$XDG_DATA_HOME/bard, by default ~/.local/share/bard."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "bard"


@dataclass
class ChatLog:
    path: Path
    settings: Settings
    turns: list[Turn] = field(default_factory=list)

    @classmethod
    def new(cls, settings: Settings, directory: Path | None = None) -> ChatLog:
        folder = (directory or data_dir()) / "chats"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"{stamp}.json"
        for n in range(1, 1000):
            if not path.exists():
                break
            path = folder / f"{stamp}-{n}.json"
        return cls(path, settings)

    @classmethod
    def latest(cls, directory: Path | None = None) -> ChatLog | None:
        """The most recently saved chat, or None when there is none."""
        saved = sorted((directory or data_dir()).joinpath("chats").glob("*.json"), key=lambda p: p.stat().st_mtime)
        return cls.load(saved[-1]) if saved else None

    @classmethod
    def load(cls, path: Path) -> ChatLog:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            return cls(path, Settings(**data["settings"]), [Turn(**t) for t in data["turns"]])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BardError(f"cannot read saved chat {path}: {e}") from None

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)
        self.save()

    def save(self) -> None:
        data = {"format": FORMAT, "settings": asdict(self.settings), "turns": [asdict(t) for t in self.turns]}
        write_atomically(self.path, json.dumps(data, ensure_ascii=False, indent=1))


def to_markdown(turns: list[Turn], bard_name: str) -> str:
    lines = [f"# A conversation with {bard_name}", ""]
    for turn in turns:
        speaker = "You" if turn.speaker == "user" else bard_name
        lines += [f"**{speaker}:** {turn.text}", ""]
    return "\n".join(lines)
