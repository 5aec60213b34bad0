"""The README shows what works: every `bard ...` line of its code blocks parses as the CLI takes
it (flags, choices and --set keys), and its picture of the chat is re-made by a documented command."""

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bard.cli import COMMANDS, build_parser
from bard.config import load_config

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHELL_OPERATORS = re.compile(r"\s(?:\||&&|;|>)\s")


def readme_commands(text: str) -> list[str]:
    """Every `bard ...` command of the README's code blocks (also after `VAR=value`, and
    `python -m bard ...` or `torchrun ... -m bard ...`), continuation lines joined, prompts and pipes dropped."""
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.DOTALL):
        lines = block.replace("\\\n", " ").splitlines()
        if any(line.startswith("$ ") for line in lines):  # a console block: the rest is output
            lines = [line for line in lines if line.startswith("$ ")]
        for line in lines:
            line = SHELL_OPERATORS.split(line.strip().removeprefix("$ "))[0]
            command = re.search(r"(?:^(?:\w+=\S*\s+)*|-m )(bard\s.*)$", line)  # after VAR=value or -m
            if command and not command.group(1).startswith("bard:"):
                found.append(command.group(1))
    return found


def help_text(subcommand: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args([*subcommand, "--help"])
    return out.getvalue()


def parses(command: str) -> None:
    """Parse `command` as `bard` would, every flag spelt out in full (argparse would also take an
    abbreviation, which a renamed flag could still match), and load the config with its --set overrides."""
    argv = shlex.split(command, comments=True)[1:]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:
        raise AssertionError(f"the README shows `{command}`, which bard does not take") from stop
    options = help_text(argv[:2] if argv[0] == "sentiment" else argv[:1])
    for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", options), f"`{command}`: no flag {flag}"
    load_config(None, getattr(args, "overrides", []) or [])


def test_every_bard_command_in_the_readme_parses():
    commands = readme_commands(README.read_text(encoding="utf-8"))
    shown = {shlex.split(c)[1] for c in commands}
    assert shown >= set(COMMANDS), f"the README shows no example of {sorted(set(COMMANDS) - shown)}"
    for command in commands:
        parses(command)


@pytest.mark.parametrize("command", ["bard chat --persona yorick", "bard train --max-minute 5",
                                     "bard reply --set responder.candidate=8 Hello"])
def test_a_renamed_command_flag_or_key_fails(command):
    assert readme_commands(f"```bash\n{command}  # what it does\n```") == [command + "  # what it does"]
    with pytest.raises(Exception):
        parses(command)


def test_the_readme_opens_with_the_chat_and_the_picture_is_remade(tmp_path):
    readme = README.read_text(encoding="utf-8")
    assert re.search(r"!\[[^\]]*\]\(docs/chat\.svg\)", "\n".join(readme.splitlines()[:8]))  # it opens with the chat
    assert "python docs/screenshot.py" in readme
    out = tmp_path / "chat.svg"
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "screenshot.py"), "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "Hamlet" in svg and "Good&#160;morrow,&#160;sweet&#160;prince." in svg
