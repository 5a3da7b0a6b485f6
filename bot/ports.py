"""The port each platform adapter implements so the core can reach people.

The core never imports a chat SDK: it hands a neutral ``Message`` and a ``Target``
to a ``PlatformPort`` and learns the outcome from the return value or an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.ui import Message

TargetKind = Literal["user", "channel", "ephemeral", "home"]
TARGET_KINDS = ("user", "channel", "ephemeral", "home")


@dataclass(frozen=True)
class Target:
    """Where a message goes.

    ``user``: a person's direct messages; ``channel``: a channel; ``ephemeral``: only
    ``user`` sees it, in channel ``id``; ``home``: the person's home view (Slack App
    Home), replaced as a whole on each post.
    """

    kind: TargetKind
    id: str
    user: str = ""

    def to_json(self) -> dict[str, str]:
        """JSON for the outbox row."""
        data = {"kind": self.kind, "id": self.id}
        if self.user:
            data["user"] = self.user
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        """Rebuild a target stored by ``to_json``."""
        kind = data["kind"]
        if kind not in TARGET_KINDS:
            raise ValueError(f"unknown target kind {kind!r}")
        return cls(kind=kind, id=str(data["id"]), user=str(data.get("user", "")))


class RetryLater(Exception):
    """A transient failure (rate limit, 5xx, timeout): try again, not before ``retry_after``."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class NotYet(Exception):
    """The recipient's pace (a channel's or conversation's rate) allows no send now.

    Nothing was sent and nothing failed: the outbox puts the message back for
    ``retry_after`` seconds, without counting a try, and sends other recipients' messages
    meanwhile. ``interval`` is the recipient's steady spacing (seconds between two sends),
    so messages queued behind this one for the same recipient are put back that much
    later each, in order.
    """

    def __init__(self, retry_after: float, interval: float) -> None:
        super().__init__(f"paced: next send in {retry_after:.3f}s")
        self.retry_after = retry_after
        self.interval = interval


def retry_after_seconds(value: object) -> float | None:
    """A ``Retry-After`` header in seconds (None when absent or not a number)."""
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class PermanentFailure(Exception):
    """The message can never be delivered as is (unknown user, bot removed, bad payload)."""


class PlatformPort(Protocol):
    """What an adapter offers the outbox dispatcher.

    A port may also offer ``async def prepare(workspace, message) -> None``: work a send
    needs that no recipient's pace limits (uploading a card's photos). The dispatcher
    calls it for the rows of one recipient side by side before sending them one by one;
    a failure there is ignored (the send does the work again and reports it).
    """

    platform: str

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        """Send a new message; return a JSON reference that ``update`` understands."""
        ...

    async def update(self, workspace: str, ref: dict[str, Any], message: Message) -> None:
        """Replace a message posted earlier (e.g. a review card after a decision)."""
        ...
