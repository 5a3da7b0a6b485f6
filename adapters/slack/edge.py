"""The edge of the Slack adapter: each HTTP request is checked here before Bolt sees it.

Bolt and our listeners read Slack's payloads as Slack documents them (``body["actions"][0]``,
``"callback_id" in body["view"]``...), so a request that does not have that shape would
fail deep inside them with a 500 and a traceback. ``admit`` answers such requests itself:

- not signed with the signing secret, or a timestamp that is not a number of seconds
  within 5 minutes of now: **401** (one INFO line; anyone can send these);
- signed, but not UTF-8, not parseable, not the shape of a request we handle (no
  ``actions``, ``view: null``, ``state.values`` that is not an object, a file that is
  not an object...), or naming a workspace, person, channel, view, file or event by an
  id that is empty, over 64 characters, or not printable ASCII (a NUL, which
  PostgreSQL cannot store): **400** with the reason (one WARNING line);
- everything else goes on to Bolt with its text cleaned (``adapters.text``): NUL
  characters and lone surrogates, which no UTF-8 database or API can carry, are removed
  from every string, so a caption or a reason is stored without them instead of failing
  later.

Requests Bolt has no listener for keep Bolt's own 404. Socket Mode requests have no
signature (Slack's websocket is authenticated by the app token) but the same shape:
``socket_request`` applies the same checks and cleaning to their payload.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.text import clean, may_need_cleaning

log = logging.getLogger(__name__)

MAX_AGE = 300  # seconds a signed request stays valid (Slack's documented window)
MAX_ID = 64  # Slack ids are about 11 characters; trigger ids about 60
MAX_NAME = 255  # action_id, block_id, callback_id: Slack's own limit
MAX_VALUE = 2000  # a button's value: Slack's own limit
MAX_METADATA = 3000  # a modal's private_metadata: Slack's own limit

_ID = re.compile(r"[!-~]+")  # printable ASCII, no space: every Slack id

# Fields naming a person, workspace, organisation or channel: absent, an id, or an object.
_ENTITIES = ("team", "user", "enterprise", "channel")
# Fields Bolt and our listeners read as text when present.
_TEXTS = (
    "type",
    "subtype",
    "team_id",
    "user_id",
    "channel_id",
    "enterprise_id",
    "user_team",
    "channel_type",
    "bot_id",
    "thread_ts",
    "ts",
    "tab",
    "text",
    "command",
    "trigger_id",
    "response_url",
    "callback_id",
    "action_id",
    "event_id",
    "challenge",
    "api_app_id",
    "token",
    "function_execution_id",
    "bot_access_token",
)
# Objects Bolt looks into (to find the team, user and channel) when present.
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread", "function_data")
_IDS_IN_CONTEXT = (
    "enterprise_id",
    "team_id",
    "user_id",
    "channel_id",
    "actor_enterprise_id",
    "actor_team_id",
    "actor_user_id",
)


class Refused(Exception):
    """The request cannot be processed; ``reason`` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def admit(
    request: web.Request, signing_secret: str, *, clock: Callable[[], float] = time.time
) -> AsyncBoltRequest | web.Response:
    """The Bolt request for a sound Slack request, else the response that refuses it."""
    raw = await request.read()
    if not signed(raw, request.headers, signing_secret, clock()):
        log.info("Slack request refused (401): missing, stale or wrong signature")
        return web.Response(status=401, text="invalid Slack signature")
    try:
        return _bolt_request(request, raw)
    except Refused as refused:
        log.warning("Slack request refused (400): %s", refused.reason)
        return web.Response(status=400, text=f"malformed Slack request: {refused.reason}")


def socket_request(
    payload: Any, headers: dict[str, str | Sequence[str]] | None
) -> AsyncBoltRequest:
    """The Bolt request for a Socket Mode envelope's payload; ``Refused`` (with the
    reason) when it is not the shape of a request we handle, like ``admit`` over HTTP."""
    if not isinstance(payload, dict):
        raise Refused("the payload is not a JSON object")
    check(payload)
    # Socket Mode traffic is one app's, over one websocket: cleaning every payload (a
    # copy) costs less than serialising it to look for what to clean.
    return AsyncBoltRequest(body=clean(payload), headers=headers, mode="socket_mode")


