"""Where messages are composed: every card, DM and form the core shows, as neutral UI.

Adapters draw these natively (Block Kit, Adaptive Cards, the terminal). User text is
passed through as plain strings; escaping is the adapter's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.ui import (
    Actions,
    Block,
    Button,
    ButtonStyle,
    Checkbox,
    Context,
    Fields,
    FileInput,
    Form,
    FormInput,
    Heading,
    Image,
    Mentions,
    Message,
    Option,
    Paragraph,
    Select,
    TextInput,
)
from domain import CAPTION_MAX, REASON_MAX, Charter, Digest, Profile, Role, Status, SubmissionView


def when(at: datetime, tz: str) -> str:
    """A timestamp as people read it, in the workspace's timezone."""
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def yes_no(t: Translator, value: bool) -> str:
    """Translated yes/no."""
    return t("common.yes") if value else t("common.no")


def _submission_body(t: Translator, sub: SubmissionView, tz: str) -> list[Block]:
    blocks: list[Block] = [
        Image(key, t("card.photo_alt", n=i + 1, author=sub.author.display_name))
        for i, key in enumerate(sub.media_keys)
    ]
    if sub.caption:
        blocks.append(Paragraph(sub.caption))
    blocks.append(
        Fields(
            (
                (t("field.author"), sub.author.display_name),
                (t("field.site"), sub.site_name or t("common.none")),
                (t("field.campaign"), sub.campaign_title or t("common.none")),
                (t("field.people_consented"), yes_no(t, sub.people_consented)),
                (t("field.sensitive"), yes_no(t, sub.sensitive)),
                (t("field.status"), t(f"status.{sub.status.value}")),
            )
        )
    )
    blocks.append(
        Context(t("card.submitted_at", at=when(sub.created_at, tz), revision=sub.revision))
    )
    return blocks


def review_card(t: Translator, sub: SubmissionView, tz: str) -> Message:
    """The card reviewers act on; once decided it shows who decided what and when."""
    blocks = [Heading(t("card.review.title", id=sub.id)), *_submission_body(t, sub, tz)]
    # The revision travels with the button: a click on an old card cannot decide a newer
    # version that the reviewer never saw.
    value = f"{sub.id}:{sub.revision}"
    if sub.status is Status.PENDING:
        if sub.sensitive:
            blocks.append(Context(t("card.review.sensitive_hint")))
        blocks.append(
            Actions(
                (
                    Button(t("button.approve"), "review.approve", value, ButtonStyle.PRIMARY),
                    Button(t("button.reject"), "review.reject", value, ButtonStyle.DANGER),
                    Button(t("button.request_changes"), "review.changes", value),
                    Button(t("button.escalate"), "review.escalate", value),
                )
            )
        )
    elif sub.status is Status.ESCALATED:
        blocks.append(
            Context(
                t(
                    "card.review.escalated",
                    by=sub.decided_by_name or "?",
                    reason=sub.decision_reason or t("common.none"),
                )
            )
        )
        blocks.append(
            Actions(
                (
                    Button(t("button.approve"), "review.approve", value, ButtonStyle.PRIMARY),
                    Button(t("button.reject"), "review.reject", value, ButtonStyle.DANGER),
                )
            )
        )
    else:
        blocks.append(Paragraph(decision_line(t, sub, tz)))
    return Message(
        text=t("card.review.text", id=sub.id, author=sub.author.display_name), blocks=tuple(blocks)
    )


def decision_line(t: Translator, sub: SubmissionView, tz: str) -> str:
    """ "Approved by Carla on 2026-11-21 10:00 — reason" in one line."""
    at = when(sub.decided_at, tz) if sub.decided_at else ""
    if sub.status is Status.WITHDRAWN:
        return t("card.decision.withdrawn", at=when(sub.created_at, tz))
    line = t(f"card.decision.{sub.status.value}", by=sub.decided_by_name or "?", at=at)
    if sub.decision_reason:
        line += "\n" + t("card.decision.reason", reason=sub.decision_reason)
    return line


def superseded_card(t: Translator, sub: SubmissionView) -> Message:
    """An old card after the author resubmitted: points at the new one."""
    return Message(
        text=t("card.superseded", id=sub.id),
        blocks=(
            Heading(t("card.review.title", id=sub.id)),
            Context(t("card.superseded", id=sub.id)),
        ),
    )


def receipt_dm(t: Translator, sub: SubmissionView) -> Message:
    """The author's confirmation that a submission arrived."""
    return Message(
        text=t("dm.receipt", id=sub.id),
        blocks=(
            Paragraph(t("dm.receipt", id=sub.id)),
            Context(t("dm.receipt_hint")),
            Actions((Button(t("button.withdraw"), "submission.withdraw", str(sub.id)),)),
        ),
    )


