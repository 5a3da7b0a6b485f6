"""Helpers for the malformed-input tests: raw signed Slack bodies and "no traceback" checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.slack_support import SECRET, TEAM


def slack_headers(raw: bytes, *, timestamp: str | None = None, secret: str = SECRET) -> dict:
    """Slack's signature headers over the exact bytes of ``raw``."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    base = b"v0:" + ts.encode() + b":" + raw
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    is_json = raw.lstrip().startswith((b"{", b"["))
    return {
        "Content-Type": "application/json" if is_json else "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


async def post_slack(
    http: TestClient, raw: bytes | str, *, headers: dict[str, str] | None = None
) -> ClientResponse:
    """POST ``raw`` to /slack/events, signed (unless ``headers`` say otherwise)."""
    data = raw.encode() if isinstance(raw, str) else raw
    sent = headers if headers is not None else slack_headers(data)
    return await http.post("/slack/events", data=data, headers=sent)


def form(payload: Any) -> str:
    """An interactivity body: ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)})


def person(user: str = "UAMB") -> dict[str, Any]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM}


def block_actions(**changes: Any) -> dict[str, Any]:
    """A sound ``block_actions`` payload (a Help button in a channel), then ``changes``."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": person(),
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "1.1234.abcdef",
        "team": {"id": TEAM, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "CGENERAL"},
        "channel": {"id": "CGENERAL", "name": "general"},
        "actions": [
            {
                "type": "button",
                "action_id": "relais.command",
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "Help"},
                "value": "help",
                "action_ts": "1.3",
            }
        ],
    }
    payload.update(changes)
    return payload


def view_submission(**changes: Any) -> dict[str, Any]:
    """A sound ``view_submission`` of a caption-only form, then ``changes``."""
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "test"},
        "user": person(),
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "1.1234.abcdef",
        "view": {
            "id": "VEDGE",
            "type": "modal",
            "callback_id": "submission.create",
            "private_metadata": "{}",
            "title": {"type": "plain_text", "text": "Relais"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "caption",
                    "element": {"type": "plain_text_input", "action_id": "caption"},
                }
            ],
            "state": {
                "values": {"caption": {"caption": {"type": "plain_text_input", "value": "Hi"}}}
            },
            "hash": "h1",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    payload.update(changes)
    return payload


def event_callback(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An Events API callback around ``event``, then ``changes``."""
    body: dict[str, Any] = {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": 1700000000,
        "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
    }
    body.update(changes)
    return body


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """Log records that carry a traceback or report a server error."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
    ]
