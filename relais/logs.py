"""Logging for ``relais serve``: one JSON object per line when the output is not a
terminal (a container, systemd, a log shipper), the readable format on a terminal.

Every line carries the request or activity id and the workspace it is about when there
is one (``bot.logcontext``). What must never reach a line is cut from the finished
line, whatever logger wrote it: Slack tokens (``xox…-``, ``xapp-``), bearer tokens,
signed links (``/media/…``, ``/library/…``) and OAuth codes and states in URLs. Message
text is kept out at the source: Relais logs ids, never what a person wrote, SQLAlchemy
leaves statement parameters out of its errors (``storage.db.make_engine``), and the
chat SDKs' debug logs (which print request bodies) stay off.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from bot import logcontext

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The access log: client, request line, status, size, seconds (no headers, no referer).
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf'

_SECRETS = re.compile(
    r"""
      \bxox[a-z]-[A-Za-z0-9-]+                  # Slack bot, user, refresh tokens
    | \bxapp-[A-Za-z0-9-]+                      # Slack app-level tokens
    | (?<=Bearer\ )[A-Za-z0-9._~+/=-]+          # any bearer token
    | (?<=/media/)[^\s"'?]+                     # signed photo links
    | (?<=/library/)[^\s"'?]+                   # signed library links
    | (?<=[?&]code=)[^\s"'&]+                  # OAuth codes and states, tokens in URLs
    | (?<=[?&]state=)[^\s"'&]+
    | (?<=[?&]token=)[^\s"'&]+
    """,
    re.VERBOSE,
)
REDACTED = "[redacted]"
# Libraries that log request or response bodies at DEBUG; never below INFO here.
QUIET = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "msal", "urllib3")


def redact(line: str) -> str:
    """``line`` with tokens and signed links replaced by ``[redacted]``."""
    return _SECRETS.sub(REDACTED, line)


class _Context(logging.Filter):
    """Adds the request id and workspace bound by the adapters to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in logcontext.current().items():
            setattr(record, key, value)
        return True


class JsonLines(JsonFormatter):
    """One JSON object per record: time, level, logger, message, request_id, workspace,
    and the traceback as ``exc_info`` when there is one."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message"],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class Readable(logging.Formatter):
    """The terminal format, with the request id and workspace after the message."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{key}={getattr(record, key)}"
            for key in ("request_id", "workspace")
            if getattr(record, key, None)
        )
        return redact(f"{line} [{context}]" if context else line)


def configure(stream: TextIO | None = None, *, json: bool | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr): JSON unless it is a terminal."""
    out: Any = stream if stream is not None else sys.stderr
    if json is None:
        json = not (hasattr(out, "isatty") and out.isatty())
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLines() if json else Readable())
    handler.addFilter(_Context())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.INFO)
    return handler