def signed(raw: bytes, headers: Any, secret: str, now: float) -> bool:
    """True when ``raw`` carries Slack's v0 signature made with ``secret`` in the last
    5 minutes (https://api.slack.com/authentication/verifying-requests-from-slack)."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not (0 < len(timestamp) <= 12 and timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(now - int(timestamp)) > MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _bolt_request(request: web.Request, raw: bytes) -> AsyncBoltRequest:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("the body is not UTF-8") from None
    body, source = parse(text, request.content_type)
    context = check(body)
    if may_need_cleaning(source):
        body = clean(body)
        context = build_async_context(AsyncBoltContext({}), body)
    # Bolt verifies the signature again over the raw text, and routes on the body read
    # here (not parsed a second time: Bolt reads a slash command whose text contains
    # "payload" as an empty body).
    headers: dict[str, str | Sequence[str]] = dict(request.headers)
    bolt = AsyncBoltRequest(body="", query=request.query_string, headers=headers)
    bolt.raw_body = text
    bolt.body = body
    bolt.context = context
    return bolt


def parse(text: str, content_type: str) -> tuple[dict[str, Any], str]:
    """The request's fields (as Bolt reads them) and the text that held any JSON."""
    if content_type == "application/json" or text.startswith("{"):
        return _json_object(text, "the body"), text
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        payload = fields["payload"]
        return _json_object(payload, "payload"), payload
    return fields, "\x00" if any("\x00" in v for v in fields.values()) else ""


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(f"{what} is not a JSON object")
    return value


# -- shapes ----------------------------------------------------------------------------------


def check(body: dict[str, Any]) -> AsyncBoltContext:
    """Raise ``Refused`` unless Bolt and our listeners can read ``body`` as Slack's;
    return the context (team, user, channel...) Bolt finds in it."""
    _node(body, "the request")
    for i, auth in enumerate(_list(body, "authorizations", "the request")):
        _node(_dict(auth, f"authorizations[{i}]"), f"authorizations[{i}]")
    for i, url in enumerate(_list(body, "response_urls", "the request")):
        _dict(url, f"response_urls[{i}]")
    for key in ("view", "container", "state"):
        _optional_dict(body, key, "the request")
    kind = body.get("type")
    person = False
    if "command" in body:
        if not isinstance(body["command"], str) or not body["command"].startswith("/"):
            raise Refused("command is not a slash command")
        person = True
    elif kind in ("block_actions", "interactive_message"):
        _actions(body)
        if body.get("view") is not None:
            _view(body["view"], submitted=False)
        person = True
    elif kind in ("view_submission", "view_closed"):
        if not isinstance(body.get("view"), dict):
            raise Refused("view must be an object")
        _view(body["view"], submitted=True)
        person = True
    elif kind == "block_suggestion":
        # A select menu asking for the options matching what the person typed.
        for key in ("action_id", "value"):
            if not isinstance(body.get(key), str):
                raise Refused(f"block_suggestion: {key} must be a string")
        person = True
    elif kind == "event_callback":
        person = _event(body)
    elif kind == "url_verification" and not isinstance(body.get("challenge"), str):
        raise Refused("url_verification has no challenge")
    elif isinstance(kind, str) and kind.startswith("workflow_step"):
        # Steps from Apps (retired by Slack in 2024); Bolt would read body["workflow_step"].
        raise Refused("Relais has no workflow steps")
    return _ids(body, person)


def _node(node: dict[str, Any], where: str) -> None:
    """The fields Bolt reads in any object it looks into for ids (and the nested ones)."""
    for key in _TEXTS:
        if node.get(key) is not None and not isinstance(node[key], str):
            raise Refused(f"{where}: {key} must be a string")
    for key in _ENTITIES:
        value = node.get(key)
        if isinstance(value, dict):
            if value.get("id") is not None and not isinstance(value["id"], str):
                raise Refused(f"{where}: {key}.id must be a string")
            if value.get("team_id") is not None and not isinstance(value["team_id"], str):
                raise Refused(f"{where}: {key}.team_id must be a string")
        elif value is not None and not isinstance(value, str):
            raise Refused(f"{where}: {key} must be an id or an object")
    for key in _NESTED:
        nested = _optional_dict(node, key, where)
        if nested is not None:
            _node(nested, f"{where}.{key}" if where != "the request" else key)


def _actions(body: dict[str, Any]) -> None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise Refused("block_actions without actions")
    for i, item in enumerate(actions):
        action = _dict(item, f"actions[{i}]")
        _name(action.get("action_id"), f"actions[{i}].action_id")
        for key in ("block_id", "type"):
            _optional_str(action, key, f"actions[{i}]", MAX_NAME)
        _optional_str(action, "value", f"actions[{i}]", MAX_VALUE)


