"""Text no database or platform API can carry, removed at the adapters' edge.

A NUL character is illegal in PostgreSQL text, and a lone UTF-16 surrogate (JSON allows
``"\\ud800"``) cannot be encoded as UTF-8 at all: either fails the first write, long after
the request was acknowledged. Both adapters pass every string of an accepted request
through ``clean`` before anything reads it, so a caption, a reason or a name is stored
without them. Ids are never cleaned: one that holds such a character is refused.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["clean", "clean_text", "may_need_cleaning"]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# How such a character appears in JSON source (an escape) or in a decoded form value.
_UNSTORABLE_SOURCE = re.compile(r"\\u(?:0000|d[89a-f])|\x00", re.IGNORECASE)
_UNSTORABLE_BYTES = re.compile(rb"\\u(?:0000|d[89a-f])|\x00", re.IGNORECASE)


def clean_text(text: str) -> str:
    """``text`` without NUL characters and lone surrogates."""
    return _UNSTORABLE.sub("", text) if _UNSTORABLE.search(text) else text


def may_need_cleaning(source: str | bytes) -> bool:
    """False when the JSON (or form) ``source`` surely parses to storable strings only:
    the fast path that skips ``clean`` for nearly every request."""
    if isinstance(source, bytes):
        return _UNSTORABLE_BYTES.search(source) is not None
    return _UNSTORABLE_SOURCE.search(source) is not None


def clean(value: Any) -> Any:
    """A copy of a parsed JSON value with every string (keys too) passed through
    ``clean_text``; iterative, so any depth ``json.loads`` accepted is fine."""
    if isinstance(value, str):
        return clean_text(value)
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, str):
                copy: Any = clean_text(item)
            elif isinstance(item, dict | list):
                copy = {} if isinstance(item, dict) else []
                stack.append((item, copy))
            else:
                copy = item
            if isinstance(target, dict):
                target[clean_text(str(key))] = copy
            else:
                target.append(copy)
    return root
