"""Re-make docs/chat.svg, the README's picture of `bard chat`: the real app with the shipped models,
a short conversation typed in under Textual's test pilot, saved as Textual's SVG screenshot.

    python docs/screenshot.py [--out docs/chat.svg] [--seed 0]

The chat is saved to a temporary data folder, not among your own chats.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

MESSAGES = ("Good morrow, sweet prince.", "I lost my job today.", "Shall we go to the tavern tonight?")
SIZE = (112, 24)


async def shoot(out: Path, seed: int) -> None:
    from bard.config import load_config
    from bard.history import ChatLog
    from bard.responder import Responder
    from bard.tui import BardApp

    app = BardApp(Responder.load(load_config(None), seed=seed), ChatLog.new())
    async with app.run_test(size=SIZE) as pilot:
        for message in MESSAGES:
            await pilot.press(*message)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            while app.typing or app.thinking:
                await pilot.pause(0.05)
            await pilot.pause()
        app.save_screenshot(filename=out.name, path=str(out.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "chat.svg")
    parser.add_argument("--seed", type=int, default=0, help="the replies' random seed (default 0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        os.environ["XDG_DATA_HOME"] = data  # where ChatLog saves: kept out of the user's chats
        asyncio.run(shoot(args.out.resolve(), args.seed))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
