"""``relais console``: the whole product in a terminal, on the same core and outbox.

Type ``/as NAME`` to become someone, ``/relais join``, ``/submit caption``, then the
number of a button to press it. Messages the bot sends (review cards, DMs) go through
the real outbox and are drawn here as they are delivered.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from adapters.console.render import plain, render
from bot.actions import handle_action
from bot.commands import handle_command
from bot.core import Core
from bot.i18n import translate
from bot.media import CleanImage, MediaRejected
from bot.outbox import Dispatcher
from bot.ports import Target
from bot.ui import Checkbox, FileInput, Form, Message, Reply, Select, TextInput
from domain import MemberView, Platform

WORKSPACE = "console"
Ask = Callable[[str], Awaitable[str | None]]
Say = Callable[[str], None]

HELP = """Commands:
  /as NAME            act as NAME (created on first use); CMs: {cms}; approvers: {approvers}
  /submit [caption]   send photos (you will be asked for file paths)
  /relais help|join|leave|me|snooze ...
  N                   press button number N (as the current user)
  /inbox              the current user's direct messages
  /quit               leave (Ctrl-D works too)"""


class ConsolePort:
    """The platform port of the console: prints deliveries and numbers their buttons."""

    platform = Platform.CONSOLE.value

    def __init__(self, say: Say, media_dir: Path) -> None:
        self.say = say
        self.media_dir = media_dir
        self.buttons: dict[int, tuple[str, str]] = {}
        self.inbox: dict[str, list[list[str]]] = {}
        self._posted = 0

    def number_button(self, action: str, value: str) -> int:
        """Give a button the next number and remember what it does."""
        number = len(self.buttons) + 1
        self.buttons[number] = (action, value)
        return number

    def draw(self, message: Message) -> list[str]:
        """Lines for ``message`` with numbered buttons."""
        return render(message, number_button=self.number_button, media_dir=self.media_dir)

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        """Print a delivered message under a header naming its recipient."""
        self._posted += 1
        where = f"#{target.id}" if target.kind == "channel" else f"DM to {target.id}"
        lines = self.draw(message)
        self.say(f"\n─── {where} ───\n" + "\n".join(lines))
        if target.kind == "user":
            self.inbox.setdefault(target.id, []).append(lines)
        return {"where": where, "id": self._posted}

    async def update(self, workspace: str, ref: dict[str, Any], message: Message) -> None:
        """Print the new version of a message posted earlier."""
        self.say(
            f"\n─── {ref['where']} (message {ref['id']} updated) ───\n"
            + "\n".join(self.draw(message))
        )


class ConsoleApp:
    """A read-eval-print loop over the core."""

    def __init__(self, core: Core, ask: Ask, say: Say) -> None:
        self.core = core
        self.ask = ask
        self.say = say
        self.port = ConsolePort(say, core.settings.media_dir)
        self.dispatcher = Dispatcher(
            core.db, {Platform.CONSOLE.value: self.port}, clock=core.clock, worker_id="console"
        )
        self.user = "alice"

    async def me(self) -> MemberView:
        """The member the console is acting as."""
        return await self.core.onboarding.identify(
            Platform.CONSOLE,
            WORKSPACE,
            self.user,
            display_name=self.user.capitalize(),
            locale=self.core.settings.relais_locale,
        )

    async def run(self) -> None:
        """Loop until end of input or ``/quit``."""
        settings = self.core.settings
        self.say("Relais console — the whole flow without a chat platform. /help for commands.")
        self.say(
            HELP.format(
                cms=", ".join(settings.relais_cms) or "-",
                approvers=", ".join(settings.relais_approvers) or "-",
            )
        )
        await self.dispatcher.drain()
        while True:
            line = await self.ask(f"\n{self.user}> ")
            if line is None or line.strip() in ("/quit", "/exit"):
                self.say("Bye.")
                return
            try:
                await self.handle(line.strip())
            except MediaRejected as err:
                self.say(translate(settings.relais_locale, f"media.{err.code}", **err.detail))
            await self.dispatcher.drain()

    async def handle(self, line: str) -> None:
        """Run one line typed by the user."""
        if not line:
            return
        if line.isdigit() or line.startswith("/click "):
            await self.press(int(line.removeprefix("/click ").strip() or 0))
        elif line.startswith("/as "):
            self.user = line.removeprefix("/as ").strip().lower() or self.user
            member = await self.me()
            roles = ", ".join(sorted(r.value for r in member.roles)) or "member"
            self.say(f"You are now {member.display_name} ({roles}).")
        elif line in ("/help", "help"):
            settings = self.core.settings
            self.say(
                HELP.format(
                    cms=", ".join(settings.relais_cms) or "-",
                    approvers=", ".join(settings.relais_approvers) or "-",
                )
            )
        elif line == "/inbox":
            for lines in self.port.inbox.get(self.user, []) or [["(empty)"]]:
                self.say("\n".join(lines))
        elif line.startswith(("/submit", "/relais")):
            command, _, text = line.partition(" ")
            await self.show(await handle_command(self.core, await self.me(), command, text))
        else:
            self.say("Unknown input. /help lists the commands.")

    async def press(self, number: int) -> None:
        """Press button ``number`` as the current user."""
        if number not in self.port.buttons:
            self.say(f"There is no button [{number}].")
            return
        action, value = self.port.buttons[number]
        await self.show(await handle_action(self.core, await self.me(), action, value))

    async def show(self, reply: Reply) -> None:
        """Draw a reply; fill in its form when it has one."""
        if reply.message is not None:
            self.say("\n".join(self.port.draw(reply.message)))
        if reply.form is not None:
            await self.fill(reply.form)

    async def fill(self, form: Form) -> None:
        """Ask each input of ``form`` in turn, then submit it."""
        self.say(f"\n=== {plain(form.title)} ===")
        if form.intro:
            self.say(plain(form.intro))
        values: dict[str, Any] = {}
        photos: list[CleanImage] = []
        for field in form.inputs:
            if isinstance(field, FileInput):
                photos = await self._ask_photos(field)
                if not photos and field.required:
                    self.say("Cancelled: no photo.")
                    return
            elif isinstance(field, TextInput):
                hint = f" [{plain(field.initial)}]" if field.initial else ""
                answer = await self.ask(f"{plain(field.label)}{hint}: ")
                values[field.name] = field.initial if not answer else answer
            elif isinstance(field, Select):
                await self._ask_select(field, values)
            elif isinstance(field, Checkbox):
                answer = (await self.ask(f"{plain(field.label)} [y/N]: ") or "").strip().lower()
                values[field.name] = answer in ("y", "yes", "o", "oui")
        confirm = await self.ask(f"{plain(form.submit_label)}? [Y/n]: ")
        if (confirm or "y").strip().lower() not in ("y", "yes", "o", "oui", ""):
            self.say("Cancelled.")
            return
        reply = await handle_action(
            self.core, await self.me(), form.action, form.value, values, photos
        )
        for name, error in reply.errors.items():
            self.say(f"! {name}: {error}")
        await self.show(reply if not reply.errors else Reply())

    async def _ask_select(self, field: Select, values: dict[str, Any]) -> None:
        self.say(plain(field.label) + ":")
        for i, option in enumerate(field.options, 1):
            mark = " (default)" if option.value == field.initial else ""
            self.say(f"  {i}. {plain(option.label)}{mark}")
        answer = (await self.ask("Choice (Enter for default/none): ") or "").strip()
        if answer.isdigit() and 1 <= int(answer) <= len(field.options):
            values[field.name] = field.options[int(answer) - 1].value
        else:
            values[field.name] = field.initial

    async def _ask_photos(self, field: FileInput) -> list[CleanImage]:
        answer = await self.ask(f"{plain(field.label)} (paths, up to {field.max_files}): ")
        photos: list[CleanImage] = []
        try:
            paths = shlex.split(answer or "")
        except ValueError:
            paths = (answer or "").split()
        for raw in paths[: field.max_files]:
            path = await asyncio.to_thread(_existing_file, raw)
            if path is None:
                self.say(f"! {raw}: no such file")
                continue
            try:
                photos.append(await self.core.media.intake_path(path))
            except MediaRejected as err:
                locale = self.core.settings.relais_locale
                self.say(f"! {path.name}: " + translate(locale, f"media.{err.code}", **err.detail))
        return photos


def _existing_file(raw: str) -> Path | None:
    path = Path(raw).expanduser()
    return path if path.is_file() else None


async def terminal_ask(prompt: str) -> str | None:
    """Read a line from the terminal without blocking the event loop; None at end of input."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None
