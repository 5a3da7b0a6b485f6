"""The port each platform adapter implements so the core can reach people.

The core never imports a chat SDK: it hands a neutral ``Message`` and a ``Target``
to a ``PlatformPort`` and learns the outcome from the return value or an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.ui import Message


@dataclass(frozen=True)
class Target:
    """Where a message goes: a person's direct messages, or a channel."""

    kind: Literal["user", "channel"]
    id: str

    def to_json(self) -> dict[str, str]:
        """JSON for the outbox row."""
        return {"kind": self.kind, "id": self.id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        """Rebuild a target stored by ``to_json``."""
        kind = data["kind"]
        if kind not in ("user", "channel"):
            raise ValueError(f"unknown target kind {kind!r}")
        return cls(kind=kind, id=str(data["id"]))


class RetryLater(Exception):
    """A transient failure (rate limit, 5xx, timeout): try again, not before ``retry_after``."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """The message can never be delivered as is (unknown user, bot removed, bad payload)."""


class PlatformPort(Protocol):
    """What an adapter offers the outbox dispatcher."""

    platform: str

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        """Send a new message; return a JSON reference that ``update`` understands."""
        ...

    async def update(self, workspace: str, ref: dict[str, Any], message: Message) -> None:
        """Replace a message posted earlier (e.g. a review card after a decision)."""
        ...
