"""Where a neutral message or form is drawn as a Microsoft Adaptive Card (and answers read back).

Pure JSON: nothing here imports ``botbuilder`` or ``botframework``; the Teams port and
app wrap these dicts in activities and invoke responses.

**User text stays plain text.** A ``TextBlock`` renders a markdown subset (``**bold**``,
``_italic_``, ``[title](url)``, lists), so this module emits one only for the digest's
thanks (a mention needs one): Relais's own label and people's display names, all
markdown-escaped, never a person's typed text. Every string
the core shows (headings, paragraphs, fields, context lines, form intros, notices,
errors) is a ``TextRun`` inside a ``RichTextBlock``: Adaptive Cards do not parse
markdown in a ``TextRun``, and a run without ``selectAction`` is not a link. Field
pairs are a ``ColumnSet`` of two ``RichTextBlock`` columns rather than a ``FactSet``,
whose values Teams renders as markdown. A mention needs an ``msteams.entities`` entry,
which these cards never carry, so ``<at>Bob</at>`` typed by a person shows literally.
The ``{{DATE(...)}}``/``{{TIME(...)}}`` text functions, which the card renderer applies
to text runs too, are defused with a zero-width space after their first brace.

Other strings land in properties shown as plain text by the renderer: button titles,
image ``altText``, input ``label``s (drawn as a text run), ``placeholder``,
``errorMessage`` and the options of a compact ``Input.ChoiceSet`` (a drop-down). The
exception is the ``title`` of an ``Input.Toggle``, which the renderer may run through
markdown: it is backslash-escaped (a core label, never a person's text).

The notification line (``fallback_text``) is returned separately as plain text, for the
activity's ``summary`` or a ``text`` sent with ``textFormat: "plain"``.

**Buttons** are ``Action.Execute`` (universal actions: Teams sends an
``adaptiveCard/action`` invoke and shows the card we answer with), each with an
``Action.Submit`` ``fallback`` carrying the same data for clients without universal
actions. Reject and request-changes buttons open an ``Action.ShowCard`` that collects
the reason in the card itself. A second reason input on the same card gets a suffixed
id (``reason~1``; card ids must be unique), stripped by ``read_submission``.

**Size.** Teams refuses a message above about 28 KB: ``fit`` cuts the longest texts
(never a button) until the card's JSON fits in ``CARD_MAX_BYTES``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, assert_never

from bot.i18n import Translator
from bot.ui import (
    Actions,
    Block,
    Button,
    ButtonStyle,
    Checkbox,
    Context,
    DateInput,
    Fields,
    File,
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
from domain import REASON_MAX

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
# Teams caps a whole message at about 28 KB; the card leaves room for the activity around it.
CARD_MAX_BYTES = 26_000
# Longest text run; longer texts are split into several blocks.
TEXT_CHUNK = 2000
# Buttons Teams shows in one set before hiding the rest in an overflow menu.
MAX_ACTIONS = 6
# A text cut by ``fit`` keeps at least this many characters.
MIN_CUT = 40
FALLBACK_TEXT_MAX = 1000
REASON_ACTIONS = frozenset({"review.reject", "review.changes"})
# Keys of the card data; inputs must not use them.
DATA_KEYS = frozenset({"action", "value"})
ID_SUFFIX = "~"
_STYLES = {ButtonStyle.PRIMARY: "positive", ButtonStyle.DANGER: "destructive"}
_TEXT_FUNCTION = re.compile(r"\{\{(?=\s*(?:DATE|TIME)\s*\()", re.IGNORECASE)
_MARKDOWN = re.compile(r"([\\`*_\[\]<>~])")

Card = dict[str, Any]
ImageUrl = Callable[[str], str | None]


def labels_for(t: Translator, *, send_photos: str = "", required: str = "") -> dict[str, str]:
    """The ``labels`` mapping from the core's catalogue, in the reader's language.
    ``send_photos`` (a form's photo line) and ``required`` (a required field left empty)
    have no catalogue key yet: the caller passes them."""
    labels = {
        "reason": t("field.reason"),
        "changes": t("field.changes"),
        "confirm": t("button.confirm"),
        "reason_required": t("error.reason_required"),
    }
    if send_photos:
        labels["send_photos"] = send_photos
    if required:
        labels["required"] = required
    return labels


def safe_text(text: str) -> str:
    """Text for a ``TextRun``: defuses the renderer's ``{{DATE()}}``/``{{TIME()}}`` functions."""
    return _TEXT_FUNCTION.sub("{\u200b{", text)


def escape_markdown(text: str) -> str:
    """Backslash-escape markdown punctuation, for the few properties rendered as markdown."""
    return _MARKDOWN.sub(r"\\\1", text)


def fallback_text(message: Message) -> str:
    """The notification line of a message, plain text (not markdown), cut for Teams."""
    return _cut(message.text, FALLBACK_TEXT_MAX)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, size: int = TEXT_CHUNK) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, cut at a line or word when possible."""
    parts: list[str] = []
    while len(text) > size:
        window = text[:size]
        at = window.rfind("\n")
        if at < size // 2:
            at = window.rfind(" ")
        if at < size // 2:
            at = size
        parts.append(text[:at])
        text = text[at:].lstrip("\n") if text[at : at + 1] == "\n" else text[at:]
    parts.append(text)
    return parts


def run(text: str, **style: Any) -> dict[str, Any]:
    """A ``TextRun``: plain text, never markdown."""
    return {"type": "TextRun", "text": safe_text(text), **style}


def rich(*runs: dict[str, Any], **props: Any) -> dict[str, Any]:
    """A ``RichTextBlock`` of text runs."""
    return {"type": "RichTextBlock", "inlines": list(runs), **props}


def _paragraphs(text: str, **style: Any) -> list[dict[str, Any]]:
    return [rich(run(part, **style)) for part in split_text(text)]


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    card["msteams"] = {"width": "Full"}
    return card


class _Ids:
    """Hands out input ids unique within one card (``reason``, ``reason~1``, ...)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, name: str) -> str:
        count = self.seen.get(name, 0)
        self.seen[name] = count + 1
        return name if count == 0 else f"{name}{ID_SUFFIX}{count}"