def outcome_dm(t: Translator, sub: SubmissionView, tz: str, points: int = 0) -> Message:
    """The author's notice of a decision, with the reason."""
    key = f"dm.outcome.{sub.status.value}"
    blocks: list[Block] = [Paragraph(t(key, id=sub.id, by=sub.decided_by_name or "?"))]
    if sub.caption:
        blocks.append(Context(t("dm.outcome.caption", caption=sub.caption)))
    if sub.decision_reason:
        blocks.append(Paragraph(t("card.decision.reason", reason=sub.decision_reason)))
    if points:
        blocks.append(Context(t("dm.outcome.points", points=points)))
    if sub.status is Status.CHANGES_REQUESTED:
        blocks.append(
            Actions(
                (
                    Button(
                        t("button.resubmit"),
                        "submission.resubmit_form",
                        str(sub.id),
                        ButtonStyle.PRIMARY,
                    ),
                )
            )
        )
    return Message(text=t(key, id=sub.id, by=sub.decided_by_name or "?"), blocks=tuple(blocks))


def approver_dm(t: Translator, sub: SubmissionView, tz: str) -> Message:
    """What an approver receives for an escalated submission (the card, addressed to them)."""
    card = review_card(t, sub, tz)
    intro = Paragraph(t("dm.escalated_to_you", id=sub.id, by=sub.decided_by_name or "?"))
    return Message(text=card.text, blocks=(intro, *card.blocks))


def charter_form(t: Translator, charter: Charter, site: str = "", then: str = "") -> Form:
    """The charter with Accept; the site is typed in the same form (pre-filled with the
    member's own site when they have one)."""
    return Form(
        action="charter.accept",
        title=t("form.join.title"),
        submit_label=t("button.accept"),
        intro=t("form.join.intro", version=charter.version) + "\n\n" + charter.text,
        value=f"{charter.version}:{then}",
        inputs=(
            TextInput(
                "site",
                t("field.site"),
                initial=site,
                required=False,
                max_length=120,
                placeholder=t("form.join.site_hint"),
            ),
        ),
    )


def submission_form(
    t: Translator,
    *,
    caption: str,
    sites: Sequence[tuple[int, str]],
    site_id: int | None,
    campaigns: Sequence[tuple[int, str]],
    action: str = "submission.create",
    value: str = "",
    sensitive: bool = False,
    consented: bool = False,
) -> Form:
    """The photo form: photos, caption, site, campaign, consent and sensitivity."""
    inputs: list[FormInput] = [
        # A resubmission may keep the photos already sent.
        FileInput(
            "photos", t("field.photos"), max_files=10, required=action == "submission.create"
        ),
        TextInput(
            "caption",
            t("field.caption"),
            initial=caption[:CAPTION_MAX],
            multiline=True,
            required=False,
            max_length=CAPTION_MAX,
            placeholder=t("form.submit.caption_hint"),
        ),
    ]
    if sites:
        inputs.append(
            Select(
                "site",
                t("field.site"),
                tuple(Option(str(i), n) for i, n in sites),
                initial=str(site_id) if site_id else None,
            )
        )
    if campaigns:
        inputs.append(
            Select("campaign", t("field.campaign"), tuple(Option(str(i), n) for i, n in campaigns))
        )
    inputs.append(Checkbox("people_consented", t("field.people_consented_question"), consented))
    inputs.append(Checkbox("sensitive", t("field.sensitive_question"), sensitive))
    return Form(
        action=action,
        title=t("form.submit.title"),
        submit_label=t("button.send"),
        inputs=tuple(inputs),
        value=value,
    )


def reason_form(t: Translator, action: str, submission_id: int, value: str) -> Form:
    """Asks a reviewer why (reject) or what to change (request changes)."""
    label = "field.reason" if action == "review.reject" else "field.changes"
    return Form(
        action=action,
        title=t(f"form.{action}.title", id=submission_id),
        submit_label=t("button.confirm"),
        value=value,
        inputs=(TextInput("reason", t(label), multiline=True, max_length=REASON_MAX),),
    )


def help_message(t: Translator, roles: frozenset[Role]) -> Message:
    """What the member can do, by role."""
    lines = [
        t("help.intro"),
        t("help.submit"),
        t("help.join"),
        t("help.me"),
        t("help.snooze"),
        t("help.leave"),
        t("help.help"),
    ]
    if Role.CM in roles or Role.ADMIN in roles:
        lines.append(t("help.cm"))
    return Message(
        text=t("help.title"), blocks=(Heading(t("help.title")), Paragraph("\n".join(lines)))
    )


