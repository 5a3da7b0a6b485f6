"""Where messages are composed: every card, DM and form the core shows, as neutral UI.

Adapters draw these natively (Block Kit, Adaptive Cards, the terminal). User text is
passed through as plain strings; escaping is the adapter's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from bot.i18n import DEFAULT_LOCALE, Translator, format_day, format_when
from bot.media import ACCEPTED_LABEL
from bot.ui import (
    Actions,
    Block,
    Button,
    ButtonStyle,
    Checkbox,
    Context,
    DateInput,
    Fields,
    File,
    FileInput,
    Form,
    FormInput,
    Heading,
    Image,
    Mentions,
    Message,
    Option,
    Paragraph,
    PeopleInput,
    Select,
    TextInput,
    link,
)
from domain import (
    CAPTION_MAX,
    CHARTER_MAX,
    LEADERBOARD_MIN_NAMED,
    LINK_MAX,
    NEWS_TITLE_MAX,
    REASON_MAX,
    THANKS_NOTE_MAX,
    Appears,
    BadgeCode,
    CampaignView,
    Charter,
    ConsentEntry,
    ConsentState,
    Digest,
    Durations,
    Leaderboard,
    LeaderboardPeriod,
    LeaderLine,
    MemberView,
    Profile,
    Role,
    SiteLine,
    Stats,
    StatsView,
    Status,
    SubmissionView,
)


def when(at: datetime, tz: str, locale: str | Translator = DEFAULT_LOCALE) -> str:
    """A timestamp as people of ``locale`` (a locale name or the reader's translator)
    read it, in timezone ``tz``: ``30 nov. 2026 à 10:00``, ``Nov 30, 2026 at 10:00 AM``."""
    return format_when(at, tz, locale)


def day(value: date | datetime, locale: str | Translator = DEFAULT_LOCALE, tz: str = "UTC") -> str:
    """A calendar day as people of ``locale`` read it (``30 nov. 2026``); a datetime is
    first moved to timezone ``tz``."""
    return format_day(value, locale, tz)


def yes_no(t: Translator, value: bool) -> str:
    """Translated yes/no."""
    return t("common.yes") if value else t("common.no")


def author_name(t: Translator, sub: SubmissionView) -> str:
    """Who sent ``sub``: their name, or "a colleague from Lyon" once they asked to be
    forgotten (``/relais forget`` with approved submissions kept anonymised)."""
    if sub.author.forgotten:
        if sub.site_name:
            return t("person.forgotten_site", site=sub.site_name)
        return t("person.forgotten")
    return sub.author.display_name


def removed_card(t: Translator, submission_id: int) -> Message:
    """A review card whose submission was deleted at its author's request."""
    text = t("card.removed", id=submission_id)
    return Message(
        text=text, blocks=(Heading(t("card.review.title", id=submission_id)), Context(text))
    )


def submission_heading(t: Translator, sub: SubmissionView) -> Heading:
    """ "Submission #12", or "Field news #12" for a news item (no photo)."""
    return Heading(t("card.news.title" if sub.is_news else "card.review.title", id=sub.id))


def link_blocks(t: Translator, sub: SubmissionView) -> list[Block]:
    """A submission's link: the address as plain text (where it leads, before anyone opens
    it) and a button that opens it; nothing when there is none. Never drawn as markup."""
    if not sub.link:
        return []
    return [
        Context(t("card.link", url=sub.link)),
        Actions((link(t("button.open_link"), sub.link, ButtonStyle.DEFAULT),)),
    ]


def media_block(t: Translator, sub: SubmissionView, index: int) -> Image:
    """The ``index``-th photo of ``sub``, or the poster frame of a video (with its clip,
    to play), with its alternative text."""
    key = sub.media_keys[index]
    clip = sub.video_for(key)
    alt = "card.video_alt" if clip else "card.photo_alt"
    play = t("card.video_play", n=index + 1) if clip else ""
    return Image(key, t(alt, n=index + 1, author=author_name(t, sub)), clip, play)


def _submission_body(t: Translator, sub: SubmissionView, tz: str) -> list[Block]:
    author = author_name(t, sub)
    blocks: list[Block] = [Heading(sub.title)] if sub.title else []
    blocks += [media_block(t, sub, i) for i in range(len(sub.media_keys))]
    if sub.caption:
        blocks.append(Paragraph(sub.caption))
    blocks += link_blocks(t, sub)
    fields = [
        (t("field.author"), author),
        (t("field.site"), sub.site_name or t("common.none")),
    ]
    # No campaign line rather than a word for "none" (which, in French, would have to
    # agree with the field's gender).
    if sub.campaign_title:
        fields.append((t("field.campaign"), sub.campaign_title))
    fields += [
        (t("field.appears"), appears_text(t, sub)),
        *((c.name, t(f"consent.state.{c.state.value}")) for c in sub.consents),
        (t("field.sensitive"), yes_no(t, sub.sensitive)),
        (t("field.status"), t(f"status.{sub.status.value}")),
    ]
    blocks.append(Fields(tuple(fields)))
    if sub.consent_withdrawn:
        blocks.append(Context(t("card.consent_withdrawn")))
    elif sub.status is Status.APPROVED and sub.internal_only:
        blocks.append(Context(t("card.internal_only")))
    elif sub.status is Status.APPROVED and sub.consents and not sub.consent_complete:
        blocks.append(Context(t("card.consent_warning")))
    blocks.append(
        Context(t("card.submitted_at", at=when(sub.created_at, tz, t), revision=sub.revision))
    )
    return blocks


def appears_text(t: Translator, sub: SubmissionView) -> str:
    """Who appears, as the card says it ("Colleagues", "People outside the company
    (written agreement declared)", "Not asked" for submissions sent before the form asked)."""
    if sub.is_news:
        return t("appears.news")
    if sub.appears is None:
        return t("appears.unknown")
    if sub.appears is Appears.OUTSIDE:
        return t("appears.outside_declared")
    return t(f"appears.{sub.appears.value}")


def _approve_buttons(t: Translator, sub: SubmissionView, value: str) -> tuple[Button, ...]:
    """Approve; with "Approve (internal only)" beside it while consent is incomplete."""
    approve = Button(t("button.approve"), "review.approve", value, ButtonStyle.PRIMARY)
    if sub.consent_complete and not sub.consent_withdrawn:
        return (approve,)
    internal = Button(t("button.approve_internal"), "review.approve_internal", value)
    return (internal, approve)


def review_card(t: Translator, sub: SubmissionView, tz: str) -> Message:
    """The card reviewers act on; once decided it shows who decided what and when."""
    blocks = [submission_heading(t, sub), *_submission_body(t, sub, tz)]
    # The revision travels with the button: a click on an old card cannot decide a newer
    # version that the reviewer never saw.
    value = f"{sub.id}:{sub.revision}"
    if sub.status is Status.PENDING:
        if sub.sensitive:
            blocks.append(Context(t("card.review.sensitive_hint")))
        if sub.consents and not sub.consent_complete:
            blocks.append(Context(t("card.review.consent_hint")))
        blocks.append(
            Actions(
                (
                    *_approve_buttons(t, sub, value),
                    Button(t("button.reject"), "review.reject", value, ButtonStyle.DANGER),
                    Button(t("button.request_changes"), "review.changes", value),
                    Button(t("button.escalate"), "review.escalate", value),
                )
            )
        )
    elif sub.status is Status.ESCALATED:
        blocks.append(Context(t("card.review.escalated", by=sub.decided_by_name or "?")))
        # The escalation note is optional: no note, no line.
        if sub.decision_reason:
            blocks.append(Context(t("card.decision.reason", reason=sub.decision_reason)))
        blocks.append(
            Actions(
                (
                    *_approve_buttons(t, sub, value),
                    Button(t("button.reject"), "review.reject", value, ButtonStyle.DANGER),
                )
            )
        )
    else:
        blocks.append(Paragraph(decision_line(t, sub, tz)))
        if sub.status is Status.APPROVED:
            # Once thanked, the card says so; until then a reviewer may thank the author.
            if sub.thanked_at is not None:
                by = sub.thanked_by_name or "?"
                blocks.append(Context(t("card.thanked", by=by, at=when(sub.thanked_at, tz, t))))
            else:
                thank = Button(t("button.thank"), "review.thank", str(sub.id))
                blocks.append(Actions((thank,)))
    return Message(
        text=t("card.review.text", id=sub.id, author=author_name(t, sub)), blocks=tuple(blocks)
    )


def decision_line(t: Translator, sub: SubmissionView, tz: str) -> str:
    """ "Approved by Carla on 2026-11-21 10:00 — reason" in one line."""
    at = when(sub.decided_at, tz, t) if sub.decided_at else ""
    if sub.status is Status.WITHDRAWN:
        return t("card.decision.withdrawn", at=when(sub.created_at, tz, t))
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
    if sub.title:
        blocks.append(Context(t("dm.outcome.title", title=sub.title)))
    if sub.caption:
        blocks.append(Context(t("dm.outcome.caption", caption=sub.caption)))
    if sub.decision_reason:
        blocks.append(Paragraph(t("card.decision.reason", reason=sub.decision_reason)))
    if sub.status is Status.APPROVED and sub.internal_only:
        blocks.append(Context(t("card.internal_only")))
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


def badge_names(t: Translator, badges: Sequence[BadgeCode]) -> str:
    """Badges as a person reads them, in the order given."""
    return ", ".join(t(f"badge.{code.value}") for code in badges)


def badge_dm(t: Translator, code: BadgeCode, *, public: bool) -> Message:
    """The person's notice of a new badge, with a friendly line; when their badges are
    not announced in the channel, how to ask for it."""
    title = t("badge.dm.title", badge=t(f"badge.{code.value}"))
    blocks: list[Block] = [Heading(title), Paragraph(t(f"badge.dm.{code.value}"))]
    if not public:
        blocks.append(Context(t("badge.dm.share_hint")))
    return Message(text=title, blocks=tuple(blocks))


def badge_post(t: Translator, member: MemberView, code: BadgeCode) -> Message:
    """The channel's short note of a member's new badge (only with their agreement): the
    name is a mention the adapter draws, never text put into markup."""
    badge = t(f"badge.{code.value}")
    return Message(
        text=t("badge.post_text", name=member.display_name, badge=badge),
        blocks=(
            Mentions(t("badge.post", badge=badge), ((member.external_id, member.display_name),)),
        ),
    )


def thanks_dm(t: Translator, sub: SubmissionView, by: str, note: str) -> Message:
    """The author's thank-you from a CM, with the CM's own words (plain text)."""
    text = t("thanks.dm", by=by, id=sub.id)
    blocks: list[Block] = [Paragraph(text)]
    if sub.caption:
        blocks.append(Context(t("dm.outcome.caption", caption=_short(sub.caption))))
    if note:
        blocks.append(Paragraph(t("thanks.dm_note", note=note)))
    return Message(text=text, blocks=tuple(blocks))


def thank_form(t: Translator, sub: SubmissionView) -> Form:
    """The CM's thank-you: a line ready to send, theirs to change."""
    note = TextInput(
        "note",
        t("field.thanks_note"),
        initial=t("thanks.default_note"),
        multiline=True,
        required=False,
        max_length=THANKS_NOTE_MAX,
    )
    return Form(
        action="review.thank",
        title=t("form.review.thank.title", id=sub.id),
        submit_label=t("button.send"),
        value=str(sub.id),
        inputs=(note,),
    )


def approver_dm(t: Translator, sub: SubmissionView, tz: str) -> Message:
    """What an approver receives for an escalated submission (the card, addressed to them)."""
    card = review_card(t, sub, tz)
    intro = Paragraph(t("dm.escalated_to_you", id=sub.id, by=sub.decided_by_name or "?"))
    return Message(text=card.text, blocks=(intro, *card.blocks))


def charter_form(
    t: Translator,
    charter: Charter,
    sites: Sequence[tuple[int, str]] = (),
    site_id: int | None = None,
    then: str = "",
) -> Form:
    """The charter with Accept, and the member's site picked from the workspace's list
    (pre-selected when they have one; no site field while the CM has added none)."""
    return Form(
        action="charter.accept",
        title=t("form.join.title"),
        submit_label=t("button.accept"),
        intro=t("form.join.intro", version=charter.version) + "\n\n" + charter.text,
        value=f"{charter.version}:{then}",
        inputs=(site_select(t, sites, site_id),) if sites else (),
    )


def charter_message(
    t: Translator, charter: Charter, acceptances: Sequence[tuple[str, int | None]] | None
) -> Message:
    """``/relais charter``: the current text; for a CM, who accepted which version."""
    title = t("charter.title", version=charter.version)
    blocks: list[Block] = [Heading(title), Paragraph(charter.text)]
    if acceptances is not None:
        current = sum(1 for _, v in acceptances if v == charter.version)
        blocks.append(Heading(t("charter.accepted_count", count=current, total=len(acceptances))))
        rows = tuple(
            (name, t("charter.accepted_version", version=v) if v else t("charter.not_accepted"))
            for name, v in acceptances[:ACCEPTANCES_SHOWN]
        )
        if rows:
            blocks.append(Fields(rows))
        if len(acceptances) > ACCEPTANCES_SHOWN:
            more = len(acceptances) - ACCEPTANCES_SHOWN
            blocks.append(Context(t("charter.more", count=more)))
        blocks.append(Context(t("charter.publish_hint")))
    return Message(text=title, blocks=tuple(blocks))


#: Ambassadors a charter overview names (the rest are counted).
ACCEPTANCES_SHOWN = 50


def changes_text(t: Translator, changes: Sequence[str], shown: int = 20) -> str:
    """Added and removed lines, ``+``/``−`` first, the rest counted."""
    lines = [("+ " if c.startswith("+") else "− ") + c[2:] for c in changes[:shown]]
    if len(changes) > shown:
        lines.append(t("charter.more_changes", count=len(changes) - shown))
    return "\n".join(lines) or t("charter.no_change")


def charter_publish_form(
    t: Translator, text: str, *, changes: Sequence[str] | None = None, seen: str = ""
) -> Form:
    """The charter to edit (``charter publish``); with ``changes``, the same form showing
    what changed and asking to confirm (``seen``: the fingerprint of the text shown)."""
    intro = t("charter.publish.intro", max=CHARTER_MAX)
    inputs: tuple[FormInput, ...] = (
        TextInput(
            "text",
            t("charter.publish.field"),
            initial=text,
            multiline=True,
            required=True,
            max_length=CHARTER_MAX,
        ),
    )
    if changes is not None:
        intro = t("charter.publish.changes") + "\n" + changes_text(t, changes)
        inputs = (*inputs, Checkbox("confirm", t("charter.publish.confirm")))
    return Form(
        action="charter.publish",
        title=t("charter.publish.title"),
        submit_label=t("button.publish") if changes is not None else t("button.preview"),
        intro=intro,
        value=seen,
        inputs=inputs,
    )


def charter_changed_dm(t: Translator, version: int, changes: Sequence[str], by: str) -> Message:
    """To each ambassador: the charter changed, what changed, and a button to read and
    accept it (the join form, with the whole text)."""
    title = t("charter.changed", version=version, by=by)
    button = Button(t("button.read_accept"), "relais.command", "join", ButtonStyle.PRIMARY)
    return Message(
        text=title,
        blocks=(
            Paragraph(title),
            Paragraph(changes_text(t, changes)),
            Context(t("charter.changed_hint")),
            Actions((button,)),
        ),
    )


def campaign_form(
    t: Translator,
    sites: Sequence[tuple[int, str]],
    today: date,
    values: dict[str, str] | None = None,
) -> Form:
    """``campaign new``: title, brief, dates (the platform's date pickers), the sites it
    is for (several can be chosen; none means every site) and an optional hashtag."""
    v = values or {}
    inputs: list[FormInput] = [
        TextInput("title", t("campaign.field.title"), initial=v.get("title", ""), max_length=200),
        TextInput(
            "brief",
            t("campaign.field.brief"),
            initial=v.get("brief", ""),
            multiline=True,
            required=False,
            max_length=CAPTION_MAX,
            placeholder=t("campaign.field.brief_hint"),
        ),
        DateInput(
            "starts_on",
            t("campaign.field.starts_on"),
            initial=v.get("starts_on", today.isoformat()),
            required=True,
        ),
        DateInput(
            "ends_on", t("campaign.field.ends_on"), initial=v.get("ends_on", ""), required=True
        ),
    ]
    if sites:
        options = tuple(Option(str(i), n) for i, n in sites)
        inputs.append(
            Select(
                "sites",
                t("campaign.field.sites"),
                options,
                initial=v.get("sites", ""),
                typeahead=True,
                multiple=True,
                placeholder=t("campaign.field.sites_hint"),
            )
        )
    inputs.append(
        TextInput(
            "hashtag",
            t("campaign.field.hashtag"),
            initial=v.get("hashtag", ""),
            required=False,
            max_length=60,
            placeholder=t("campaign.field.hashtag_hint"),
        )
    )
    return Form(
        action="campaign.new",
        title=t("campaign.form_title"),
        submit_label=t("button.create"),
        intro=t("campaign.form_intro"),
        inputs=tuple(inputs),
    )


def _campaign_when(t: Translator, c: CampaignView) -> str:
    where = ", ".join(c.site_names) or t("campaign.all_sites")
    tag = f" · #{c.hashtag}" if c.hashtag else ""
    state = t("campaign.closed") if c.closed else ""
    dates = t("campaign.dates", start=day(c.starts_on, t), end=day(c.ends_on, t))
    return " · ".join(p for p in (dates, where, state) if p) + tag


def campaign_list(t: Translator, campaigns: Sequence[CampaignView]) -> Message:
    """``campaign list``: each campaign, its dates and site, the latest first."""
    if not campaigns:
        return notice(t("campaign.none"))
    rows = tuple((c.title, _campaign_when(t, c)) for c in campaigns[:50])
    title = t("campaign.list_title", count=len(campaigns))
    return Message(text=title, blocks=(Heading(title), Fields(rows), Context(t("campaign.usage"))))


def campaign_show(t: Translator, c: CampaignView) -> Message:
    """``campaign show``: the brief, and the approved content with its contributors."""
    blocks: list[Block] = [Heading(c.title), Context(_campaign_when(t, c))]
    if c.brief:
        blocks.append(Paragraph(c.brief))
    blocks.append(Paragraph(campaign_counts(t, c)))
    if c.contributors:
        rows = tuple((name, t("campaign.approved_by", count=n)) for name, n in c.contributors[:50])
        blocks.append(Fields(rows))
    return Message(text=c.title, blocks=tuple(blocks))


def campaign_counts(t: Translator, c: CampaignView) -> str:
    """ "23 photos from 9 sites" (submissions approved, the sites they came from)."""
    return t(
        "campaign.counts",
        approved=t("campaign.approved", count=c.approved),
        sites=t("campaign.sites", count=c.sites),
    )


def campaign_result(t: Translator, c: CampaignView) -> Message:
    """Posted when a campaign closes: its result and thanks to its contributors."""
    if c.approved:
        names = ", ".join(name for name, _ in c.contributors[:10])
        text = t("campaign.result", title=c.title, counts=campaign_counts(t, c), names=names)
    else:
        text = t("campaign.result_empty", title=c.title)
    return Message(text=text, blocks=(Paragraph(text), Context(t("digest.footer"))))


def site_select(t: Translator, sites: Sequence[tuple[int, str]], site_id: int | None) -> Select:
    """The list of sites a form offers (never free text)."""
    return Select(
        "site",
        t("field.site"),
        tuple(Option(str(i), n) for i, n in sites),
        initial=str(site_id) if site_id else None,
        typeahead=True,
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
    appears: Appears | None = None,
    people: Sequence[str] = (),
    outside_agreement: bool = False,
    title: str = "",
    link: str = "",
) -> Form:
    """The one submission form, for photos or field news: photos (none for a news item),
    a title (required for news, optional with photos), the caption or the news text, a
    link, site, campaign, who appears in the photos (nobody, colleagues picked below,
    people outside the company with the box declaring their written agreement: asked
    whenever photos are sent, ignored for news) and sensitivity. The service says which
    field is missing: no input is required by the platform, since what is needed
    depends on whether photos were sent."""
    inputs: list[FormInput] = [
        FileInput("photos", t("field.photos"), max_files=10, required=False),
        TextInput(
            "title",
            t("field.title"),
            initial=title[:NEWS_TITLE_MAX],
            required=False,
            max_length=NEWS_TITLE_MAX,
            placeholder=t("form.submit.title_hint"),
        ),
        TextInput(
            "caption",
            t("field.caption_or_text"),
            initial=caption[:CAPTION_MAX],
            multiline=True,
            required=False,
            max_length=CAPTION_MAX,
            placeholder=t("form.submit.caption_hint"),
        ),
        TextInput(
            "link",
            t("field.link"),
            initial=link[:LINK_MAX],
            required=False,
            max_length=LINK_MAX,
            placeholder="https://",
        ),
    ]
    if sites:
        inputs.append(site_select(t, sites, site_id))
    if campaigns:
        inputs.append(
            Select("campaign", t("field.campaign"), tuple(Option(str(i), n) for i, n in campaigns))
        )
    inputs.append(
        Select(
            "appears",
            t("field.appears_question"),
            tuple(Option(a.value, t(f"appears.{a.value}")) for a in Appears),
            initial=appears.value if appears else None,
            # Required with photos only (the service and Slack's modal check it).
            required=False,
        )
    )
    inputs.append(PeopleInput("people", t("field.people"), initial=tuple(people)))
    inputs.append(Checkbox("outside_agreement", t("field.outside_agreement"), outside_agreement))
    inputs.append(Checkbox("sensitive", t("field.sensitive_question"), sensitive))
    return Form(
        action=action,
        title=t("form.submit.title"),
        submit_label=t("button.send"),
        inputs=tuple(inputs),
        value=value,
        intro=t("form.submit.intro"),
    )


def reason_form(t: Translator, action: str, submission_id: int, value: str) -> Form:
    """Asks a reviewer why (reject), what to change (request changes), or for an optional
    note to the approvers (escalate)."""
    label = {"review.reject": "field.reason", "review.escalate": "field.note"}.get(
        action, "field.changes"
    )
    text = TextInput(
        "reason",
        t(label),
        multiline=True,
        max_length=REASON_MAX,
        required=action != "review.escalate",
    )
    return Form(
        action=action,
        title=t(f"form.{action}.title", id=submission_id),
        submit_label=t("button.confirm"),
        value=value,
        inputs=(text,),
    )


def help_message(t: Translator, roles: frozenset[Role]) -> Message:
    """What the member can do, by role."""
    lines = [
        t("help.intro"),
        t("help.submit"),
        t("help.join"),
        t("help.me"),
        t("help.snooze"),
        t("help.prefs"),
        t("help.mydata"),
        t("help.forget"),
        t("help.consent"),
        t("help.leaderboard"),
        t("help.leave"),
        t("help.help"),
    ]
    if roles & {Role.AMBASSADOR, Role.CM, Role.ADMIN}:
        lines.append(t("help.stats"))
    if Role.REFERENT in roles:
        lines.append(t("help.referent"))
    if Role.CM in roles or Role.ADMIN in roles:
        lines.append(t("help.export"))
        lines.append(t("help.library"))
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
                (t("field.badges"), badge_names(t, p.badges) or t("common.none")),
                (t("field.charter"), charter),
            )
        ),
    ]
    if p.snoozed_until:
        blocks.append(Context(t("me.snoozed", until=when(p.snoozed_until, tz, t))))
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
                at=when(s.created_at, tz, t),
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
        if member.leaderboard_hidden:
            shown = Button(
                t("button.leaderboard_show"), "relais.command", "config me leaderboard on"
            )
        else:
            shown = Button(
                t("button.leaderboard_hide"), "relais.command", "config me leaderboard off"
            )
        buttons.append(shown)
        buttons.append(Button(t("button.leave"), "relais.command", "leave", ButtonStyle.DANGER))
    blocks: list[Block] = [Context(note)] if note else []
    blocks += [*profile.blocks, Context(t("home.hint")), Actions(tuple(buttons))]
    return Message(text=profile.text, blocks=tuple(blocks))


