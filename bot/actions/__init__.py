"""Every action a person can take, in one table (``table.TABLE``), behind one check.

- ``table.py``     the names (``ActionName``), ``Permission``, ``Request``, ``@action``;
- ``dispatch.py``  ``handle_command`` / ``handle_action`` -> ``dispatch`` -> ``authorize``;
- ``programme.py`` help, join, charter, leave, me, snooze, digest, config;
- ``submitting.py`` /submit, the submission form, withdraw, resubmit;
- ``reviewing.py`` show, approve, reject, request changes, escalate;
- ``stats.py``     the CM's numbers: stats (with a chart) and the CSV export.
- ``running.py``   sites and roles (running the programme from chat);
- ``consent.py``   consent of the people in a photo: answer, list, withdraw;
- ``recognition.py`` the leaderboard and the Thank button.

A new action is one ``@action(...)`` entry in one of these modules (or a new one
imported below), with its permission declared beside its handler.
"""

from bot.actions import consent, programme, recognition, reviewing, running, stats, submitting
from bot.actions.common import error_reply, render_error
from bot.actions.dispatch import changes_member, dispatch, handle_action, handle_command
from bot.actions.submitting import submit_entry
from bot.actions.table import TABLE, ActionName, Permission

__all__ = [
    "TABLE",
    "ActionName",
    "Permission",
    "changes_member",
    "consent",
    "dispatch",
    "error_reply",
    "handle_action",
    "handle_command",
    "programme",
    "recognition",
    "render_error",
    "reviewing",
    "running",
    "stats",
    "submit_entry",
    "submitting",
]
