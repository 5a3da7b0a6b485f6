"""Running the programme from chat: sites (CM), roles (admin for cm/approver, CM for
site referents), the charter (everyone reads it, a CM publishes a new version) and
campaigns (CM)."""

from __future__ import annotations

import hashlib
import re

from bot import cards
from bot.actions.common import flag, int_or_none
from bot.actions.dispatch import dispatch
from bot.actions.table import EVERYONE, ActionName, Permission, Request, action
from bot.errors import InvalidInput
from bot.services.onboarding import charter_changes
from bot.ui import Form, Reply
from domain import CHARTER_MAX, Role

CM_ONLY = Permission.of(Role.CM)
ADMIN_ONLY = Permission.of(Role.ADMIN)

# "Old name -> New name": the arrow separates two site names (which may hold spaces).
_ARROW = re.compile(r"\s*(?:->|→|=>)\s*")
_LIST = ("", "list", "liste")
_SITE_VERBS = {
    "add": "add",
    "ajouter": "add",
    "rename": "rename",
    "renommer": "rename",
    "merge": "merge",
    "fusionner": "merge",
}
_ROLE_VERBS = {"grant": "grant", "donner": "grant", "revoke": "revoke", "retirer": "revoke"}
_ROLE_WORDS = {
    "cm": Role.CM,
    "approver": Role.APPROVER,
    "approbateur": Role.APPROVER,
    "approbatrice": Role.APPROVER,
    "referent": Role.REFERENT,
    "référent": Role.REFERENT,
    "referente": Role.REFERENT,
    "référente": Role.REFERENT,
}


def _two_names(rest: str) -> tuple[str, str] | None:
    parts = _ARROW.split(rest, maxsplit=1)
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        return None
    return parts[0].strip(), parts[1].strip()


@action(ActionName.SITE, CM_ONLY, words=("site", "sites"))
async def site(request: Request) -> Reply:
    """``site list``, ``site add <name>``, ``site rename <old> -> <new>``,
    ``site merge <from> -> <into>``."""
    core, t = request.core, request.t
    word, _, rest = request.value.strip().partition(" ")
    verb = _SITE_VERBS.get(word.lower())
    if word.lower() in _LIST:
        lines = await core.sites.lines(request.member.workspace_id)
        return Reply(message=cards.site_list(t, lines))
    if verb == "add" and rest.strip():
        name = await core.sites.add(request.member, rest)
        return Reply(message=cards.notice(t("site.added", site=name)))
    if verb in ("rename", "merge"):
        names = _two_names(rest)
        if names is None:
            return Reply(message=cards.notice(t(f"site.usage_{verb}")), failed=True)
        if verb == "rename":
            before, after = await core.sites.rename(request.member, *names)
            return Reply(message=cards.notice(t("site.renamed", old=before, new=after)))
        gone, kept, members, submissions = await core.sites.merge(request.member, *names)
        text = t(
            "site.merged",
            old=gone,
            new=kept,
            members=t("site.members", count=members),
            submissions=t("site.submissions", count=submissions),
        )
        return Reply(message=cards.notice(text))
    return Reply(message=cards.notice(t("site.usage")), failed=bool(word))


# grant|revoke, the person (a mention may hold spaces: ``<@id|Ana Field>``), the role,
# then the site (the rest of the line).
_ROLE_LINE = re.compile(r"(\S+)\s+(<@[^>]*>|\S+)\s+(\S+)\s*(.*)$", re.DOTALL)


def _parse_role(value: str) -> tuple[str, str, Role, str] | None:
    """``grant|revoke <person> <role> [site]`` -> (verb, person, role, site)."""
    found = _ROLE_LINE.match(value.strip())
    if found is None:
        return None
    verb_word, person, role_word, site = found.groups()
    verb, role = _ROLE_VERBS.get(verb_word.lower()), _ROLE_WORDS.get(role_word.lower())
    if verb is None or role is None:
        return None
    return verb, person, role, site.strip()


async def _change_role(request: Request) -> Reply:
    t = request.t
    parsed = _parse_role(request.value)
    if parsed is None:
        return Reply(message=cards.notice(t("role.usage")), failed=True)
    verb, person, role, site_name = parsed
    roles = request.core.roles
    change = roles.grant if verb == "grant" else roles.revoke
    who, changed, site_shown = await change(request.member, person, role, site_name)
    key = (
        ("role.granted" if verb == "grant" else "role.revoked")
        if changed
        else f"role.{verb}_nothing"
    )
    role_name = t(f"role.{role.value}")
    where = t("role.of_site", site=site_shown) if site_shown else ""
    return Reply(message=cards.notice(t(key, who=who.display_name, role=role_name, where=where)))


@action(ActionName.ROLE, CM_ONLY, words=("role", "roles", "rôle", "rôles"), changes_member=True)
async def role(request: Request) -> Reply:
    """``role list``; ``role grant|revoke <person> referent <site>`` (CM); ``cm`` and
    ``approver`` go through ``role.staff`` (admins)."""
    t = request.t
    word = request.value.strip().partition(" ")[0].lower()
    if word in _LIST:
        staff = await request.core.roles.staff(request.member.workspace_id)
        return Reply(message=cards.role_list(t, staff))
    parsed = _parse_role(request.value)
    if parsed is None:
        found = _ROLE_LINE.match(request.value.strip())
        if word in _ROLE_VERBS and found and found.group(3).lower() not in _ROLE_WORDS:
            raise InvalidInput("role.unknown", field="role", role=found.group(3)[:30])
        return Reply(message=cards.notice(t("role.usage")), failed=bool(word))
    if parsed[2] is not Role.REFERENT:
        # Naming CMs and approvers is an admin's: that entry's permission decides.
        return await dispatch(request.core, request.member, ActionName.ROLE_STAFF, request.value)
    return await _change_role(request)