def digest_message(t: Translator, d: Digest, tz: str) -> Message:
    """The weekly digest, readable on a phone: highlights, thanks, sites, welcome, campaign."""
    start, end = day(d.start, t, tz), day(d.end, t, tz)
    if d.site is not None:  # a site's local digest
        title = t("digest.site_title", site=d.site, start=start, end=end)
    else:
        title = t("digest.title", start=start, end=end)
    blocks: list[Block] = [Heading(title)]
    if d.empty:
        blocks.append(Paragraph(t("digest.empty")))
    else:
        blocks.append(Paragraph(t("digest.approved", count=d.approved)))
        for sub in d.highlights:
            if sub.media_keys:
                blocks.append(media_block(t, sub, 0))
            if sub.author.forgotten:
                line = author_name(t, sub)
            else:
                where = f" · {sub.site_name}" if sub.site_name else ""
                line = f"{sub.author.display_name}{where}"
            if sub.is_news:
                line += " — " + t("digest.news", title=sub.title or "")
            if sub.caption:
                line += f" — {_short(sub.caption, 120)}"
            if sub.internal_only:
                line += f" ({t('digest.internal_only')})"
            blocks.append(Context(line))
            if sub.link:
                blocks.append(
                    Actions((link(t("button.open_link"), sub.link, ButtonStyle.DEFAULT),))
                )
        if d.approved > len(d.highlights):
            blocks.append(Context(t("digest.more", count=d.approved - len(d.highlights))))
        # Nobody forgotten is thanked by name (or mentioned: their platform id is gone).
        people = tuple(
            (m.external_id, m.display_name) for m, _ in d.contributors if not m.forgotten
        )
        if people:
            blocks.append(Mentions(t("digest.thanks"), people))
        if d.sites:
            pairs = tuple((name or t("common.none"), str(n)) for name, n in d.sites)
            blocks += [Heading(t("digest.by_site")), Fields(pairs)]
        for milestone in d.milestones:
            blocks.append(Paragraph(t("digest.milestone", count=milestone)))
    welcome = tuple((m.external_id, m.display_name) for m in d.newcomers if not m.forgotten)
    if welcome:
        blocks.append(Mentions(t("digest.welcome"), welcome))
    if d.campaign:
        ends = day(d.campaign.ends_on, t)
        blocks.append(Paragraph(t("digest.campaign", title=d.campaign.title, ends=ends)))
        if d.campaign.brief:
            blocks.append(Context(_short(d.campaign.brief, 300)))
    blocks.append(Context(t("digest.footer")))
    return Message(text=title, blocks=tuple(blocks))