def _view(view: dict[str, Any], *, submitted: bool) -> None:
    """A modal or App Home; ``submitted``: the one being submitted (or closed)."""
    if submitted:
        _name(view.get("callback_id"), "view.callback_id")
        _ident(view.get("id"), "view.id")
        if view.get("type") != "modal":
            raise Refused("view.type must be modal")
    else:  # the view a button was clicked in: read for its type only
        _optional_str(view, "callback_id", "view", MAX_NAME)
        if view.get("id") is not None:
            _ident(view["id"], "view.id")
    _optional_str(view, "type", "view", MAX_NAME)
    _optional_str(view, "private_metadata", "view", MAX_METADATA)
    _metadata(view.get("private_metadata"))
    title = _optional_dict(view, "title", "view")
    if title is not None:
        _optional_str(title, "text", "view.title")
    for i, item in enumerate(_list(view, "blocks", "view")):
        block = _dict(item, f"view.blocks[{i}]")
        _optional_str(block, "block_id", f"view.blocks[{i}]", MAX_NAME)
        _optional_str(block, "type", f"view.blocks[{i}]", MAX_NAME)
    state = _optional_dict(view, "state", "view")
    values = _optional_dict(state or {}, "values", "view.state")
    for block_id, block in (values or {}).items():
        for name, element in _dict(block, f"view.state.values.{block_id}").items():
            _element(_dict(element, f"view.state.values.{block_id}.{name}"), name)


def _element(element: dict[str, Any], name: str) -> None:
    where = f"the input {name}"
    _optional_str(element, "type", where)
    _optional_str(element, "value", where)
    selected = _optional_dict(element, "selected_option", where)
    if selected is not None:
        _optional_str(selected, "value", f"{where}.selected_option", MAX_VALUE)
    for i, option in enumerate(_list(element, "selected_options", where)):
        _optional_str(_dict(option, f"{where}.selected_options[{i}]"), "value", where, MAX_VALUE)
    for i, file in enumerate(_list(element, "files", where)):
        _file(_dict(file, f"{where}.files[{i}]"), f"{where}.files[{i}]")


def _file(file: dict[str, Any], where: str) -> None:
    _ident(file.get("id"), f"{where}.id")
    for key in ("name", "title", "mimetype", "filetype", "url_private", "url_private_download"):
        _optional_str(file, key, where)
    size = file.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
        raise Refused(f"{where}.size must be a number")


def _metadata(text: str | None) -> None:
    """What we put in a modal's ``private_metadata``: the form's value, photos' file ids."""
    try:
        meta = json.loads(text) if text else {}
    except (ValueError, RecursionError):
        return  # not ours: read as no metadata
    if not isinstance(meta, dict):
        return
    if meta.get("v") is not None and not isinstance(meta["v"], str):
        raise Refused("view.private_metadata: v must be a string")
    files = meta.get("files")
    if files is not None:
        if not isinstance(files, list):
            raise Refused("view.private_metadata: files must be a list")
        for file in files:
            _ident(file, "view.private_metadata file")


def _event(body: dict[str, Any]) -> bool:
    """Check an Events API callback; True when it comes from a person (needs their id)."""
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise Refused("event_callback without an event type")
    _ident(body.get("event_id"), "event_id")
    for i, file in enumerate(_list(event, "files", "event")):
        _file(_dict(file, f"event.files[{i}]"), f"event.files[{i}]")
    from_person = event.get("bot_id") is None and event.get("subtype") in (None, "file_share")
    return event["type"] in ("message", "app_home_opened") and from_person


def _ids(body: dict[str, Any], person: bool) -> AsyncBoltContext:
    """Ids Bolt finds for the request: well formed, and a team and a user for a person's."""
    try:
        context = build_async_context(AsyncBoltContext({}), body)
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise Refused(f"Bolt cannot find its ids ({type(exc).__name__})") from None
    for key in _IDS_IN_CONTEXT:
        if context.get(key) is not None:
            _ident(context[key], key)
    if person and not context.get("team_id"):
        raise Refused("no team (workspace) id")
    if person and not context.get("user_id"):
        raise Refused("no user id")
    _optional_str(body, "trigger_id", "the request", MAX_NAME)
    return context


# -- small checks ----------------------------------------------------------------------------


def _ident(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise Refused(f"{what} is missing")
    if len(value) > MAX_ID or not _ID.fullmatch(value):
        raise Refused(f"{what} is not a Slack id (printable ASCII, at most {MAX_ID})")


def _name(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise Refused(f"{what} is missing")
    if len(value) > MAX_NAME:
        raise Refused(f"{what} is longer than {MAX_NAME} characters")


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refused(f"{what} must be an object")
    return value


def _optional_dict(node: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = node.get(key)
    if value is not None and not isinstance(value, dict):
        raise Refused(f"{where}: {key} must be an object")
    return value


def _list(node: dict[str, Any], key: str, where: str) -> list[Any]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused(f"{where}: {key} must be a list")
    return value


def _optional_str(node: dict[str, Any], key: str, where: str, limit: int | None = None) -> None:
    value = node.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise Refused(f"{where}: {key} must be a string")
    if limit is not None and len(value) > limit:
        raise Refused(f"{where}: {key} is longer than {limit} characters")
