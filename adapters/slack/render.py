"""Where a neutral message or form is drawn as Slack Block Kit (and form answers read back).

Every string from the core is plain text, and here it stays plain text: blocks use
``plain_text`` objects only (Slack does not parse mentions, links or formatting in
them), and the notification ``text`` is sent with ``mrkdwn`` off and ``&``, ``<``, ``>``
escaped, so ``<!channel>`` or ``<https://x|y>`` typed by a person shows literally.
Slack's size limits are applied here (titles, buttons, blocks), never by failing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, assert_never

from bot.ui import (
    Actions,
    ButtonStyle,
    Checkbox,
    Context,
    DateInput,
    Fields,
    File,
    FileInput,
    Form,
    FormInput,
    Heading,
    Image,
    Mentions,
    Message,
    Paragraph,
    PeopleInput,
    Select,
    TextInput,
)

# Slack's documented limits.
SECTION_TEXT_MAX = 3000
HEADER_MAX = 150
FIELD_MAX = 2000
FIELDS_PER_SECTION = 10
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
BUTTONS_PER_BLOCK = 25
VIEW_TITLE_MAX = 24
OPTION_TEXT_MAX = 75
OPTIONS_MAX = 100
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
METADATA_MAX = 3000
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "mp4", "mov", "webm"]
ACTION_SUFFIX = "~"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_STYLES = {ButtonStyle.PRIMARY: "primary", ButtonStyle.DANGER: "danger"}


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences in ``text`` fields."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int | None = None) -> dict[str, Any]:
    """A ``plain_text`` object (emoji shortcodes off), cut to ``limit`` characters."""
    return {"type": "plain_text", "text": _cut(text, limit) or " ", "emoji": False}


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def fallback_text(message: Message) -> str:
    """The notification text of a message (what a phone's lock screen shows)."""
    return escape(message.text)[:4000]


def message_blocks(
    message: Message, images: Mapping[str, str] | None = None, *, limit: int = MESSAGE_BLOCKS_MAX
) -> list[dict[str, Any]]:
    """Block Kit for ``message``. ``images`` maps media keys to uploaded Slack file ids;
    a photo without one is left out (the card still says who sent what)."""
    images = images or {}
    blocks: list[dict[str, Any]] = []
    for block in message.blocks:
        match block:
            case Heading():
                blocks.append({"type": "header", "text": plain(block.text, HEADER_MAX)})
            case Paragraph():
                blocks += [
                    {"type": "section", "text": plain(part)}
                    for part in _chunks(block.text, SECTION_TEXT_MAX)
                ]
            case Image():
                file_id = images.get(block.media_key)
                if file_id:
                    blocks.append(
                        {
                            "type": "image",
                            "slack_file": {"id": file_id},
                            "alt_text": _cut(block.alt, 2000),
                        }
                    )
                if block.video_key:
                    # The port shares the cleaned clip in the message's thread.
                    blocks.append(
                        {"type": "context", "elements": [plain(block.play_label, FIELD_MAX)]}
                    )
            case File():
                # The port shares the file itself in the conversation (SlackPort.post); a
                # message drawn without it (an ephemeral reply) names it.
                blocks.append({"type": "context", "elements": [plain(block.filename, FIELD_MAX)]})
            case Fields():
                pairs = [plain(f"{label}\n{value}", FIELD_MAX) for label, value in block.pairs]
                for i in range(0, len(pairs), FIELDS_PER_SECTION):
                    blocks.append({"type": "section", "fields": pairs[i : i + FIELDS_PER_SECTION]})
            case Context():
                blocks.append({"type": "context", "elements": [plain(block.text, FIELD_MAX)]})
            case Mentions():
                blocks.append({"type": "section", "text": _mentions(block)})
            case Actions():
                elements = [
                    _button(b.label, _action_id(b.action, i, block), b.value, b.style, b.url)
                    for i, b in enumerate(block.buttons)
                ]
                for i in range(0, len(elements), BUTTONS_PER_BLOCK):
                    blocks.append(
                        {"type": "actions", "elements": elements[i : i + BUTTONS_PER_BLOCK]}
                    )
            case _:
                assert_never(block)
    return blocks[:limit]


def _mentions(block: Mentions) -> dict[str, Any]:
    # The only mrkdwn Relais sends: its own label, escaped, and <@U...> for Slack user ids
    # (a name is shown escaped when the id does not look like one).
    people = [f"<@{uid}>" if _USER_ID.match(uid) else escape(name) for uid, name in block.people]
    text = f"{escape(block.label)} {', '.join(people)}"
    return {"type": "mrkdwn", "text": text[:SECTION_TEXT_MAX]}


def _action_id(action: str, index: int, block: Actions) -> str:
    # Slack wants action ids unique within a block; two buttons may run the same action
    # (App Home: "snooze 2w" and "leave" both run a /relais subcommand).
    earlier = [b.action for b in block.buttons[:index]]
    return f"{action}{ACTION_SUFFIX}{index}" if action in earlier else action


def action_name(action_id: str) -> str:
    """The core action behind a button's ``action_id``."""
    return action_id.split(ACTION_SUFFIX, 1)[0]


def _button(
    label: str, action: str, value: str, style: ButtonStyle, url: str = ""
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": plain(label, BUTTON_TEXT_MAX),
        "action_id": action,
        "value": value[:BUTTON_VALUE_MAX],
    }
    if url:
        # Slack opens it in the browser (and still sends block_actions, acked and ignored).
        button["url"] = url[:3000]
    if style in _STYLES:
        button["style"] = _STYLES[style]
    return button


def home_view(message: Message, images: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The App Home tab showing ``message``."""
    return {"type": "home", "blocks": message_blocks(message, images, limit=VIEW_BLOCKS_MAX)}


def form_view(
    form: Form,
    *,
    close_label: str,
    notice: Message | None = None,
    attached: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A modal for ``form``. ``callback_id`` is the form's action; its value (and anything in
    ``metadata``) travels in ``private_metadata``. ``attached``: photos already sent (a DM),
    shown as a line instead of the file input."""
    blocks: list[dict[str, Any]] = message_blocks(notice) if notice else []
    if form.intro:
        blocks += [
            {"type": "section", "text": plain(part)}
            for part in _chunks(form.intro, SECTION_TEXT_MAX)
        ]
    for field in form.inputs:
        if isinstance(field, FileInput) and attached:
            blocks.append({"type": "context", "elements": [plain(attached)]})
            continue
        block = _input(field)
        if block is not None:
            blocks.append(block)
    meta = {"v": form.value, **(metadata or {})}
    return {
        "type": "modal",
        "callback_id": form.action,
        "title": plain(form.title, VIEW_TITLE_MAX),
        "submit": plain(form.submit_label, VIEW_TITLE_MAX),
        "close": plain(close_label, VIEW_TITLE_MAX),
        "private_metadata": _metadata(meta),
        "blocks": blocks[:VIEW_BLOCKS_MAX],
    }


def _metadata(meta: dict[str, Any]) -> str:
    text = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
    if len(text) > METADATA_MAX:
        raise ValueError(f"private_metadata of {len(text)} characters exceeds Slack's limit")
    return text


def notice_view(title: str, message: Message, *, close_label: str) -> dict[str, Any]:
    """A modal that only says something (a confirmation, or why something failed)."""
    return {
        "type": "modal",
        "title": plain(title, VIEW_TITLE_MAX),
        "close": plain(close_label, VIEW_TITLE_MAX),
        "blocks": message_blocks(message, limit=VIEW_BLOCKS_MAX),
    }


def menu_option(value: str, label: str) -> dict[str, Any]:
    """One option of a select menu (static, or sent for an external select)."""
    return {"text": plain(label, OPTION_TEXT_MAX), "value": value[:150]}


def _input(field: FormInput) -> dict[str, Any] | None:
    element: dict[str, Any]
    optional = False
    if isinstance(field, TextInput):
        element = {"type": "plain_text_input", "action_id": field.name}
        if field.multiline:
            element["multiline"] = True
        if field.max_length:
            element["max_length"] = field.max_length
        if field.initial:
            element["initial_value"] = field.initial
        if field.placeholder:
            element["placeholder"] = plain(field.placeholder, PLACEHOLDER_MAX)
        optional = not field.required
    elif isinstance(field, Select):
        if not field.options:
            return None
        options = [menu_option(o.value, o.label) for o in field.options]
        initial = (field.initial or "").split(",") if field.multiple else [field.initial]
        chosen = [o for o in options if o["value"] in initial]
        kind = "multi_" if field.multiple else ""
        if field.typeahead and len(options) > OPTIONS_MAX:
            # More than a static menu holds: Slack asks Relais for the options matching
            # what the person types (a ``block_suggestion``, see listeners.on_options).
            element = {
                "type": f"{kind}external_select",
                "action_id": field.name,
                "min_query_length": 0,
            }
        else:
            element = {
                "type": f"{kind}static_select",
                "action_id": field.name,
                "options": options[:OPTIONS_MAX],
            }
        if chosen and field.multiple:
            element["initial_options"] = chosen
        elif chosen:
            element["initial_option"] = chosen[0]
        if field.placeholder:
            element["placeholder"] = plain(field.placeholder, PLACEHOLDER_MAX)
        optional = not field.required
    elif isinstance(field, DateInput):
        element = {"type": "datepicker", "action_id": field.name}
        if field.initial:
            element["initial_date"] = field.initial
        optional = not field.required
    elif isinstance(field, PeopleInput):
        # Slack's own people picker: its values are user ids of the workspace.
        element = {"type": "multi_users_select", "action_id": field.name}
        if field.initial:
            element["initial_users"] = list(field.initial)
        optional = not field.required
    elif isinstance(field, Checkbox):
        option = {"text": plain(field.label, OPTION_TEXT_MAX), "value": "yes"}
        element = {"type": "checkboxes", "action_id": field.name, "options": [option]}
        if field.initial:
            element["initial_options"] = [option]
        optional = True
    else:
        element = {
            "type": "file_input",
            "action_id": field.name,
            "filetypes": IMAGE_TYPES,
            "max_files": max(1, min(10, field.max_files)),
        }
        optional = not field.required
    return {
        "type": "input",
        "block_id": field.name,
        "optional": optional,
        "label": plain(field.label, LABEL_MAX),
        "element": element,
    }


def form_values(
    state: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a submitted modal's ``view.state.values``: (values by input name, files)."""
    values: dict[str, Any] = {}
    files: list[dict[str, Any]] = []
    for block in state.values():
        for name, element in block.items():
            kind = element.get("type")
            if kind == "plain_text_input":
                values[name] = element.get("value") or ""
            elif kind in ("static_select", "external_select", "radio_buttons"):
                selected = element.get("selected_option") or {}
                values[name] = selected.get("value")
            elif kind in ("multi_static_select", "multi_external_select"):
                # The core's form of a multiple select: the values separated by commas.
                chosen = element.get("selected_options") or []
                values[name] = ",".join(str(o.get("value") or "") for o in chosen)
            elif kind == "checkboxes":
                values[name] = bool(element.get("selected_options"))
            elif kind == "multi_users_select":
                users = element.get("selected_users") or []
                values[name] = [str(u) for u in users if isinstance(u, str)]
            elif kind == "datepicker":
                values[name] = element.get("selected_date") or ""
            elif kind == "file_input":
                files += [f for f in element.get("files") or [] if isinstance(f, dict)]
    return values, files


def metadata_of(view: Mapping[str, Any]) -> dict[str, Any]:
    """The ``private_metadata`` a modal was opened with ({} when absent or unreadable)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def field_errors(errors: Mapping[str, str], form_blocks: Sequence[Mapping[str, Any]]) -> dict:
    """Errors keyed by the modal's input ``block_id``s; {} when none belongs to an input."""
    ids = {b.get("block_id") for b in form_blocks if b.get("type") == "input"}
    return {name: text[:LABEL_MAX] for name, text in errors.items() if name in ids}