def notice(text: str) -> Message:
    """A one-line message."""
    return Message(text=text, blocks=(Paragraph(text),))


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def explained(title: str, lines: Sequence[str]) -> Message:
    """A title and the lines that explain it (refused photos, photos not received)."""
    return Message(text=title, blocks=(Paragraph(title), Paragraph("\n".join(lines))))


def joined(first: Message, second: Message, *, text: str | None = None) -> Message:
    """Two messages as one (a preview's heading over the digest, help and Teams' words)."""
    return Message(text=text or first.text, blocks=(*first.blocks, *second.blocks))


def form_message(form: Form, above: Message | None = None, *, note: str = "") -> Message:
    """A form sent as a message (a Teams card with inputs), with what goes above it."""
    blocks: tuple[Block, ...] = above.blocks if above else ()
    if note:
        blocks = (*blocks, Context(note))
    return Message(text=form.title, blocks=blocks, form=form)


def site_list(t: Translator, lines: Sequence[SiteLine]) -> Message:
    """``/relais site list``: each site, its members and its referents."""
    if not lines:
        return notice(t("site.none"))
    rows = []
    for line in lines:
        members = t("site.members", count=line.members)
        referents = ", ".join(line.referents) or t("site.no_referent")
        shown = f"{members} · {referents}"
        if line.digest_channel:
            shown += " · " + t("site.digest_in", channel=line.digest_channel)
        rows.append((line.name, shown))
    return Message(
        text=t("site.list_title", count=len(lines)),
        blocks=(
            Heading(t("site.list_title", count=len(lines))),
            Fields(tuple(rows)),
            Context(t("site.usage")),
        ),
    )


