"""What a log line is about: the request (or activity) and the workspace it came from.

Adapters bind these when a request arrives; the log formatter of ``relais serve``
(``relais/logs.py``) adds them to every line written while that request is handled,
including by tasks it starts (asyncio copies context variables into new tasks). Only
platform ids go here, never a person's words or a token.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("relais_request_id", default=None)
WORKSPACE: ContextVar[str | None] = ContextVar("relais_workspace", default=None)


def new_request_id() -> str:
    """A short random id for a request that carries none of its own."""
    return uuid.uuid4().hex[:16]


def start_request(request_id: str) -> None:
    """Lines logged from here on in this task (and the tasks it starts) are about
    ``request_id``; the workspace is bound once the adapter has read it.

    Nothing resets it: aiohttp handles each request in a task of its own and writes the
    access line in that task after the handler returned, so the line carries the ids too,
    and the next request starts from a fresh copy of the context."""
    REQUEST_ID.set(request_id)
    WORKSPACE.set(None)


def bind_workspace(workspace: str | None) -> None:
    """The rest of the current request is about ``workspace`` (a Slack team or Teams tenant)."""
    if workspace:
        WORKSPACE.set(workspace[:64])


def current() -> dict[str, str]:
    """The bound values, for a log line."""
    out: dict[str, str] = {}
    request_id = REQUEST_ID.get()
    if request_id:
        out["request_id"] = request_id
    workspace = WORKSPACE.get()
    if workspace:
        out["workspace"] = workspace
    return out
