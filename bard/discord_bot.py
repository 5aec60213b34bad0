"""`bard discord`: the Discord front-end. It holds no generation logic: replies come from the
Responder, made one at a time on a worker thread so the gateway heartbeat never waits on them.

It answers mentions in channels and direct messages, so it needs no privileged intent; it never
pings anyone (every message is sent with AllowedMentions.none()); it ignores bots; it keeps a
bounded conversation per channel; and it rate-limits per user and per channel."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import discord
from discord import app_commands

from bard.config import MOODS, PERSONAS, Config, bounds
from bard.errors import BardError, ConfigError
from bard.responder import Conversation, Responder

log = logging.getLogger(__name__)

DISCORD_LIMIT = 2000
APOLOGY = "Alas, my wits are gone astray; ask me again anon."
COOLDOWN_NOTICE = "Soft you now, good friend: one word at a time. Ask me again in a moment."
BUSY_NOTICE = "I am beset with questions; give me leave a while."
# Discord enforces the config's own temperature range in its slash-command form.
TEMPERATURE_RANGE = app_commands.Range[float, bounds("sample.temperature")[0], bounds("sample.temperature")[1]]


def split_message(text: str, limit: int = DISCORD_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at white space where there is some."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip()
    return pieces + [text] if text else pieces


@dataclass
class Channel:
    conversation: Conversation  # with the channel's own settings
    waiting: int = 0


class ChannelMemory:
    """One conversation (with its settings) per channel (or DM), the least recently used dropped
    beyond `max_channels`."""

    def __init__(self, responder: Responder, max_channels: int):
        self.responder = responder
        self.max_channels = max_channels
        self.channels: OrderedDict[int, Channel] = OrderedDict()

    def get(self, key: int) -> Channel:
        if key in self.channels:
            self.channels.move_to_end(key)
        else:
            self.channels[key] = Channel(self.responder.new_conversation())
            while len(self.channels) > self.max_channels:
                self.channels.popitem(last=False)
        return self.channels[key]

    def forget(self, key: int) -> None:
        self.channels.pop(key, None)


class Cooldown:
    """At most one reply per user per `seconds`; within the window, one notice, then silence."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.last_reply: dict[int, float] = {}
        self.noticed: set[int] = set()

    def check(self, user: int) -> str:
        """"reply", "notice" (first message within the window) or "ignore"."""
        now = self.clock()
        if now - self.last_reply.get(user, -float("inf")) >= self.seconds:
            self.last_reply[user] = now
            self.noticed.discard(user)
            return "reply"
        if user in self.noticed:
            return "ignore"
        self.noticed.add(user)
        return "notice"