def role_list(t: Translator, staff: Sequence[tuple[MemberView, Sequence[str]]]) -> Message:
    """``/relais role list``: who holds which role (referents with their sites)."""
    if not staff:
        return notice(t("role.none"))
    rows = []
    for person, sites in staff:
        held = [t(f"role.{r.value}") for r in sorted(person.roles) if r not in _PLAIN_ROLES]
        text = ", ".join(held)
        if sites:
            text += " · " + ", ".join(sites)
        rows.append((person.display_name, text))
    return Message(
        text=t("role.list_title"),
        blocks=(Heading(t("role.list_title")), Fields(tuple(rows)), Context(t("role.usage"))),
    )


# Roles a role list does not show (everyone who joined holds the first).
_PLAIN_ROLES = frozenset((Role.AMBASSADOR,))


def role_changed_dm(t: Translator, role: Role, *, granted: bool, site: str, by: str) -> Message:
    """The DM a person gets when a role is given or taken: what they can now do."""
    where = t("role.of_site", site=site) if site else ""
    title_key = "role.dm.granted" if granted else "role.dm.revoked"
    title = t(title_key, role=t(f"role.{role.value}"), where=where, by=by)
    lines = [title]
    if granted:
        lines.append(t(f"role.dm.can.{role.value}"))
    return Message(text=title, blocks=(Paragraph("\n".join(lines)),))


