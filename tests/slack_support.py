"""Driving the real Slack adapter over HTTP, the way Slack does.

``SlackRig`` runs ``relais serve``'s application (``build_server``) on 127.0.0.1 with
the Slack adapter pointed at a ``FakeSlack`` Web API, and sends it signed requests
built from Slack's documented payload shapes: slash commands (form body),
``block_actions`` and ``view_submission`` (``payload=`` form field), and Events API
callbacks (JSON).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.core import Core
from bot.settings import Settings
from relais.server import build_server
from storage.db import Database
from tests.slack_api import FakeSlack, signed_headers
from tests.support import FakeClock

SECRET = "test-signing-secret"
TEAM = "T1"
REVIEW = "CREVIEW"
CMS = ["UCM1", "UCM2"]
APPROVERS = ["UBOSS"]


def slack_settings(base: Settings, fake: FakeSlack, **extra: Any) -> Settings:
    """The test settings, with Slack ids for the people and the fake Web API."""
    values: dict[str, Any] = {
        "slack_bot_token": fake.token,
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.api_url,
        "relais_cms": CMS,
        "relais_approvers": APPROVERS,
        "relais_review_channel": REVIEW,
        **extra,
    }
    return base.model_copy(update=values)


class SlackRig:
    """The Relais server, a fake Slack, and helpers to act as Slack users."""

    def __init__(self, core: Core, fake: FakeSlack, clock: FakeClock) -> None:
        self.core = core
        self.fake = fake
        self.clock = clock
        self.server = TestServer(build_server(core), host="127.0.0.1")
        self.http = TestClient(self.server)
        self._triggers = itertools.count(1)

    async def __aenter__(self) -> SlackRig:
        await self.http.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    # -- raw requests --------------------------------------------------------------------

    async def post(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        secret: str = SECRET,
    ) -> ClientResponse:
        """POST ``body`` to /slack/events, signed like Slack unless told otherwise."""
        sent = signed_headers(secret, body, timestamp or int(time.time()))
        if not signed:
            sent = {"Content-Type": sent["Content-Type"]}
        sent.update(headers or {})
        return await self.http.post("/slack/events", data=body.encode(), headers=sent)

    def trigger(self) -> str:
        return f"{next(self._triggers)}.1234.abcdef"

    # -- what Slack sends ------------------------------------------------------------------

    async def command(
        self,
        user: str,
        command: str,
        text: str = "",
        channel: str = "CGENERAL",
        *,
        team: str = TEAM,
    ) -> ClientResponse:
        """A slash command, as Slack posts it."""
        body = urlencode(command_payload(self.fake.url, user, command, text, channel, team))
        return await self.post(body)

    async def interactive(self, payload: dict[str, Any]) -> ClientResponse:
        """An interactivity payload (``payload=<json>`` form body)."""
        return await self.post(urlencode({"payload": json.dumps(payload)}))

    async def click(
        self,
        user: str,
        button: dict[str, Any],
        *,
        channel: str | None = REVIEW,
        message_ts: str = "1700000000.000100",
        view: dict[str, Any] | None = None,
        team: str = TEAM,
    ) -> ClientResponse:
        """A ``block_actions`` payload for a button taken from a rendered message."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": self.trigger(),
            "team": {"id": team, "domain": "test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "VHOME")}
            payload["view"] = view
        else:
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel, "name": "review"}
            payload["message"] = {
                "type": "message",
                "ts": message_ts,
                "user": self.fake.bot_user_id,
            }
            payload["response_url"] = f"{self.fake.url}/actions/{team}/1/x"
        return await self.interactive(payload)

    async def submit(
        self,
        user: str,
        view: dict[str, Any],
        values: dict[str, Any] | None = None,
        *,
        view_id: str | None = None,
        team: str = TEAM,
    ) -> ClientResponse:
        """A ``view_submission`` for a modal we opened, with ``values`` filled in by name
        (text, select value, True/False for a checkbox, a list of Slack files, a list of
        user ids for a people picker)."""
        state = fill_state(view, values or {})
        submitted = {
            **view,
            "id": view_id or view.get("id") or "V-submitted",
            "team_id": team,
            "state": {"values": state},
            "hash": "h1",
        }
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": "test"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": self.trigger(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self.interactive(payload)

    async def event(
        self, event: dict[str, Any], *, event_id: str, retry: int | None = None
    ) -> ClientResponse:
        """An Events API callback (JSON), optionally marked as Slack's retry."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM,
                "api_app_id": "A1",
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "authorizations": [
                    {"team_id": TEAM, "user_id": self.fake.bot_user_id, "is_bot": True}
                ],
            }
        )
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(body, headers=headers if retry else None)

    # -- what Relais sent ----------------------------------------------------------------

    async def opened_view(self, count: int = 1) -> dict[str, Any]:
        """The modal of the ``count``-th ``views.open`` call (waits for it)."""
        calls = await self.fake.wait_calls("views.open", count)
        return dict(calls[count - 1].params["view"])

    async def settle(self) -> None:
        """Wake the background workers (after moving the clock)."""
        self.core.outbox_changed()
        self.core.jobs_changed()

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        """Successful chat.postMessage calls to ``channel`` (a user id means their DM)."""
        return [
            c.params
            for c in self.fake.calls_to("chat.postMessage")
            if c.ok and c.params.get("channel") == channel
        ]


def command_payload(
    base_url: str, user: str, command: str, text: str, channel: str, team: str = TEAM
) -> dict[str, str]:
    """A slash command's fields, as Slack sends them (form body, or Socket Mode payload)."""
    return {
        "token": "legacy",
        "team_id": team,
        "team_domain": "test",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": f"{base_url}/commands/{team}/1/x",
        "trigger_id": f"{time.time():.6f}.1234.abcdef",
    }


def fill_state(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``view.state.values`` as Slack builds it for the modal's input blocks."""
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        name, kind = element["action_id"], element["type"]
        given = values.get(name)
        if kind == "plain_text_input":
            value = given if given is not None else element.get("initial_value")
            entry: dict[str, Any] = {"type": kind, "value": value}
        elif kind == "static_select":
            # An option is given by its value or, as a person sees it, by its text.
            options = {o["value"]: o for o in element["options"]}
            options.update({o["text"]["text"]: o for o in element["options"]})
            chosen = options.get(given) if given is not None else element.get("initial_option")
            entry = {"type": kind, "selected_option": chosen}
        elif kind == "external_select":
            # Options loaded from Relais as the person typed: ``given`` is the chosen one.
            chosen = given if given is not None else element.get("initial_option")
            entry = {"type": kind, "selected_option": chosen}
        elif kind == "multi_static_select":
            # Options given by their values or texts, as for a static_select.
            options = {o["value"]: o for o in element["options"]}
            options.update({o["text"]["text"]: o for o in element["options"]})
            if given is None:
                picked = element.get("initial_options", [])
            else:
                picked = [options.get(g) or {"text": {"text": g}, "value": g} for g in given]
            entry = {"type": kind, "selected_options": picked}
        elif kind == "multi_external_select":
            # Options loaded from Relais as the person typed: ``given`` lists the chosen.
            chosen = list(given) if given is not None else element.get("initial_options", [])
            entry = {"type": kind, "selected_options": chosen}
        elif kind == "checkboxes":
            selected = element["options"] if given else []
            if given is None:
                selected = element.get("initial_options", [])
            entry = {"type": kind, "selected_options": selected}
        elif kind == "datepicker":
            chosen = given if given is not None else element.get("initial_date")
            entry = {"type": kind, "selected_date": chosen}
        elif kind == "file_input":
            entry = {"type": kind, "files": list(given or [])}
        elif kind == "multi_users_select":
            chosen = given if given is not None else element.get("initial_users", [])
            entry = {"type": kind, "selected_users": list(chosen)}
        else:
            continue
        state[block["block_id"]] = {name: entry}
    return state


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Buttons of rendered blocks by action id."""
    return {
        element["action_id"]: element
        for block in blocks
        if block.get("type") == "actions"
        for element in block["elements"]
    }


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every text of rendered blocks, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
                out.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)


async def make_core(settings: Settings, db: Database, clock: FakeClock) -> Core:
    """A core for the rig (the review channel comes from the settings)."""
    return Core(settings, db, clock=clock)
