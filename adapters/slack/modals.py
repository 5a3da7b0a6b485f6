"""Slack modals: a core form drawn as a view, opened within the trigger's 3 s, and
answered in the ack (field errors, the next form, or a confirmation). A submitted
submission form is checked at once, then its photos become a persisted job."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.files import JOB_KIND
from adapters.slack.port import classify
from bot import cards
from bot.core import Core
from bot.i18n import Translator, translator
from bot.media import ACCEPTED_FORMATS, ACCEPTED_LABEL, VIDEO_MIMETYPES
from bot.ports import RetryLater
from bot.services.consent import declaration_problem
from bot.services.submissions import content_problems
from bot.ui import Form, Message, Reply
from domain import MAX_PHOTOS, MemberView

log = logging.getLogger(__name__)

SUBMISSION_FORMS = ("submission.create", "submission.resubmit")
# Declared file types the photo intake accepts (bot.media), with JPEG's common aliases:
# a declared type we know we refuse (a PDF, but also a GIF, HEIC or SVG) is refused in
# the form; the content is checked again after download.
PHOTO_MIMETYPES = frozenset(
    {mime for mime, _ in ACCEPTED_FORMATS.values()} | {"image/jpg", "image/pjpeg"} | VIDEO_MIMETYPES
)


class Modals:
    """Forms as Slack views."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def form_view(
        self,
        t: Translator,
        form: Form,
        *,
        notice: Message | None = None,
        files: list[str] | None = None,
    ) -> dict[str, Any]:
        """A core form as a modal; ``files``: photos already sent, carried in the metadata."""
        attached = t("slack.dropped.attached", count=len(files)) if files else ""
        return render.form_view(
            form,
            close_label=t("button.cancel"),
            notice=notice,
            attached=attached,
            metadata={"files": files} if files else None,
        )

    async def open_view(self, client: AsyncWebClient, trigger: str, view: dict[str, Any]) -> bool:
        """``views.open`` within the trigger's 3 s, retrying once on a short rate limit."""
        for attempt in range(2):
            try:
                await client.views_open(trigger_id=trigger, view=view)
                return True
            except Exception as exc:
                failure = classify(exc)
                log.warning("views.open failed: %s", failure)
                wait = failure.retry_after if isinstance(failure, RetryLater) else None
                if attempt or wait is None or wait > 1.0:
                    return False
                await asyncio.sleep(wait)
        return False

    def view_answer(
        self, t: Translator, reply: Reply, view: dict[str, Any], meta: dict[str, Any]
    ) -> dict[str, Any]:
        """How a submitted modal answers: field errors, the next form, or a confirmation."""
        errors = render.field_errors(reply.errors, view.get("blocks") or [])
        if errors:
            return {"response_action": "errors", "errors": errors}
        if reply.form is not None:
            # Joining from /submit (or from dropped photos) leads straight to the photo form.
            files = meta.get("files") if reply.form.action in SUBMISSION_FORMS else None
            next_view = self.form_view(t, reply.form, notice=reply.message, files=files)
            return {"response_action": "update", "view": next_view}
        message = reply.message or cards.notice(t("button.close"))
        title = (view.get("title") or {}).get("text") or "Relais"
        return {
            "response_action": "update",
            "view": render.notice_view(title, message, close_label=t("button.close")),
        }

    def unavailable_answer(self, t: Translator, view: dict[str, Any], text: str) -> dict[str, Any]:
        """Why a form could not be taken, on its first input so the form stays open (its
        inputs kept); a form without inputs is replaced by the notice."""
        blocks = view.get("blocks") or []
        first = next((b for b in blocks if b.get("type") == "input" and b.get("block_id")), None)
        if first is not None:
            errors = render.field_errors({str(first["block_id"]): text}, blocks)
            return {"response_action": "errors", "errors": errors}
        title = (view.get("title") or {}).get("text") or "Relais"
        notice = render.notice_view(title, cards.notice(text), close_label=t("button.close"))
        return {"response_action": "update", "view": notice}

    async def accept_submission(
        self,
        member: MemberView,
        team: str,
        action: str,
        view: dict[str, Any],
        meta: dict[str, Any],
        values: dict[str, Any],
        files: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Check what can be checked at once, persist a job; the ack's answer (photos come
        later)."""
        t = translator(member.locale)
        if not files:
            files = [{"id": str(f)} for f in meta.get("files") or []]
        errors = submission_errors(t, action, values, files)
        if errors:
            field_errors = render.field_errors(errors, view.get("blocks") or [])
            if field_errors:
                return {"response_action": "errors", "errors": field_errors}
            message = cards.notice("\n".join(errors.values()))
            return self.view_answer(t, Reply(message=message), view, meta)
        key = f"slack:view:{view.get('id')}"
        payload = {
            "team": team,
            "user": member.external_id,
            "files": [_file_ref(f) for f in files],
            "values": values,
            "action": action,
            "value": str(meta.get("v", "")),
            "client_key": key,
        }
        # Committed before the ack: once Slack closes the modal, the submission is ours.
        await self.core.relay.job(JOB_KIND, key, payload)
        received = cards.notice(t("slack.received"))
        return {
            "response_action": "update",
            "view": render.notice_view(
                (view.get("title") or {}).get("text") or "Relais",
                received,
                close_label=t("button.close"),
            ),
        }


def _file_ref(file: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "name", "mimetype", "filetype", "size", "url_private_download", "url_private")
    return {k: file[k] for k in keep if k in file}


def submission_errors(
    t: Translator, action: str, values: dict[str, Any], files: list[dict[str, Any]]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(files) > MAX_PHOTOS:
        errors["photos"] = t("error.too_many_photos", max=MAX_PHOTOS)
    else:
        declared = [
            str(f.get("name") or f.get("id"))
            for f in files
            if f.get("mimetype") and str(f["mimetype"]).lower() not in PHOTO_MIMETYPES
        ]
        if declared:
            errors["photos"] = t(
                "photos.not_images", names=", ".join(declared), accepted=ACCEPTED_LABEL
            )
    # No photo on a new submission: field news, which needs a title and a text. (A
    # resubmission without new photos keeps those it had: the service decides.)
    news = action == "submission.create" and not files
    problems = content_problems(
        str(values.get("title") or ""),
        str(values.get("caption") or ""),
        str(values.get("link") or ""),
        news=news,
    )
    # Who appears in the photos: answered at once in the modal rather than by DM after
    # it closed. A news item has no photo: nobody appears, nothing to ask.
    problem = None if news else declaration_problem(values)
    if problem is not None:
        problems.append(problem)
    for err in problems:
        errors.setdefault(err.field, t(err.key, **err.params))
    return errors