def config_message(
    t: Translator,
    shown: Sequence[tuple[str, str]],
    site_digests: Sequence[tuple[str, str]] = (),
) -> Message:
    """``/relais config``: the workspace's settings and how to change one (on and off
    said in the reader's language; the keys are the words typed to change them), then
    each site's local digest channel ((site name, channel))."""
    fields = tuple((key, config_value(t, value)) for key, value in shown)
    local = tuple(
        (t("config.site_digest_key", site=site), channel) for site, channel in site_digests
    )
    return Message(
        text=t("config.title"),
        blocks=(
            Heading(t("config.title")),
            Fields(fields + local),
            Context(t("config.usage")),
            Context(t("config.site_digest_usage")),
        ),
    )


def preferences_message(t: Translator, member: MemberView) -> Message:
    """``/relais config me``: the member's own preferences and how to change them."""
    fields = (
        (t("me.prefs.leaderboard"), t("config.off" if member.leaderboard_hidden else "config.on")),
        (t("me.prefs.share_badges"), t("config.on" if member.badges_public else "config.off")),
    )
    return Message(
        text=t("me.prefs.title"),
        blocks=(Heading(t("me.prefs.title")), Fields(fields), Context(t("me.prefs_usage"))),
    )


def config_value(t: Translator, value: str) -> str:
    """A stored setting as a person reads it: ``on``/``off`` translated, the rest as is."""
    return t(f"config.{value}") if value in ("on", "off") else value


