"""Waiting in tests without fixed sleeps: poll a condition every 10 ms until a deadline."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def poll(
    predicate: Callable[[], Any],
    timeout: float,  # noqa: ASYNC109 - the polling deadline is the point
    *,
    message: str | None = None,
    context: Callable[[], str] = lambda: "",
) -> Any:
    """Return ``predicate()``'s first truthy value (it may be async); raise AssertionError
    after ``timeout`` seconds, naming what was awaited and ``context()`` (e.g. last calls)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() >= deadline:
            what = message or getattr(predicate, "__qualname__", repr(predicate))
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; {context()}")
        await asyncio.sleep(0.01)