def _data(action: str, value: str) -> dict[str, str]:
    return {"action": action, "value": value}


def _execute(title: str, action: str, value: str, style: str | None) -> dict[str, Any]:
    """``Action.Execute`` with an ``Action.Submit`` fallback carrying the same data."""
    submit: dict[str, Any] = {"type": "Action.Submit", "title": title, "data": _data(action, value)}
    execute: dict[str, Any] = {
        "type": "Action.Execute",
        "title": title,
        "verb": action,
        "data": _data(action, value),
    }
    if style:
        submit["style"] = style
        execute["style"] = style
    execute["fallback"] = submit
    return execute


def _button(button: Button, labels: Mapping[str, str], ids: _Ids) -> dict[str, Any]:
    style = _STYLES.get(button.style)
    if button.url:
        link: dict[str, Any] = {"type": "Action.OpenUrl", "title": button.label, "url": button.url}
        if style:
            link["style"] = style
        return link
    if button.action not in REASON_ACTIONS:
        return _execute(button.label, button.action, button.value, style)
    # The reason is typed in the card: a ShowCard with the input and its own submit.
    key = "reason" if button.action == "review.reject" else "changes"
    reason: dict[str, Any] = {
        "type": "Input.Text",
        "id": ids("reason"),
        "label": labels.get(key) or button.label,
        "isMultiline": True,
        "maxLength": REASON_MAX,
        "isRequired": True,
        "errorMessage": labels.get("reason_required") or labels.get(key) or button.label,
    }
    confirm = _execute(labels.get("confirm") or button.label, button.action, button.value, style)
    show: dict[str, Any] = {
        "type": "Action.ShowCard",
        "title": button.label,
        "card": {"type": "AdaptiveCard", "body": [reason], "actions": [confirm]},
    }
    if style:
        show["style"] = style
    return show


def _action_sets(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": "ActionSet", "actions": actions[i : i + MAX_ACTIONS]}
        for i in range(0, len(actions), MAX_ACTIONS)
    ]


