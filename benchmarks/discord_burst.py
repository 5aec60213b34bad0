"""The Discord bot under a burst: 200 mentions from 100 members across 20 channels, through the real
discord.py client driven by dpytest (the test harness of tests/test_discord.py, which needs the
`[dev]` extra). Prints how many got replies, busy and cooldown notices, and the event loop's worst
lag while replies were made on the worker thread (a 5 ms probe, run throughout).

    python benchmarks/discord_burst.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from machine import machine

TEST = "tests/test_discord.py::test_discord_burst_of_200_mentions_across_20_channels"


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "pytest", TEST, "-q", "-s", "-p", "no:cacheprovider"],
                            cwd=root, capture_output=True, text=True, check=False)
    figures = re.search(r"^burst: .*$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or figures is None:
        sys.exit(f"the burst test failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    info = machine()
    print(f"{figures.group()}  ({info['cpu']}, {info['threads']} threads, torch {info['torch']})")


if __name__ == "__main__":
    main()
