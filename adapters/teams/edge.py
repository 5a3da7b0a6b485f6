"""The shape of a Bot Framework activity, checked before the SDK and our handlers read it.

botbuilder deserialises an activity with msrest, which raises on a timestamp it cannot
parse and otherwise keeps whatever it was given: ``attachments: ["x"]`` or a mention
whose ``mentioned`` is a string reach our handlers and fail there with a 500. ``problem``
names the first thing wrong with an activity, in one sentence, for a 400:

- the fields the SDK and Relais read have the type the Bot Framework schema gives them
  (``attachments``, ``entities``, ``membersAdded`` are lists of objects, a mention has a
  ``mentioned`` account, timestamps are ISO 8601, ``from`` and ``conversation`` are
  accounts...);
- ids are printable, with no space, and not absurdly long: a person or tenant at most 128
  characters (what Relais stores), a channel or team 200, a conversation 512, an
  activity 128. An id with a NUL (which PostgreSQL cannot store) is refused, never
  cleaned: it would name someone else.

Text is cleaned afterwards (``adapters.text``), not refused.
"""

from __future__ import annotations

import re
from typing import Any

from msrest.exceptions import DeserializationError
from msrest.serialization import Deserializer

MAX_PERSON_ID = 128
MAX_CHANNEL_ID = 200
MAX_CONVERSATION_ID = 512
MAX_ACTIVITY_ID = 128

_ID = re.compile(r"[!-~]+")  # printable ASCII, no space
_ACCOUNT_TEXTS = ("name", "role", "aadObjectId")
_ACTIVITY_TEXTS = (
    "channelId",
    "locale",
    "name",
    "textFormat",
    "inputHint",
    "replyToId",
    "localTimezone",
    "action",
    "summary",
)


class Malformed(Exception):
    """What is wrong with an activity, in one sentence."""


def problem(body: dict[str, Any]) -> str | None:
    """Why ``body`` (a JSON object with a type and a serviceUrl) cannot be processed."""
    try:
        _check(body)
    except Malformed as exc:
        return str(exc)
    return None


def _check(body: dict[str, Any]) -> None:
    _ident(body.get("id"), "id", MAX_ACTIVITY_ID, required=False)
    for key in _ACTIVITY_TEXTS:
        _text(body, key, "the activity")
    _ident(body.get("replyToId"), "replyToId", MAX_CONVERSATION_ID, required=False)
    for key in ("timestamp", "localTimestamp"):
        _timestamp(body.get(key), key)
    for key in ("from", "recipient"):
        if body.get(key) is not None:
            _account(body[key], key, MAX_PERSON_ID)
    conversation = body.get("conversation")
    if conversation is not None:
        _account(conversation, "conversation", MAX_CONVERSATION_ID)
        _ident(conversation.get("tenantId"), "conversation.tenantId", MAX_PERSON_ID, False)
        _text(conversation, "conversationType", "conversation")
    _channel_data(body.get("channelData"))
    for key in ("membersAdded", "membersRemoved"):
        for i, member in enumerate(_list(body, key)):
            _account(member, f"{key}[{i}]", MAX_PERSON_ID)
    for i, entity in enumerate(_list(body, "entities")):
        _entity(_object(entity, f"entities[{i}]"), f"entities[{i}]")
    for i, attachment in enumerate(_list(body, "attachments")):
        _attachment(_object(attachment, f"attachments[{i}]"), f"attachments[{i}]")
    if body.get("type") == "invoke" and body.get("name") == "adaptiveCard/action":
        value = _object(body.get("value"), "an adaptiveCard/action invoke's value")
        action = _object(value.get("action"), "value.action")
        if not isinstance(action.get("verb"), str):
            raise Malformed("value.action.verb must be a string")


def _account(value: Any, where: str, limit: int) -> None:
    account = _object(value, where)
    _ident(account.get("id"), f"{where}.id", limit, required=True)
    for key in _ACCOUNT_TEXTS:
        _text(account, key, where)
    _ident(account.get("aadObjectId"), f"{where}.aadObjectId", MAX_PERSON_ID, required=False)


def _channel_data(value: Any) -> None:
    if value is None:
        return
    data = _object(value, "channelData")
    for key, limit in (("tenant", MAX_PERSON_ID), ("channel", MAX_CHANNEL_ID)):
        if data.get(key) is not None:
            inner = _object(data[key], f"channelData.{key}")
            _ident(inner.get("id"), f"channelData.{key}.id", limit, required=False)
    if data.get("team") is not None:
        team = _object(data["team"], "channelData.team")
        _ident(team.get("id"), "channelData.team.id", MAX_CHANNEL_ID, required=False)
    _text(data, "eventType", "channelData")


def _entity(entity: dict[str, Any], where: str) -> None:
    if not isinstance(entity.get("type"), str):
        raise Malformed(f"{where} has no type")
    if entity.get("type") == "mention":
        _account(entity.get("mentioned"), f"{where}.mentioned", MAX_PERSON_ID)
        _text(entity, "text", where)


def _attachment(attachment: dict[str, Any], where: str) -> None:
    for key in ("contentType", "contentUrl", "name", "thumbnailUrl"):
        _text(attachment, key, where)
    if attachment.get("contentType") == "application/vnd.microsoft.teams.file.download.info":
        content = _object(attachment.get("content"), f"{where}.content")
        for key in ("downloadUrl", "fileType", "uniqueId"):
            _text(content, key, f"{where}.content")


def _timestamp(value: Any, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise Malformed(f"{what} must be an ISO 8601 date and time")
    try:
        Deserializer.deserialize_iso(value)
    except DeserializationError:
        raise Malformed(f"{what} is not an ISO 8601 date and time") from None


def _ident(value: Any, what: str, limit: int, required: bool) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise Malformed(f"{what} is missing" if value in (None, "") else f"{what} is not an id")
    if len(value) > limit or not _ID.fullmatch(value):
        raise Malformed(f"{what} is not an id (printable, no space, at most {limit})")


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{what} must be an object")
    return value


def _list(node: dict[str, Any], key: str) -> list[Any]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{key} must be a list")
    return value


def _text(node: dict[str, Any], key: str, where: str) -> None:
    if node.get(key) is not None and not isinstance(node[key], str):
        raise Malformed(f"{where}: {key} must be a string")