class BardBot(discord.Client):
    def __init__(self, responder: Responder, config: Config, intents: discord.Intents | None = None,
                 sync_commands: bool = False):
        """`sync_commands`: register the slash commands with Discord on connecting. Discord's own
        guidance is to sync deliberately (after the commands change), not at every start."""
        # Mentions and DMs carry their text without the privileged message-content intent.
        super().__init__(intents=intents or discord.Intents.default(), allowed_mentions=discord.AllowedMentions.none())
        self.responder = responder
        self.settings = config.discord
        self.sync_commands = sync_commands
        self.memory = ChannelMemory(responder, config.discord.max_channels)
        self.cooldown = Cooldown(config.discord.cooldown_seconds)
        # One thread: replies are made one at a time (the model is shared) and off the event loop.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bard-reply")
        self.tree = app_commands.CommandTree(self)
        self.add_commands()

    async def setup_hook(self) -> None:
        if self.sync_commands:
            commands = await self.tree.sync()
            log.info("registered %d slash commands with Discord (they may take up to an hour to appear)",
                     len(commands))

    async def close(self) -> None:
        await super().close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def on_ready(self) -> None:
        log.info("logged in as %s; answering mentions and direct messages", self.user)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.author == self.user:
            return
        direct = message.guild is None
        if not direct and self.user not in message.mentions:
            return
        verdict = self.cooldown.check(message.author.id)
        if verdict == "notice":
            await self.send_safely(message.reply, COOLDOWN_NOTICE)
        if verdict != "reply":
            return
        text = re.sub(rf"<@!?{self.user.id}>", " ", message.content)
        await self.answer(message.channel, text, message.reply)

    async def answer(self, channel: discord.abc.Messageable, text: str, send: Callable[..., Awaitable]) -> None:
        """Reply to `text` with `send`, unless the channel's queue is full; always sends something
        (the reply, a busy notice or an apology) and never raises."""
        state = self.memory.get(channel.id)
        if state.waiting >= self.settings.queue_per_channel:
            await self.send_safely(send, BUSY_NOTICE)
            return
        state.waiting += 1
        try:
            async with channel.typing():
                reply = await asyncio.get_running_loop().run_in_executor(
                    self.executor, self.responder.reply, state.conversation, text)
            for piece in split_message(reply.text):
                await send(piece, allowed_mentions=discord.AllowedMentions.none())
        except Exception:  # one bad message must not take the bot down
            log.exception("replying in channel %s failed", channel.id)
            await self.send_safely(send, APOLOGY)
        finally:
            state.waiting -= 1

    async def send_safely(self, send: Callable[..., Awaitable], text: str) -> None:
        try:
            await send(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            log.exception("could not send a message")

    # Slash commands -------------------------------------------------------------------------

    def change(self, channel_id: int, name: str, value: str) -> str:
        """Change one setting of a channel's conversation; the answer to show the user."""
        settings = self.memory.get(channel_id).conversation.settings
        try:
            settings.change(name, value)
        except ConfigError as e:
            return f"That will not do: {e}"
        return f"{name} is now {getattr(settings, name)} in this channel."

    def add_commands(self) -> None:
        tree = self.tree

        @tree.command(name="bard", description="Say something to the bard")
        @app_commands.describe(message="what you say")
        async def bard(interaction: discord.Interaction, message: str) -> None:
            # Decide before deferring: after a defer Discord shows "thinking..." until a follow-up
            # arrives, so a user held back by the cooldown gets a notice only they can see.
            if self.cooldown.check(interaction.user.id) != "reply":
                await interaction.response.send_message(COOLDOWN_NOTICE, ephemeral=True,
                                                        allowed_mentions=discord.AllowedMentions.none())
                return
            await interaction.response.defer(thinking=True)
            await self.answer(interaction.channel, message, interaction.followup.send)

        @tree.command(name="mood", description="The mood the bard aims its replies at, in this channel")
        @app_commands.choices(mood=[app_commands.Choice(name=m, value=m) for m in MOODS])
        async def mood(interaction: discord.Interaction, mood: app_commands.Choice[str]) -> None:
            await interaction.response.send_message(self.change(interaction.channel_id, "mood", mood.value),
                                                    allowed_mentions=discord.AllowedMentions.none())

        @tree.command(name="persona", description="Who answers in this channel")
        @app_commands.choices(persona=[app_commands.Choice(name=name, value=key) for key, (name, _, _) in PERSONAS.items()])
        async def persona(interaction: discord.Interaction, persona: app_commands.Choice[str]) -> None:
            await interaction.response.send_message(self.change(interaction.channel_id, "persona", persona.value),
                                                    allowed_mentions=discord.AllowedMentions.none())

        @tree.command(name="temperature", description="Sampling temperature in this channel (lower is safer)")
        async def temperature(interaction: discord.Interaction, value: TEMPERATURE_RANGE) -> None:
            await interaction.response.send_message(self.change(interaction.channel_id, "temperature", str(value)),
                                                    allowed_mentions=discord.AllowedMentions.none())

        @tree.command(name="reset", description="Forget this channel's conversation")
        async def reset(interaction: discord.Interaction) -> None:
            self.memory.forget(interaction.channel_id)
            await interaction.response.send_message("Forgotten. We begin anew.",
                                                    allowed_mentions=discord.AllowedMentions.none())


def read_token(config: Config) -> str:
    """DISCORD_TOKEN, else the file named by discord.token_file. Never logged."""
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token and config.discord.token_file:
        path = config.resolve(config.discord.token_file)
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise BardError(f"cannot read discord.token_file {path}: {e.strerror}") from None
    if not token:
        raise BardError("no bot token: set DISCORD_TOKEN=... (from the Bot page of your application in "
                        "Discord's developer portal), or name a file holding it in discord.token_file")
    return token


async def serve(bot: BardBot, token: str) -> None:
    """Run until the connection ends or SIGINT/SIGTERM arrives; then close cleanly."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        raise BardError("Discord rejected the token (check DISCORD_TOKEN; reset it on the Bot page if it leaked)") from None
    except (aiohttp.ClientError, OSError) as e:
        raise BardError(f"cannot reach Discord: {e}") from None
