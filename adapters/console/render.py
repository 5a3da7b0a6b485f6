"""Drawing neutral messages as terminal text.

User text is printed literally; control characters (ANSI escapes, carriage returns)
are removed so a caption can never move the cursor or recolour the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import assert_never

from bot.ui import Actions, Context, Fields, File, Heading, Image, Mentions, Message, Paragraph

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def plain(text: str) -> str:
    """Text safe for a terminal: no control characters except newlines and tabs."""
    return _CONTROL.sub("", text)


def render(
    message: Message, *, number_button: Callable[[str, str], int], media_dir: Path
) -> list[str]:
    """The lines showing ``message``; buttons get numbers from ``number_button``."""
    lines: list[str] = []
    for block in message.blocks:
        match block:
            case Heading():
                lines.append(plain(block.text).upper())
            case Paragraph():
                lines.extend(plain(block.text).splitlines() or [""])
            case Image():
                lines.append(f"[{plain(block.alt)}: {media_dir / block.media_key}]")
                if block.video_key:
                    lines.append(f"[{plain(block.play_label)}: {media_dir / block.video_key}]")
            case File():
                lines.append(f"[{plain(block.title)}: {media_dir / block.media_key}]")
            case Fields():
                width = max((len(label) for label, _ in block.pairs), default=0)
                lines.extend(f"  {plain(k).ljust(width)} : {plain(v)}" for k, v in block.pairs)
            case Context():
                lines.append(f"  ({plain(block.text)})")
            case Mentions():
                names = ", ".join(f"@{plain(name)}" for _, name in block.people)
                lines.append(f"{plain(block.label)} {names}")
            case Actions():
                labels = [
                    f"[{number_button(b.action, b.value)}] {plain(b.label)}"
                    for b in block.buttons
                    if not b.url
                ]
                if labels:
                    lines.append("  " + "   ".join(labels))
                # A link is printed: the terminal makes it clickable.
                lines += [f"  {plain(b.label)}: {b.url}" for b in block.buttons if b.url]
            case _:
                assert_never(block)
    if not message.blocks:
        lines.append(plain(message.text))
    return lines