def _field_row(label: str, value: str, first: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "type": "ColumnSet",
        "columns": [
            {
                "type": "Column",
                "width": 2,
                "items": [rich(run(label, weight="Bolder"))],
            },
            {"type": "Column", "width": 3, "items": [rich(run(value))]},
        ],
    }
    if not first:
        row["spacing"] = "Small"
    return row


def _body(
    blocks: Sequence[Block],
    image_url: ImageUrl,
    labels: Mapping[str, str],
    ids: _Ids,
    *,
    buttons: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(body elements, card-level actions). Buttons after the last text block become the
    card's actions; buttons between text blocks stay in place as ``ActionSet``s."""
    body: list[dict[str, Any]] = []
    trailing: list[dict[str, Any]] = []
    last_text = max((i for i, b in enumerate(blocks) if not isinstance(b, Actions)), default=-1)
    for index, block in enumerate(blocks):
        match block:
            case Heading():
                body += _paragraphs(block.text, weight="Bolder", size="Medium")
            case Paragraph():
                body += _paragraphs(block.text)
            case Image():
                url = image_url(block.media_key)
                if url:
                    body.append(
                        {"type": "Image", "url": url, "altText": block.alt, "size": "Large"}
                    )
                clip = image_url(block.video_key) if block.video_key else None
                if clip:
                    # The cleaned clip, played from a signed link (GET /media/{token}).
                    play = {"type": "Action.OpenUrl", "title": block.play_label, "url": clip}
                    body += _action_sets([play])
            case File():
                # Bots cannot drop a file into a chat without OneDrive consent: the file is
                # a signed download link (GET /media/{token}), like a photo.
                url = image_url(block.media_key)
                body += _paragraphs(block.title, weight="Bolder")
                if url:
                    link = {"type": "Action.OpenUrl", "title": block.filename, "url": url}
                    body += _action_sets([link])
            case Fields():
                body += [
                    _field_row(label, value, i == 0) for i, (label, value) in enumerate(block.pairs)
                ]
            case Context():
                body += _paragraphs(block.text, size="Small", isSubtle=True)
            case Mentions():
                body.append(_mention_block(block))
            case Actions():
                if buttons:
                    actions = [_button(b, labels, ids) for b in block.buttons]
                    if index > last_text:
                        trailing += actions
                    else:
                        body += _action_sets(actions)
            case _:
                assert_never(block)
    if len(trailing) > MAX_ACTIONS:
        body += _action_sets(trailing)
        trailing = []
    return body, trailing


def card_for_message(
    message: Message,
    image_url: ImageUrl,
    *,
    labels: Mapping[str, str] | None = None,
    max_bytes: int = CARD_MAX_BYTES,
) -> Card:
    """The Adaptive Card showing ``message``. ``image_url`` gives the address of a stored
    photo (None leaves the photo out); ``labels`` holds the translated texts of the
    in-card reason prompt (keys ``reason``, ``changes``, ``confirm``, ``reason_required``)."""
    body, actions = _body(message.blocks, image_url, labels or {}, _Ids())
    if not body and message.text:
        body = _paragraphs(message.text)
    card = _card(body, actions)
    entities = [
        _mention_entity(uid, name)
        for block in message.blocks
        if isinstance(block, Mentions)
        for uid, name in block.people
    ]
    if entities:
        card["msteams"]["entities"] = entities
    return fit(card, max_bytes)


def _mention_text(name: str) -> str:
    return f"<at>{escape_markdown(safe_text(name))}</at>"


def _mention_block(block: Mentions) -> dict[str, Any]:
    """The one TextBlock Relais sends: its own label and ``<at>`` mentions, everything
    markdown-escaped (a mention needs a TextBlock and an ``msteams.entities`` entry)."""
    people = ", ".join(_mention_text(name) for _, name in block.people)
    text = f"{escape_markdown(safe_text(block.label))} {people}"
    return {"type": "TextBlock", "text": text, "wrap": True}


def _mention_entity(user_id: str, name: str) -> dict[str, Any]:
    # Relais knows Teams people by their Entra object id, which card mentions accept.
    return {
        "type": "mention",
        "text": _mention_text(name),
        "mentioned": {"id": user_id, "name": name},
    }


def card_for_form(
    form: Form,
    *,
    labels: Mapping[str, str],
    attached: str = "",
    notice: Message | None = None,
    errors: Mapping[str, str] | None = None,
    image_url: ImageUrl | None = None,
    max_bytes: int = CARD_MAX_BYTES,
) -> Card:
    """An Adaptive Card for ``form``: its inputs and one submit button (``Action.Execute``,
    verb ``form.action``, data ``{"action", "value"}``). ``attached``: photos already
    received, shown instead of the photo line (``labels["send_photos"]``). ``notice``: a
    message shown above (its buttons are left out). ``errors``: input name -> message,
    shown under that input (at the top when no input has that name)."""
    errors = dict(errors or {})
    clashing = {f.name for f in form.inputs} & DATA_KEYS
    if clashing:
        raise ValueError(f"input names {sorted(clashing)} collide with the card's data keys")
    ids = _Ids()
    body: list[dict[str, Any]] = []
    if notice is not None:
        body += _body(notice.blocks, image_url or _no_image, labels, ids, buttons=False)[0]
    if form.title:
        body += _paragraphs(form.title, weight="Bolder", size="Medium")
    names = {f.name for f in form.inputs}
    body += [_error(text) for name, text in errors.items() if name not in names]
    if form.intro:
        body += _paragraphs(form.intro)
    for field in form.inputs:
        element = _input(field, labels, attached, ids)
        if element is not None:
            body.append(element)
            if isinstance(field, Select) and field.multiple and field.placeholder:
                body.append(rich(run(field.placeholder, isSubtle=True), spacing="Small"))
        if field.name in errors:
            body.append(_error(errors[field.name]))
    submit = _execute(form.submit_label, form.action, form.value, "positive")
    return fit(_card(body, [submit]), max_bytes)


def _no_image(_key: str) -> None:
    return None


def _error(text: str) -> dict[str, Any]:
    return rich(run(text, color="Attention"), spacing="Small")


def _required(
    element: dict[str, Any], required: bool, name: str, label: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    if required:
        element["isRequired"] = True
        specific = labels.get("reason_required") if name == "reason" else None
        element["errorMessage"] = specific or labels.get("required") or label
    return element


def _input(
    field: FormInput,
    labels: Mapping[str, str],
    attached: str,
    ids: _Ids,
) -> dict[str, Any] | None:
    if isinstance(field, TextInput):
        element: dict[str, Any] = {
            "type": "Input.Text",
            "id": ids(field.name),
            "label": field.label,
            "isMultiline": field.multiline,
        }
        if field.max_length:
            element["maxLength"] = field.max_length
        if field.placeholder:
            element["placeholder"] = field.placeholder
        if field.initial:
            element["value"] = field.initial
        return _required(element, field.required, field.name, field.label, labels)
    if isinstance(field, Select):
        if not field.options:
            return None
        element = {
            "type": "Input.ChoiceSet",
            "id": ids(field.name),
            "label": field.label,
            # A long list (sites) filters as the person types; the filtered style is
            # for one choice only, a multiple select is a drop-down of checkable items.
            "style": "filtered" if field.typeahead and not field.multiple else "compact",
            "choices": [{"title": o.label, "value": o.value} for o in field.options],
        }
        known = {o.value for o in field.options}
        if field.multiple:
            # The value, sent back and given initially, is the choices separated by commas.
            element["isMultiSelect"] = True
            initial = [v for v in (field.initial or "").split(",") if v in known]
            if initial:
                element["value"] = ",".join(initial)
        elif field.initial is not None and field.initial in known:
            element["value"] = field.initial
        if field.placeholder and not field.multiple:
            # Shown by the renderer only in a compact single select (the hint of a
            # multiple one is a line under it, see ``card_for_form``).
            element["placeholder"] = field.placeholder
        return _required(element, field.required, field.name, field.label, labels)
    if isinstance(field, DateInput):
        element = {"type": "Input.Date", "id": ids(field.name), "label": field.label}
        if field.initial:
            element["value"] = field.initial
        return _required(element, field.required, field.name, field.label, labels)
    if isinstance(field, PeopleInput):
        # Teams' people picker: a ChoiceSet filled from the organisation's directory;
        # its value is the Entra ID object ids chosen, comma-separated.
        element = {
            "type": "Input.ChoiceSet",
            "id": ids(field.name),
            "label": field.label,
            "isMultiSelect": True,
            "style": "filtered",
            "choices": [],
            "choices.data": {"type": "Data.Query", "dataset": "graph.microsoft.com/users"},
        }
        if field.initial:
            element["value"] = ",".join(field.initial)
        return _required(element, field.required, field.name, field.label, labels)
    if isinstance(field, Checkbox):
        return {
            "type": "Input.Toggle",
            "id": ids(field.name),
            # A toggle's title may be drawn as markdown: escaped (see the module docstring).
            "title": escape_markdown(field.label),
            "value": "true" if field.initial else "false",
            "valueOn": "true",
            "valueOff": "false",
            "wrap": True,
        }
    # Teams cards have no file input: photos are sent to the bot in a message.
    line = attached or labels.get("send_photos") or field.label
    return rich(run(line, isSubtle=not attached), id=ids(field.name))


def read_submission(value: Any) -> tuple[str, str, dict[str, Any]]:
    """(action, value, inputs) from what Teams sends back: an ``adaptiveCard/action`` invoke
    value (``{"action": {"type": "Action.Execute", "verb", "data"}, "trigger"}``) or the
    ``value`` of an ``Action.Submit`` message (the data merged with the inputs). Inputs
    keep Teams' strings (a toggle is ``"true"``/``"false"``); ``("", "", {})`` when the
    payload is not one of ours."""
    if not isinstance(value, Mapping):
        return "", "", {}
    inner = value.get("action")
    verb: Any = None
    data: Any = value
    if isinstance(inner, Mapping):
        verb = inner.get("verb")
        data = inner.get("data")
        if isinstance(data, str):
            # An Action.Execute whose data was a string: only the verb is meaningful.
            data = {}
        if not isinstance(data, Mapping):
            data = {}
    action = data.get("action")
    if not isinstance(action, str) or not action:
        action = verb if isinstance(verb, str) else ""
    if not action:
        return "", "", {}
    raw_value = data.get("value")
    text_value = str(raw_value) if isinstance(raw_value, (str, int)) else ""
    inputs: dict[str, Any] = {}
    for key, item in data.items():
        if not isinstance(key, str) or key in DATA_KEYS or key == "msteams":
            continue
        if not isinstance(item, (str, bool, int, float)):
            continue
        name = key.split(ID_SUFFIX, 1)[0]
        if name not in inputs or (inputs[name] in ("", None) and item not in ("", None)):
            inputs[name] = item
    return action, text_value, inputs


def card_size(card: Card) -> int:
    """The card's size in bytes, as JSON in UTF-8 (what counts against Teams' limit)."""
    text = json.dumps(card, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


def _runs(element: Any) -> Iterator[dict[str, Any]]:
    """Every text run of the card's body (not inside actions: buttons are kept whole)."""
    if isinstance(element, list):
        for item in element:
            yield from _runs(item)
    elif isinstance(element, dict):
        if element.get("type") == "TextRun":
            yield element
            return
        for key, item in element.items():
            if key not in ("actions", "fallback"):
                yield from _runs(item)


def fit(card: Card, max_bytes: int = CARD_MAX_BYTES) -> Card:
    """``card`` cut to ``max_bytes``: the longest texts lose their end (marked "…") until it
    fits; buttons and inputs are left whole. A card that cannot shrink more (every text
    already short) is returned as it is: ``card_size`` tells the caller."""
    runs = list(_runs(card.get("body", [])))
    size = card_size(card)
    while size > max_bytes:
        longest = max(runs, key=lambda r: len(r["text"]), default=None)
        if longest is None or len(longest["text"]) <= MIN_CUT:
            break
        text = longest["text"]
        # Each character is at least one byte; "…" costs three.
        keep = max(MIN_CUT, len(text) - (size - max_bytes) - 4)
        longest["text"] = text[: keep - 1] + "…"
        size = card_size(card)
    return card
