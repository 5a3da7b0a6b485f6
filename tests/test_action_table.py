"""The action table: every entry declares who may use it, and the check holds for each.

The walk below takes **every** entry of ``bot.actions.TABLE`` and tries it as people
who must be refused: a member lacking the role, a member of another workspace naming
this workspace's submission, another ambassador on someone's own submission, and a
reviewer on their own submission. An action added without a permission cannot be
declared (``Permission`` has no default); one declared open to everyone must be listed
in ``OPEN_TO_EVERYONE`` here, on purpose.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.actions import TABLE, ActionName, handle_action, handle_command
from bot.actions.table import Author, Target
from bot.core import Core
from bot.i18n import translator
from domain import Appears, ConsentState, MemberView, Platform, Role, Status, SubmissionView
from tests.support import ambassador, member, photo, site_named, stored, text_of

t = translator("en")
OTHER_WORKSPACE = "T-other"
OPEN_TO_EVERYONE = {
    ActionName.SUBMIT,
    ActionName.HELP,
    ActionName.JOIN,
    ActionName.LEAVE,
    ActionName.ME,
    ActionName.SNOOZE,
    # ``config me``: a member's own preferences (``config`` itself is the CMs').
    ActionName.CONFIG_ME,
    # ``mydata``: a person's own data, to anyone (the action takes no argument: it can
    # only ever be the caller's).
    ActionName.MYDATA,
    # ``forget``: the caller's own data; ``forget.confirm`` refuses a prompt that was not
    # the clicker's (tests/test_forget.py).
    ActionName.FORGET,
    ActionName.FORGET_CONFIRM,
    ActionName.CHARTER_ACCEPT,
    ActionName.RELAIS_COMMAND,
    # ``consent``: the caller's own consent requests and photos (it takes no argument).
    ActionName.CONSENT,
    # Everyone reads the charter; who accepted it is shown to CMs only (the service's
    # rule), and ``charter publish`` runs charter.publish (CMs).
    ActionName.CHARTER,
    # Everyone reads the leaderboard; who is named there is the service's privacy rule.
    ActionName.LEADERBOARD,
}
# What a refused form submission carries: whatever the action's form would ask.
SOME_VALUES: dict[str, Any] = {"reason": "because", "caption": "mine now", "site": ""}


async def submit(
    core: Core, who: MemberView, color: int = 1, people: tuple[str, ...] = ()
) -> SubmissionView:
    pic = await photo(core, (color * 40 % 256, 90, 150))
    appears = Appears.COLLEAGUES if people else Appears.NOBODY
    return await core.submissions.create(
        who, photos=[pic], caption=f"secret caption {color}", appears=appears, people=people
    )


async def outsider(core: Core, user: str) -> MemberView:
    """A member of another workspace, with every role there (RELAIS_CMS/APPROVERS + join)."""
    m = await core.onboarding.identify(Platform.CONSOLE, OTHER_WORKSPACE, user, display_name=user)
    charter = await core.onboarding.charter(m)
    oslo = await site_named(core, m.workspace_id, "Oslo")
    return await core.onboarding.join(m, charter_version=charter.version, site_id=oslo)


def value_for(name: ActionName, sub: SubmissionView) -> str:
    if TABLE[name].permission.target is Target.SUBMISSION:
        return f"{sub.id}:{sub.revision}"
    if TABLE[name].permission.target is Target.CONSENT:
        return str(sub.consents[0].id) if sub.consents else "1"
    return "1:" if name is ActionName.CHARTER_ACCEPT else ""


def assert_refused(reply: Any, *, leaked: str = "secret caption") -> None:
    assert reply.failed, reply
    assert reply.form is None, "a refused action must not open its form"
    assert reply.message is not None
    assert leaked not in text_of(reply.message)


def test_every_action_name_has_one_entry() -> None:
    assert set(TABLE) == set(ActionName)
    for entry in TABLE.values():
        assert entry.permission is not None
        if not entry.permission.roles and entry.permission.target is Target.NONE:
            assert entry.name in OPEN_TO_EVERYONE, f"{entry.name} is open to every member"


@pytest.mark.parametrize("name", list(ActionName), ids=str)
async def test_every_entry_refuses_who_it_must(core: Core, name: ActionName) -> None:
    entry = TABLE[name]
    permission = entry.permission
    ana = await ambassador(core, "amb", "Ana")
    olga = await ambassador(core, "olga", "Olga")
    newcomer = await member(core, "newbie", "Nina")
    # Pia appears in Ana's photo: the consent request is hers to answer.
    await member(core, "pia", "Pia")
    sub = await submit(core, ana, people=("pia",))
    value = value_for(name, sub)

    if permission.roles:
        # Someone without the roles: a newcomer when ambassadors may, else an ambassador.
        lacking = newcomer if Role.AMBASSADOR in permission.roles else olga
        assert not lacking.has(*permission.roles)
        for values in (None, SOME_VALUES):
            assert_refused(await handle_action(core, lacking, name, value, values))

    if permission.target is Target.SUBMISSION:
        # A member of another workspace holding every role there, naming our submission.
        stranger = await outsider(core, "cm1")
        assert stranger.has(Role.CM, Role.AMBASSADOR)
        for values in (None, SOME_VALUES):
            reply = await handle_action(core, stranger, name, value, values)
            assert_refused(reply)
            assert text_of(reply.message).count(t("error.submission_not_found", id=sub.id))

    if permission.target is Target.CONSENT:
        # Only Pia, named in the photo, answers: not its author, another ambassador, a
        # newcomer, a CM, nor anyone of another workspace.
        cm = await member(core, "cm1", "Carla")
        stranger = await outsider(core, "cm9")
        for who in (ana, olga, newcomer, cm, stranger):
            for values in (None, SOME_VALUES):
                reply = await handle_action(core, who, name, value, values)
                assert_refused(reply)
        reply = await handle_action(core, olga, name, value)
        assert t("error.not_named") in text_of(reply.message)
        reply = await handle_action(core, stranger, name, value)
        assert t("error.consent_not_found") in text_of(reply.message)
        after = await stored(core, sub.id)
        assert [c.state for c in after.consents] == [ConsentState.PENDING]
        assert not after.consent_withdrawn

    if permission.author is Author.OWN:
        # Another ambassador (a CM too: roles do not make someone the author).
        carla = await ambassador(core, "cm2", "Carla")
        for who in (olga, carla):
            for values in (None, SOME_VALUES):
                reply = await handle_action(core, who, name, value, values)
                assert_refused(reply)
                assert t("error.not_author") in text_of(reply.message)

    if permission.author is Author.OTHERS:
        # A reviewer on their own submission.
        carla = await ambassador(core, "cm2", "Carla")
        own = await submit(core, carla, color=2)
        for values in (None, SOME_VALUES):
            reply = await handle_action(core, carla, name, value_for(name, own), values)
            assert_refused(reply)
            assert "your own submission" in text_of(reply.message)

    if permission.site_referents:
        # A referent of the submission's own site while the workspace keeps review to the
        # reviewers, then (once allowed) a referent of another site.
        cm = await member(core, "cm1", "Carla")
        await ambassador(core, "rita", "Rita", site="Lyon")
        await ambassador(core, "nico", "Nico", site="Nantes")
        for line in ("role grant rita referent Lyon", "role grant nico referent Nantes"):
            assert not (await handle_command(core, cm, "/relais", line)).failed
        for who, setting in (("rita", "off"), ("nico", "on")):
            await handle_command(core, cm, "/relais", f"config referents_review {setting}")
            referent = await member(core, who)
            assert referent.referent_sites
            for values in (None, SOME_VALUES):
                assert_refused(await handle_action(core, referent, name, value, values))

    # Nothing moved.
    assert (await stored(core, sub.id)).status is Status.PENDING


async def test_resubmit_form_does_not_show_someone_elses_caption(core: Core) -> None:
    """The reported hole: a crafted value naming another person's submission."""
    ana = await ambassador(core, "amb", "Ana")
    olga = await ambassador(core, "olga", "Olga")
    sub = await submit(core, ana)
    reply = await handle_action(core, olga, "submission.resubmit_form", str(sub.id))
    assert_refused(reply)
    stranger = await outsider(core, "someone")
    reply = await handle_action(core, stranger, "submission.resubmit_form", str(sub.id))
    assert_refused(reply)
    # The author gets the form with their caption.
    own = await handle_action(core, ana, "submission.resubmit_form", str(sub.id))
    assert own.form is not None and own.form.inputs


