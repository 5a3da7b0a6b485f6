"""``relais console``: the whole product in a terminal, on the same core and outbox.

Type ``/as NAME`` to become someone, ``/relais join``, ``/submit caption``, then the
number of a button to press it. Messages the bot sends (review cards, DMs) go through
the real outbox and are drawn here as they are delivered. The console's own words
(prompts, headers) come from the catalogues, in ``RELAIS_LOCALE``.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from adapters.console.render import plain, render
from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.i18n import Translator, translator
from bot.media import CleanImage, MediaRejected
from bot.outbox import Dispatcher
from bot.ports import Target
from bot.ui import (
    DateInput,
    FileInput,
    Form,
    FormInput,
    Message,
    Option,
    PeopleInput,
    Reply,
    Select,
    TextInput,
)
from domain import MemberView, Platform, site_key

WORKSPACE = "console"
Ask = Callable[[str], Awaitable[str | None]]
Say = Callable[[str], None]
# Answers meaning yes, in English and French, whatever the console's language.
YES = frozenset(("y", "yes", "o", "oui"))
# Typed at any prompt of a form, like end of input (Ctrl-D): the form is not sent.
CANCEL = "/cancel"


class ConsolePort:
    """The platform port of the console: prints deliveries and numbers their buttons."""

    platform = Platform.CONSOLE.value

    def __init__(self, say: Say, media_dir: Path, t: Translator | None = None) -> None:
        self.say = say
        self.media_dir = media_dir
        self.t = t or translator("en")
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
        if target.kind == "channel":
            where = f"#{target.id}"
        else:
            where = self.t("console.dm_to", name=target.id)
        lines = self.draw(message)
        self.say(f"\n─── {where} ───\n" + "\n".join(lines))
        if target.kind == "user":
            self.inbox.setdefault(target.id, []).append(lines)
        return {"where": where, "id": self._posted}

    async def update(self, workspace: str, ref: dict[str, Any], message: Message) -> None:
        """Print the new version of a message posted earlier."""
        updated = self.t("console.updated", id=ref["id"])
        self.say(f"\n─── {ref['where']} ({updated}) ───\n" + "\n".join(self.draw(message)))


class ConsoleApp:
    """A read-eval-print loop over the core."""

    def __init__(self, core: Core, ask: Ask, say: Say) -> None:
        self.core = core
        self.ask = ask
        self.say = say
        self.t = translator(core.settings.relais_locale)
        self.port = ConsolePort(say, core.settings.media_dir, self.t)
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

    def _help(self) -> str:
        settings = self.core.settings
        return self.t(
            "console.help",
            cms=", ".join(settings.relais_cms) or "-",
            approvers=", ".join(settings.relais_approvers) or "-",
        )

    async def run(self) -> None:
        """Loop until end of input or ``/quit``."""
        self.say(self.t("console.welcome"))
        self.say(self._help())
        await self.dispatcher.drain()
        while True:
            line = await self.ask(f"\n{self.user}> ")
            if line is None or line.strip() in ("/quit", "/exit"):
                self.say(self.t("console.bye"))
                return
            try:
                await self.handle(line.strip())
            except MediaRejected as err:
                self.say(self.t(f"media.{err.code}", **err.detail))
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
            roles = ", ".join(self.t(f"role.{r.value}") for r in sorted(member.roles))
            roles = roles or self.t("role.member")
            self.say(self.t("console.you_are", name=member.display_name, roles=roles))
        elif line in ("/help", "help"):
            self.say(self._help())
        elif line == "/inbox":
            for lines in self.port.inbox.get(self.user, []) or [[self.t("console.inbox_empty")]]:
                self.say("\n".join(lines))
        elif line.startswith(("/submit", "/relais")):
            command, _, text = line.partition(" ")
            await self.show(await handle_command(self.core, await self.me(), command, text))
        else:
            self.say(self.t("console.unknown"))

    async def press(self, number: int) -> None:
        """Press button ``number`` as the current user."""
        if number not in self.port.buttons:
            self.say(self.t("console.no_button", number=number))
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
        """Ask each input of ``form`` in turn, then submit it. When the core finds a field
        in error, the other answers (the photos too) are kept and only that field is asked
        again. End of input or ``/cancel`` at any prompt cancels the form: nothing is sent."""
        t = self.t
        self.say(f"\n=== {plain(form.title)} ===")
        if form.intro:
            self.say(plain(form.intro))
        values: dict[str, Any] = {}
        photos: list[CleanImage] = []
        to_ask: list[FormInput] = list(form.inputs)
        while True:
            for field in to_ask:
                if not await self._ask_field(field, values, photos):
                    self.say(t("console.cancelled"))
                    return
            confirm = await self._prompt(t("console.confirm", label=plain(form.submit_label)))
            if confirm is None or confirm.strip().lower() not in {*YES, ""}:
                self.say(t("console.cancelled"))
                return
            reply = await handle_action(
                self.core, await self.me(), form.action, form.value, values, photos
            )
            if not reply.errors:
                await self.show(reply)
                return
            labels = {field.name: field.label for field in form.inputs}
            for name, error in reply.errors.items():
                label = plain(labels.get(name, name))
                self.say("! " + t("console.field_error", label=label, error=plain(error)))
            to_ask = [field for field in form.inputs if field.name in reply.errors]
            if not to_ask:
                # The error is about nothing this form asks: there is no answer to correct.
                self.say(t("console.cancelled"))
                return
            self.say(t("console.ask_again"))

    async def _prompt(self, text: str) -> str | None:
        """Ask one question of a form; None when the person cancels (end of input or
        ``/cancel``)."""
        answer = await self.ask(self.t("console.prompt", text=text))
        if answer is None or answer.strip() == CANCEL:
            return None
        return answer

    async def _ask_field(
        self, field: FormInput, values: dict[str, Any], photos: list[CleanImage]
    ) -> bool:
        """Ask for one input and keep the answer; False when the person cancels."""
        if isinstance(field, FileInput):
            return await self._ask_photos(field, photos)
        if isinstance(field, Select) and field.multiple:
            return await self._ask_several(field, values)
        if isinstance(field, Select):
            return await self._ask_select(field, values)
        if isinstance(field, PeopleInput):
            # No picker in a terminal: names (or @names) separated by commas; the core
            # refuses unknown ones on this field, naming them.
            current = values.get(field.name, list(field.initial))
            hint = f" [{plain(', '.join(current))}]" if current else ""
            answer = await self._prompt(self.t("console.people", label=plain(field.label)) + hint)
            if answer is None:
                return False
            names = [n.strip() for n in answer.split(",") if n.strip()]
            values[field.name] = names if answer.strip() else current
            return True
        if isinstance(field, TextInput | DateInput):
            current = values.get(field.name, field.initial)
            hint = f" [{plain(current)}]" if current else ""
            if isinstance(field, DateInput):  # no picker in a terminal: say the format
                hint = f" (YYYY-MM-DD){hint}"
            answer = await self._prompt(f"{plain(field.label)}{hint}")
            if answer is None:
                return False
            values[field.name] = answer or current
            return True
        current = bool(values.get(field.name, field.initial))
        key = "console.checkbox_on" if current else "console.checkbox"
        answer = await self._prompt(self.t(key, label=plain(field.label)))
        if answer is None:
            return False
        word = answer.strip().lower()
        values[field.name] = word in YES if word else current
        return True

    async def _ask_select(self, field: Select, values: dict[str, Any]) -> bool:
        """A numbered list; a long one (sites) also takes part of a name."""
        current = values.get(field.name, field.initial)
        self.say(self.t("console.prompt", text=plain(field.label)).rstrip())
        for i, option in enumerate(field.options, 1):
            mark = " " + self.t("console.default") if option.value == current else ""
            self.say(f"  {i}. {plain(option.label)}{mark}")
        while True:
            answer = await self._prompt(self.t("console.choice"))
            if answer is None:
                return False
            answer = answer.strip()
            if answer.isdigit() and 1 <= int(answer) <= len(field.options):
                values[field.name] = field.options[int(answer) - 1].value
                return True
            if not answer or not field.typeahead:
                values[field.name] = current
                return True
            found = _matching(field, answer)
            if len(found) == 1:
                values[field.name] = found[0].value
                return True
            self.say(self.t("console.no_match" if not found else "console.several", typed=answer))
            for option in found:
                number = field.options.index(option) + 1
                self.say(f"  {number}. {plain(option.label)}")

    async def _ask_several(self, field: Select, values: dict[str, Any]) -> bool:
        """A numbered list; the answer is numbers or (parts of) names separated by commas,
        each standing for one option; Enter keeps the default (the placeholder says what
        choosing none means)."""
        current = str(values.get(field.name, field.initial) or "")
        chosen = set(current.split(","))
        self.say(self.t("console.prompt", text=plain(field.label)).rstrip())
        if field.placeholder:
            self.say(f"  ({plain(field.placeholder)})")
        for i, option in enumerate(field.options, 1):
            mark = " " + self.t("console.default") if option.value in chosen else ""
            self.say(f"  {i}. {plain(option.label)}{mark}")
        while True:
            answer = await self._prompt(self.t("console.choices"))
            if answer is None:
                return False
            if not answer.strip():
                values[field.name] = current
                return True
            picked: list[str] = []
            for part in (p.strip() for p in answer.split(",")):
                if not part:
                    continue
                if part.isdigit() and 1 <= int(part) <= len(field.options):
                    found = [field.options[int(part) - 1]]
                else:
                    found = _matching(field, part)
                if len(found) != 1:
                    key = "console.no_match" if not found else "console.several"
                    self.say(self.t(key, typed=part))
                    for option in found:
                        number = field.options.index(option) + 1
                        self.say(f"  {number}. {plain(option.label)}")
                    break
                if found[0].value not in picked:
                    picked.append(found[0].value)
            else:
                values[field.name] = ",".join(picked)
                return True

    async def _ask_photos(self, field: FileInput, photos: list[CleanImage]) -> bool:
        """Ask for file paths until at least one usable photo is given (when the field is
        required; an optional one may be left empty, but paths none of which could be
        used are asked again rather than dropped); they replace the photos of an earlier
        answer."""
        label = self.t("console.photos", label=plain(field.label), max=field.max_files)
        while True:
            answer = await self._prompt(label)
            if answer is None:
                return False
            taken = await self._intake(answer, field.max_files)
            if taken or (not field.required and not answer.strip()):
                photos[:] = taken
                return True
            # Paths were typed but none could be used: the reasons were said; ask again.
            self.say("! " + self.t("error.no_photo"))

    async def _intake(self, answer: str, max_files: int) -> list[CleanImage]:
        """The usable photos among the paths in ``answer``; says why each other is not."""
        try:
            paths = shlex.split(answer)
        except ValueError:
            paths = answer.split()
        photos: list[CleanImage] = []
        for raw in paths[:max_files]:
            path = await asyncio.to_thread(_existing_file, raw)
            if path is None:
                self.say("! " + self.t("console.no_such_file", name=plain(raw)))
                continue
            try:
                photos.append(await self.core.media.intake_path(path))
            except MediaRejected as err:
                reason = self.t(f"media.{err.code}", **err.detail)
                name = plain(path.name)
                self.say("! " + self.t("photos.file_refused", name=name, reason=reason))
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


def _matching(field: Select, typed: str) -> list[Option]:
    """The options whose label holds what was typed (case, accents and spaces aside); the
    one whose label is exactly that when there is one."""
    key = site_key(typed)
    exact = [o for o in field.options if site_key(o.label) == key]
    return exact or [o for o in field.options if key in site_key(o.label)]