@action(ActionName.ROLE_STAFF, ADMIN_ONLY, changes_member=True)
async def role_staff(request: Request) -> Reply:
    """``role grant|revoke <person> cm|approver``."""
    return await _change_role(request)


# -- the charter ---------------------------------------------------------------------------


@action(ActionName.CHARTER, EVERYONE, words=("charter", "charte"))
async def charter(request: Request) -> Reply:
    """``charter``: the current text (and, for a CM, who accepted which version);
    ``charter publish``: the CM's form (its own entry decides who may)."""
    word = request.value.strip().lower()
    if word in ("publish", "publier"):
        return await dispatch(request.core, request.member, ActionName.CHARTER_PUBLISH, "")
    if word:
        return Reply(message=cards.notice(request.t("charter.usage")), failed=True)
    current, acceptances = await request.core.onboarding.charter_overview(request.member)
    return Reply(message=cards.charter_message(request.t, current, acceptances))


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _publish_form(request: Request) -> Form:
    """The current text to edit; refused when it is longer than a chat form holds."""
    current, _ = await request.core.onboarding.charter_overview(request.member)
    if len(current.text) > CHARTER_MAX:
        raise InvalidInput(
            "charter.current_too_long", field="text", length=len(current.text), max=CHARTER_MAX
        )
    return cards.charter_publish_form(request.t, current.text)


@action(ActionName.CHARTER_PUBLISH, CM_ONLY, form=_publish_form, changes_member=True)
async def charter_publish(request: Request) -> Reply:
    """The edited text: first shown with what changed and a box to tick, then published
    (only the text whose changes were shown: an edit after that is shown again)."""
    t, values = request.t, request.values or {}
    text = str(values.get("text") or "").strip()
    if not text:
        raise InvalidInput("error.charter_empty", field="text")
    if len(text) > CHARTER_MAX:
        raise InvalidInput("charter.too_long", field="text", length=len(text), max=CHARTER_MAX)
    current, _ = await request.core.onboarding.charter_overview(request.member)
    if text == current.text.strip():
        raise InvalidInput("charter.unchanged", field="text", version=current.version)
    changes = charter_changes(current.text, text)
    if not flag(values.get("confirm")) or request.value != _fingerprint(text):
        form = cards.charter_publish_form(t, text, changes=changes, seen=_fingerprint(text))
        return Reply(form=form)
    version = await request.core.onboarding.publish_charter(request.member, text)
    return Reply(message=cards.notice(t("charter.published", version=version)))


# -- campaigns ---------------------------------------------------------------------------


@action(ActionName.CAMPAIGN, CM_ONLY, words=("campaign", "campaigns", "campagne", "campagnes"))
async def campaign(request: Request) -> Reply:
    """``campaign list``, ``campaign new`` (its form), ``campaign show <name>``,
    ``campaign close <name>``."""
    core, t, member = request.core, request.t, request.member
    word, _, rest = request.value.strip().partition(" ")
    verb, name = word.lower(), rest.strip()
    if verb in _LIST:
        lines = await core.campaigns.lines(member.workspace_id)
        return Reply(message=cards.campaign_list(t, lines))
    if verb in ("new", "nouvelle", "create", "créer", "creer"):
        return await dispatch(core, member, ActionName.CAMPAIGN_NEW, "")
    if verb in ("show", "voir", "afficher") and name:
        shown = await core.campaigns.show(member.workspace_id, name)
        return Reply(message=cards.campaign_show(t, shown))
    if verb in ("close", "clore", "fermer", "clôturer", "cloturer") and name:
        closed, channel = await core.campaigns.close(member, name)
        key = "campaign.closed_posted" if channel else "campaign.closed_no_channel"
        text = t(key, title=closed.title, counts=cards.campaign_counts(t, closed), channel=channel)
        return Reply(message=cards.notice(text))
    return Reply(message=cards.notice(t("campaign.usage")), failed=bool(word))


async def _campaign_form(request: Request) -> Form:
    sites = await request.core.sites.names(request.member.workspace_id)
    today = await request.core.campaigns.today(request.member.workspace_id)
    return cards.campaign_form(request.t, sites, today)


def _site_ids(value: object) -> list[int]:
    """The sites of a multiple select: ids separated by commas ("" for none); anything
    that is not an id a database holds is refused on the field."""
    parts = value if isinstance(value, list | tuple) else str(value or "").split(",")
    ids = []
    for part in (str(p).strip() for p in parts):
        if not part:
            continue
        number = int_or_none(part)
        if number is None or number <= 0:
            raise InvalidInput("error.unknown_site", field="sites")
        ids.append(number)
    return ids


@action(ActionName.CAMPAIGN_NEW, CM_ONLY, form=_campaign_form)
async def campaign_new(request: Request) -> Reply:
    """The submitted form: the campaign is created; it is announced in the digest channel
    when it starts, and offered in the submission form of the ambassadors of its sites
    (of every site when none was chosen)."""
    v = {k: str(val or "") for k, val in (request.values or {}).items()}
    sites = _site_ids((request.values or {}).get("sites"))
    made = await request.core.campaigns.create(
        request.member,
        title=v.get("title", ""),
        brief=v.get("brief", ""),
        starts=v.get("starts_on", ""),
        ends=v.get("ends_on", ""),
        site_ids=sites,
        hashtag=v.get("hashtag", ""),
    )
    t = request.t
    text = t(
        "campaign.created",
        title=made.title,
        start=cards.day(made.starts_on, t),
        end=cards.day(made.ends_on, t),
        where=", ".join(made.site_names) or t("campaign.all_sites"),
    )
    return Reply(message=cards.notice(text))
