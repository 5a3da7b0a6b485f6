"""Every module of the project imports on its own, whatever was imported before it.

A cycle between two modules (say ``bot/cards.py`` and a service importing each other)
can hide behind the order the rest of the code happens to import things in, and then
breaks ``python -c "import bot.services.digest"``. This test imports each module in a
process where no other project module was imported yet.

To stay cheap it starts one fresh interpreter, imports everything once so the third-party
libraries are loaded, forgets every project module, then forks one child per module: each
child imports its one module from nothing (as far as the project goes) and reports.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "storage", "bot", "adapters", "relais")


def modules() -> list[str]:
    """Every importable module of the project's packages, by dotted name."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


def _ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _import_each_alone() -> int:
    """Run in a fresh interpreter: import each module in a child that starts clean."""
    names = modules()
    for name in names:  # warm up the third-party libraries; failures are reported below
        try:
            importlib.import_module(name)
        except Exception:  # the child below reports the same error, with its traceback
            pass
    for name in [n for n in sys.modules if _ours(n)]:
        del sys.modules[name]
    failed = 0
    for name in names:
        pid = os.fork()
        if pid == 0:  # the child
            code = 0
            try:
                importlib.import_module(name)
            except BaseException:
                print(f"--- import {name} failed:", file=sys.stderr)
                traceback.print_exc()
                code = 1
            sys.stderr.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            failed += 1
    return failed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks one child per module")
def test_every_module_imports_on_its_own() -> None:
    assert len(modules()) > 50
    done = subprocess.run(
        [sys.executable, __file__],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


if __name__ == "__main__":
    sys.exit(1 if _import_each_alone() else 0)
