"""The neutral UI model: what the core says, before any platform draws it.

A ``Message`` is a list of blocks; a ``Form`` is a list of inputs. Every string in
them is plain text: adapters must escape it for their markup (Slack mrkdwn, Adaptive
Card markdown, a terminal) so user text can never become a mention, link or format.
Both serialise to JSON so the outbox can store them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class ButtonStyle(StrEnum):
    """How prominent a button is."""

    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True)
class Heading:
    """A short title line."""

    text: str


@dataclass(frozen=True)
class Paragraph:
    """Body text (plain; line breaks are kept)."""

    text: str


@dataclass(frozen=True)
class Image:
    """A stored photo, by media storage key; adapters decide how to show it. With
    ``video_key``, the photo is a video's poster frame and ``video_key`` the cleaned
    clip: adapters mark it as a video and let the reader play it (Slack: the bot's own
    upload of the clip; Teams: a signed link; the console: its path)."""

    media_key: str
    alt: str
    video_key: str = ""
    # What plays the video ("Play video 1"), in the reader's language.
    play_label: str = ""


@dataclass(frozen=True)
class File:
    """A stored file handed to the person (an export): by media storage key, the name it
    is saved under and a title. Slack shares it in the conversation, Teams gives a signed
    download link, the console prints its path."""

    media_key: str
    filename: str
    title: str


@dataclass(frozen=True)
class Fields:
    """Label/value pairs shown as a compact grid."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Context:
    """Small secondary text (timestamps, hints)."""

    text: str


@dataclass(frozen=True)
class Mentions:
    """People named in a message (the digest's thanks): ``people`` are (platform user id,
    display name). Platforms that can mention do (Slack notifies them); others show the
    names. Never built from user-typed text."""

    label: str
    people: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Button:
    """A button that sends ``action`` with ``value`` back to the core when pressed; with
    ``url``, a link that opens that page instead (action ``LINK``: nothing comes back)."""

    label: str
    action: str
    value: str
    style: ButtonStyle = ButtonStyle.DEFAULT
    url: str = ""


#: The action of a link button: adapters open its URL and send nothing to the core.
LINK = "link"


def link(label: str, url: str, style: ButtonStyle = ButtonStyle.PRIMARY) -> Button:
    """A button that opens ``url`` (a page ``relais serve`` shows, like the library)."""
    return Button(label, LINK, "", style, url)


@dataclass(frozen=True)
class Actions:
    """A row of buttons."""

    buttons: tuple[Button, ...]


Block = Heading | Paragraph | Image | File | Fields | Context | Actions | Mentions
_BLOCK_TYPES: dict[str, type[Any]] = {
    "mentions": Mentions,
    "heading": Heading,
    "paragraph": Paragraph,
    "image": Image,
    "file": File,
    "fields": Fields,
    "context": Context,
    "actions": Actions,
}
_BLOCK_NAMES = {cls: name for name, cls in _BLOCK_TYPES.items()}


@dataclass(frozen=True)
class Message:
    """A message: ``text`` is the notification/fallback line, ``blocks`` the body."""

    text: str
    blocks: tuple[Block, ...] = ()
    # A form sent as a message, for platforms whose messages carry inputs (Teams cards):
    # the blocks are shown above it. None for ordinary messages.
    form: Form | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict for the outbox."""
        data: dict[str, Any] = {
            "text": self.text,
            "blocks": [{"type": _BLOCK_NAMES[type(b)], **asdict(b)} for b in self.blocks],
        }
        if self.form is not None:
            data["form"] = self.form.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        """Rebuild a message stored by ``to_json``."""
        blocks: list[Block] = []
        for raw in data.get("blocks", []):
            raw = dict(raw)
            kind = _BLOCK_TYPES[raw.pop("type")]
            if kind is Fields:
                blocks.append(Fields(tuple((str(a), str(b)) for a, b in raw["pairs"])))
            elif kind is Mentions:
                people = tuple((str(a), str(b)) for a, b in raw["people"])
                blocks.append(Mentions(str(raw["label"]), people))
            elif kind is Actions:
                blocks.append(
                    Actions(
                        tuple(
                            Button(
                                b["label"],
                                b["action"],
                                b["value"],
                                ButtonStyle(b["style"]),
                                b.get("url", ""),
                            )
                            for b in raw["buttons"]
                        )
                    )
                )
            else:
                blocks.append(kind(**raw))
        form = Form.from_json(data["form"]) if data.get("form") else None
        return cls(text=data["text"], blocks=tuple(blocks), form=form)

    def buttons(self) -> list[Button]:
        """Every button of the message, in order."""
        return [b for block in self.blocks if isinstance(block, Actions) for b in block.buttons]


@dataclass(frozen=True)
class Option:
    """One choice of a select."""

    value: str
    label: str


@dataclass(frozen=True)
class TextInput:
    """A single or multi-line text field."""

    name: str
    label: str
    initial: str = ""
    multiline: bool = False
    required: bool = True
    max_length: int | None = None
    placeholder: str = ""


@dataclass(frozen=True)
class Select:
    """Pick one option, or several with ``multiple``: then the value (and ``initial``)
    is the chosen options' values separated by commas, "" for none."""

    name: str
    label: str
    options: tuple[Option, ...]
    initial: str | None = None
    required: bool = False
    # A list that can be long (sites): platforms that can filter it as the person types
    # do so (Slack loads it from Relais past 100 options, Teams filters its ChoiceSet,
    # the console takes part of a name).
    typeahead: bool = False
    multiple: bool = False
    # Shown in the empty select (what choosing nothing means).
    placeholder: str = ""