async def test_cm_cannot_approve_their_own_submission_unless_allowed(core: Core) -> None:
    carla = await ambassador(core, "cm1", "Carla")
    sub = await submit(core, carla)
    reply = await handle_action(core, carla, "review.approve", f"{sub.id}:{sub.revision}")
    assert_refused(reply)
    assert (await stored(core, sub.id)).status is Status.PENDING
    # Another CM approves it, and Carla is credited.
    chris = await member(core, "cm2", "Chris")
    ok = await handle_action(core, chris, "review.approve", f"{sub.id}:{sub.revision}")
    assert not ok.failed, ok
    # A one-person programme allows it; no points are credited for one's own approval.
    other = await submit(core, carla, color=3)
    await handle_command(core, chris, "/relais", "config self_review on")
    done = await handle_action(core, carla, "review.approve", f"{other.id}:{other.revision}")
    assert not done.failed, done
    profile = await core.onboarding.profile(carla)
    settings = core.settings
    assert profile.points == settings.relais_points_per_approval + settings.relais_points_first


async def test_non_reviewer_is_refused_before_any_reason_form(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    olga = await ambassador(core, "olga", "Olga")
    sub = await submit(core, ana)
    for action in ("review.reject", "review.changes", "review.escalate"):
        reply = await handle_action(core, olga, action, f"{sub.id}:{sub.revision}")
        assert_refused(reply)
        assert t("error.reviewers_only") in text_of(reply.message)


async def test_escalate_asks_for_an_optional_note(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    carla = await member(core, "cm1", "Carla")
    await member(core, "boss", "Bea")
    sub = await submit(core, ana)
    value = f"{sub.id}:{sub.revision}"
    form = (await handle_action(core, carla, "review.escalate", value)).form
    assert form is not None and form.action == "review.escalate"
    (note,) = form.inputs
    assert not getattr(note, "required", True)
    done = await handle_action(core, carla, "review.escalate", form.value, {"reason": ""})
    assert not done.failed, done
    after = await stored(core, sub.id)
    assert after.status is Status.ESCALATED and after.decision_reason is None


def test_referents_may_only_approve_request_changes_and_see_the_card() -> None:
    """The short circuit is declared in the table: nothing else opens to referents."""
    assert {n for n, e in TABLE.items() if e.permission.site_referents} == {
        ActionName.REVIEW_SHOW,
        ActionName.REVIEW_APPROVE,
        ActionName.REVIEW_APPROVE_INTERNAL,
        ActionName.REVIEW_CHANGES,
    }


async def test_a_cm_cannot_reach_the_admins_entry_through_role(core: Core) -> None:
    """``role grant <person> cm|approver`` runs ``role.staff``, whose permission is admin."""
    assert TABLE[ActionName.ROLE_STAFF].permission.roles == {Role.ADMIN}
    cm = await member(core, "cm1", "Carla")
    await ambassador(core, "amb", "Ana")
    for line in ("role grant amb cm", "role grant amb approver", "role revoke cm2 cm"):
        reply = await handle_command(core, cm, "/relais", line)
        assert_refused(reply)
        assert t("error.admins_only") in text_of(reply.message)
    direct = await handle_action(core, cm, "role.staff", "grant amb cm")
    assert_refused(direct)
    assert Role.CM not in (await member(core, "amb")).roles


async def test_relais_command_button_runs_the_subcommand_with_its_own_permission(
    core: Core,
) -> None:
    olga = await ambassador(core, "olga", "Olga")
    reply = await handle_action(core, olga, "relais.command", "config nudges off")
    assert reply.failed and t("error.not_allowed") in text_of(reply.message)
    reply = await handle_action(core, olga, "relais.command", "digest send")
    assert reply.failed


async def test_a_crafted_number_no_database_holds_is_refused_cleanly(core: Core) -> None:
    """A form value or a button value beyond any id: a clear answer, never a crash."""
    ana = await ambassador(core, "amb", "Ana")
    huge = "9" * 30
    reply = await handle_action(
        core,
        ana,
        "submission.create",
        "",
        {"caption": "x", "site": huge, "campaign": huge, "appears": "nobody"},
        [await photo(core)],
    )
    assert not reply.failed, reply
    reply = await handle_action(core, ana, "submission.withdraw", huge)
    assert reply.failed and t("error.submission_not_found", id=huge[:40]) in text_of(reply.message)