def dropped_prompt(
    t: Translator, count: int, action: str, value: str, ignored: Sequence[str]
) -> Message:
    """Photos dropped in the bot's DM: "Submit this?" with one button (and what was not
    a photo)."""
    text = t("slack.dropped.prompt", count=count)
    blocks: list[Block] = [Paragraph(text)]
    if ignored:
        blocks.append(
            Context(t("photos.ignored", names=", ".join(ignored), accepted=ACCEPTED_LABEL))
        )
    blocks.append(Actions((Button(t("slack.dropped.button"), action, value, ButtonStyle.PRIMARY),)))
    return Message(text=text, blocks=tuple(blocks))


def photos_ignored(t: Translator, names: Sequence[str]) -> str:
    """The line listing attachments that are not photos, with what is accepted."""
    return t("photos.ignored", names=", ".join(names), accepted=ACCEPTED_LABEL)


#: Review buttons on a reminder (the oldest first).
SLA_BUTTONS = 5


def sla_reminder(
    t: Translator,
    waiting: Sequence[tuple[int, str, datetime]],
    total: int,
    hours: int,
    tz: str,
) -> Message:
    """A CM's daily reminder of reviews waiting too long: (id, author, sent at), oldest
    first, with a Review button for the first few."""
    lines = [
        t("nudge.sla_line", id=sid, author=author, at=when(at, tz, t))
        for sid, author, at in waiting
    ]
    buttons = tuple(
        Button(f"{t('button.review')} #{sid}", "review.show", str(sid), ButtonStyle.PRIMARY)
        for sid, _, _ in waiting[:SLA_BUTTONS]
    )
    text = t("nudge.sla", count=total, hours=hours)
    return Message(
        text=text, blocks=(Paragraph(text), Paragraph("\n".join(lines)), Actions(buttons))
    )