@dataclass(frozen=True)
class Checkbox:
    """A yes/no box."""

    name: str
    label: str
    initial: bool = False


@dataclass(frozen=True)
class FileInput:
    """One or more files (photos)."""

    name: str
    label: str
    max_files: int = 10
    accepted: str = "JPEG, PNG, WebP, MP4, MOV, WebM"
    required: bool = True


@dataclass(frozen=True)
class DateInput:
    """A calendar day (the platform's date picker); values are ``YYYY-MM-DD``."""

    name: str
    label: str
    initial: str = ""
    required: bool = False


@dataclass(frozen=True)
class PeopleInput:
    """People of the workspace (Slack's multi-user select, Teams' people picker, names
    typed in the console). Values are platform user ids: a list, or a comma-separated
    string (Teams); the console sends the names typed. ``initial``: platform ids."""

    name: str
    label: str
    initial: tuple[str, ...] = ()
    required: bool = False


FormInput = TextInput | Select | Checkbox | FileInput | DateInput | PeopleInput
_INPUT_TYPES: dict[str, type[Any]] = {
    "people": PeopleInput,
    "text": TextInput,
    "select": Select,
    "checkbox": Checkbox,
    "file": FileInput,
    "date": DateInput,
}
_INPUT_NAMES = {cls: name for name, cls in _INPUT_TYPES.items()}


@dataclass(frozen=True)
class Form:
    """A form (modal, card or prompt sequence); submitting it calls ``action`` with ``value``."""

    action: str
    title: str
    submit_label: str
    inputs: tuple[FormInput, ...]
    intro: str = ""
    value: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (a form can travel in the outbox inside a ``Message``)."""
        data = asdict(self)
        data["inputs"] = [{"type": _INPUT_NAMES[type(i)], **asdict(i)} for i in self.inputs]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Form:
        """Rebuild a form stored by ``to_json``."""
        inputs: list[FormInput] = []
        for raw in data.get("inputs", []):
            raw = dict(raw)
            kind = _INPUT_TYPES[raw.pop("type")]
            if kind is Select:
                raw["options"] = tuple(Option(**o) for o in raw["options"])
            elif kind is PeopleInput:
                raw["initial"] = tuple(str(i) for i in raw["initial"])
            inputs.append(kind(**raw))
        return cls(
            action=data["action"],
            title=data["title"],
            submit_label=data["submit_label"],
            inputs=tuple(inputs),
            intro=data.get("intro", ""),
            value=data.get("value", ""),
        )


@dataclass(frozen=True)
class Reply:
    """What the core answers to a command or a button: a message, a form, or both."""

    message: Message | None = None
    form: Form | None = None
    # Ephemeral: only the person who acted sees it (Slack ephemeral, a Teams reply).
    ephemeral: bool = True
    # Field errors for a form just submitted (input name -> message); the form stays open.
    errors: dict[str, str] = field(default_factory=dict)
    # True when the action was refused: ``message`` says why and nothing changed.
    failed: bool = False