def profile_message(t: Translator, p: Profile, tz: str) -> Message:
    """``/relais me``: status, points, charter, history and (for reviewers) the queue."""
    roles = ", ".join(t(f"role.{r.value}") for r in sorted(p.member.roles)) or t("role.member")
    charter = (
        t("me.charter_ok", version=p.charter.version)
        if p.charter.accepted
        else t("me.charter_todo", version=p.charter.version)
    )
    blocks: list[Block] = [
        Heading(t("me.title", name=p.member.display_name)),
        Fields(
            (
                (t("field.roles"), roles),
                (t("field.site"), p.site_name or t("common.none")),
                (t("field.points"), str(p.points)),
                (t("field.charter"), charter),
            )
        ),
    ]
    if p.snoozed_until:
        blocks.append(Context(t("me.snoozed", until=when(p.snoozed_until, tz))))
    if p.recent:
        lines = [
            t(
                "me.line",
                id=s.id,
                status=t(f"status.{s.status.value}"),
                caption=_short(s.caption) or "-",
            )
            for s in p.recent
        ]
        blocks += [Heading(t("me.recent")), Paragraph("\n".join(lines))]
    else:
        blocks.append(Context(t("me.none_yet")))
    if p.awaiting_review:
        lines = [
            t(
                "me.waiting_line",
                id=s.id,
                at=when(s.created_at, tz),
                caption=_short(s.caption) or "-",
            )
            for s in p.awaiting_review
        ]
        blocks += [
            Heading(t("me.awaiting", count=max(p.awaiting_count, len(p.awaiting_review)))),
            Paragraph("\n".join(lines)),
        ]
    return Message(text=t("me.title", name=p.member.display_name), blocks=tuple(blocks))


def home_message(t: Translator, p: Profile, tz: str, note: str = "") -> Message:
    """The member's home (Slack App Home): profile, history, the review queue for CMs,
    and buttons for what they can do next."""
    profile = profile_message(t, p, tz)
    member = p.member
    buttons: list[Button] = []
    if Role.AMBASSADOR not in member.roles or not p.charter.accepted:
        buttons.append(Button(t("button.join"), "relais.command", "join", ButtonStyle.PRIMARY))
    else:
        if p.snoozed_until:
            buttons.append(Button(t("button.snooze_off"), "relais.command", "snooze off"))
        else:
            buttons.append(Button(t("button.snooze"), "relais.command", "snooze 2w"))
        buttons.append(Button(t("button.leave"), "relais.command", "leave", ButtonStyle.DANGER))
    blocks: list[Block] = [Context(note)] if note else []
    blocks += [*profile.blocks, Context(t("home.hint")), Actions(tuple(buttons))]
    return Message(text=profile.text, blocks=tuple(blocks))


def digest_message(t: Translator, d: Digest, tz: str) -> Message:
    """The weekly digest, readable on a phone: highlights, thanks, sites, welcome, campaign."""
    start, end = _day(d.start, tz), _day(d.end, tz)
    title = t("digest.title", start=start, end=end)
    blocks: list[Block] = [Heading(title)]
    if d.empty:
        blocks.append(Paragraph(t("digest.empty")))
    else:
        blocks.append(Paragraph(t("digest.approved", count=d.approved)))
        for sub in d.highlights:
            if sub.media_keys:
                alt = t("card.photo_alt", n=1, author=sub.author.display_name)
                blocks.append(Image(sub.media_keys[0], alt))
            where = f" · {sub.site_name}" if sub.site_name else ""
            line = f"{sub.author.display_name}{where}"
            if sub.caption:
                line += f" — {_short(sub.caption, 120)}"
            blocks.append(Context(line))
        if d.approved > len(d.highlights):
            blocks.append(Context(t("digest.more", count=d.approved - len(d.highlights))))
        people = tuple((m.external_id, m.display_name) for m, _ in d.contributors)
        blocks.append(Mentions(t("digest.thanks"), people))
        if d.sites:
            pairs = tuple((name or t("common.none"), str(n)) for name, n in d.sites)
            blocks += [Heading(t("digest.by_site")), Fields(pairs)]
        for milestone in d.milestones:
            blocks.append(Paragraph(t("digest.milestone", count=milestone)))
    if d.newcomers:
        welcome = tuple((m.external_id, m.display_name) for m in d.newcomers)
        blocks.append(Mentions(t("digest.welcome"), welcome))
    if d.campaign:
        ends = d.campaign.ends_on.isoformat()
        blocks.append(Paragraph(t("digest.campaign", title=d.campaign.title, ends=ends)))
        if d.campaign.brief:
            blocks.append(Context(_short(d.campaign.brief, 300)))
    blocks.append(Context(t("digest.footer")))
    return Message(text=title, blocks=tuple(blocks))


def _day(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")


def notice(text: str) -> Message:
    """A one-line message."""
    return Message(text=text, blocks=(Paragraph(text),))


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