def channel_note(t: Translator, text: str) -> Message:
    """A short post in the digest channel (a campaign starts), with the usual footer."""
    return Message(text=text, blocks=(Paragraph(text), Context(t("digest.footer"))))


def nudge(t: Translator, text: str) -> Message:
    """A nudge: the text, how to snooze, and a button that does it."""
    button = Button(t("button.snooze"), "relais.command", "snooze 2w")
    return Message(
        text=text, blocks=(Paragraph(text), Context(t("nudge.snooze_hint")), Actions((button,)))
    )


# -- the CM's numbers ------------------------------------------------------------------------


def _hours(t: Translator, value: float | None) -> str:
    if value is None:
        return t("stats.no_data")
    return t("stats.hours", hours=format_decimal(value, "#,##0.0", locale=t.locale))


def _durations(t: Translator, d: Durations) -> str:
    if not d.count:
        return t("stats.no_data")
    return t(
        "stats.median_p90",
        median=_hours(t, d.median_hours),
        p90=_hours(t, d.p90_hours),
        count=d.count,
    )


def stats_message(t: Translator, s: Stats, site: str = "") -> Message:
    """``/relais stats``: the figures (the chart follows by direct message); ``site``: the
    site's name, for a referent's view."""
    title = (
        t("stats.title_own")
        if s.view is StatsView.OWN
        else t("stats.title_site", site=site)
        if s.view is StatsView.SITE
        else t("stats.title")
    )
    blocks: list[Block] = [
        Heading(title),
        Context(
            t(
                "stats.window",
                weeks=len(s.weeks),
                start=day(s.weeks[0].start, t),
                end=day(s.at, t, s.timezone),
                tz=s.timezone,
            )
        ),
    ]
    if s.view is not StatsView.OWN:
        blocks.append(
            Fields(
                (
                    (t("stats.ambassadors"), str(s.ambassadors)),
                    (t("stats.active"), str(s.active_30_days)),
                    (t("stats.joined"), str(s.joined_this_month)),
                )
            )
        )
    weeks = "\n".join(
        t(
            "stats.week_line",
            week=format_date(w.start, "d MMM", locale=t.locale),
            submitted=w.submitted,
            approved=w.approved,
        )
        for w in s.weeks
    )
    blocks += [Heading(t("stats.per_week")), Paragraph(weeks)]
    rate = s.approval_rate
    rate_text = (
        t(
            "stats.rate_value",
            rate=format_percent(rate, locale=t.locale),
            approved=s.approved,
            count=s.approved + s.rejected,
        )
        if rate is not None
        else t("stats.no_data")
    )
    escalations = (
        t("stats.escalations_value", count=s.escalated, pending=s.escalations_pending)
        if s.escalated
        else t("stats.no_escalation")
    )
    pairs = [
        (t("stats.approval_rate"), rate_text),
        (t("stats.decision_time"), _durations(t, s.decision)),
        (t("stats.escalations"), escalations),
    ]
    if s.escalated:
        pairs.append((t("stats.escalation_time"), _durations(t, s.escalation_decision)))
    blocks.append(Fields(tuple(pairs)))
    if s.sites:
        blocks.append(Heading(t("stats.sites")))
        blocks.append(
            Fields(
                tuple(
                    (
                        site.name,
                        t(
                            "stats.site_value",
                            ambassadors=site.ambassadors,
                            month=site.submitted_month,
                            people=site.contributors_month,
                            window=site.submitted_window,
                        ),
                    )
                    for site in s.sites
                )
            )
        )
        if s.silent_sites:
            month = format_day_month(s.month, t)
            blocks.append(Context(t("stats.silent", month=month, sites=", ".join(s.silent_sites))))
    if s.campaigns:
        blocks.append(Heading(t("stats.campaigns")))
        blocks.append(
            Paragraph(
                "\n".join(
                    t(
                        "stats.campaign_line",
                        title=c.title,
                        start=day(c.starts_on, t),
                        end=day(c.ends_on, t),
                        submitted=c.submitted,
                        approved=c.approved,
                        people=c.contributors,
                    )
                    for c in s.campaigns
                )
            )
        )
    return Message(text=title, blocks=tuple(blocks))


def _leader_line(t: Translator, line: LeaderLine, *, you: bool) -> str:
    key = "leaderboard.line_you" if you else "leaderboard.line"
    return t(key, rank=line.rank, name=line.name, count=line.points)


def leaderboard_message(t: Translator, b: Leaderboard) -> Message:
    """``/relais leaderboard``: the people named (never one who hid their name), the
    others counted, the reader's own line; a site with too few names, totals only."""
    when_ = (
        format_day_month(b.month, t)
        if b.period is LeaderboardPeriod.MONTH and b.month
        else t("leaderboard.all_time")
    )
    title = (
        t("leaderboard.title_site", site=b.site_name, period=when_)
        if b.site_name
        else t("leaderboard.title", period=when_)
    )
    blocks: list[Block] = [Heading(title)]
    if not b.contributors:
        blocks.append(Paragraph(t("leaderboard.empty")))
    elif b.counts_only:
        blocks.append(
            Paragraph(
                t("leaderboard.totals", count=b.contributors, points=b.points, photos=b.photos)
            )
        )
        blocks.append(Context(t("leaderboard.counts_only", min=LEADERBOARD_MIN_NAMED)))
    else:
        text = "\n".join(
            _leader_line(t, line, you=line.member_id == b.reader_id) for line in b.lines
        )
        if text:
            blocks.append(Paragraph(text))
        if b.others:
            blocks.append(Context(t("leaderboard.others", count=b.others, points=b.others_points)))
    if b.own is not None:
        if b.counts_only:
            own = t("leaderboard.own_points", count=b.own.points)
        else:
            own = _leader_line(t, b.own, you=True)
        if b.own.hidden:
            own += " " + t("leaderboard.only_you")
        blocks.append(Context(own))
    blocks.append(Context(t("leaderboard.usage")))
    return Message(text=title, blocks=tuple(blocks))


def format_day_month(month: date, t: Translator) -> str:
    """``November 2026``, ``novembre 2026``."""
    return format_date(month, "LLLL y", locale=t.locale)


def stats_chart_message(t: Translator, s: Stats, media_key: str) -> Message:
    """The 12-week chart, sent by direct message after ``/relais stats``."""
    title = t("stats.chart.title")
    caption = t("stats.chart.caption", weeks=len(s.weeks), tz=s.timezone)
    return Message(text=title, blocks=(Image(media_key, title), Context(caption)))


def forget_prompt(t: Translator, member: MemberView, *, keep_approved: bool) -> Message:
    """``/relais forget``: what will be deleted, and one button to confirm."""
    approved = t("forget.approved_kept" if keep_approved else "forget.approved_deleted")
    button = Button(t("button.forget"), "forget.confirm", str(member.id), ButtonStyle.DANGER)
    return Message(
        text=t("forget.title"),
        blocks=(
            Heading(t("forget.title")),
            Paragraph(t("forget.what")),
            Paragraph(approved),
            Context(t("forget.mydata_first")),
            Actions((button,)),
        ),
    )


def library_message(t: Translator, url: str, hours: int, *, public: bool) -> Message:
    """``/relais library``: the link to the content library, and how long it works."""
    blocks: list[Block] = [
        Heading(t("library.title")),
        Paragraph(t("library.intro")),
        Actions((link(t("library.open"), url),)),
        Context(t("library.expires", count=hours)),
    ]
    if not public:
        blocks.append(Context(t("library.not_public")))
    return Message(text=t("library.title"), blocks=tuple(blocks))


def mydata_message(t: Translator, media_key: str, filename: str, photos: int) -> Message:
    """``/relais mydata``: the JSON file of everything stored about the person."""
    title = t("mydata.title")
    note = t("mydata.photos_follow", count=photos) if photos else t("mydata.no_photos")
    return Message(
        text=f"{title} {note}",
        blocks=(File(media_key, filename, title), Context(note), Context(t("mydata.forget"))),
    )


def export_message(t: Translator, media_key: str, filename: str, title: str) -> Message:
    """One CSV file of ``/relais export``, by direct message."""
    return Message(text=title, blocks=(File(media_key, filename, title),))


def consent_request(t: Translator, sub: SubmissionView, consent_id: int) -> Message:
    """The message to a colleague named in a photo: the photo, who sent it, the caption,
    and Agree / Decline (only they can press them: ``Target.CONSENT``)."""
    author = author_name(t, sub)
    text = t("consent.request", author=author, id=sub.id)
    blocks: list[Block] = [Paragraph(text)]
    blocks += [media_block(t, sub, i) for i in range(len(sub.media_keys))]
    if sub.caption:
        blocks.append(Context(t("dm.outcome.caption", caption=sub.caption)))
    blocks.append(Context(t("consent.request_hint")))
    value = str(consent_id)
    blocks.append(
        Actions(
            (
                Button(t("button.consent_agree"), "consent.agree", value, ButtonStyle.PRIMARY),
                Button(t("button.consent_decline"), "consent.decline", value, ButtonStyle.DANGER),
            )
        )
    )
    return Message(text=text, blocks=tuple(blocks))


def consent_reminder(t: Translator, sub: SubmissionView, consent_id: int) -> Message:
    """The one reminder of an unanswered consent request: the request again, politely."""
    request = consent_request(t, sub, consent_id)
    line = t("consent.reminder", author=author_name(t, sub))
    return Message(text=line, blocks=(Paragraph(line), *request.blocks[1:]))


def consent_list(t: Translator, entries: Sequence[ConsentEntry]) -> Message:
    """``/relais consent``: the photos the person appears in (their answer, Withdraw),
    then their own photos cleared for use outside the company (Withdraw)."""
    if not entries:
        text = t("consent.list_empty")
        return Message(text=text, blocks=(Paragraph(text),))
    blocks: list[Block] = [Heading(t("consent.list_title"))]
    for entry in entries:
        sub = entry.submission
        caption = _short(sub.caption, 80) if sub.caption else t("consent.no_caption")
        if entry.consent_id is None:
            line = t("consent.list_own", id=sub.id, caption=caption)
            button = Button(
                t("button.consent_withdraw"),
                "consent.withdraw_own",
                str(sub.id),
                ButtonStyle.DANGER,
            )
        else:
            assert entry.state is not None
            line = t(
                "consent.list_line",
                id=sub.id,
                author=author_name(t, sub),
                caption=caption,
                state=t(f"consent.state.{entry.state.value}"),
            )
            button = Button(
                t("button.consent_withdraw"),
                "consent.withdraw",
                str(entry.consent_id),
                ButtonStyle.DANGER,
            )
        if sub.media_keys:
            blocks.append(media_block(t, sub, 0))
        blocks.append(Paragraph(line))
        if entry.state is not ConsentState.WITHDRAWN and not (
            entry.consent_id is None and sub.consent_withdrawn
        ):
            blocks.append(Actions((button,)))
    return Message(text=t("consent.list_title"), blocks=tuple(blocks))
