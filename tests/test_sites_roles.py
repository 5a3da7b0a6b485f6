"""Sites (CM), roles granted from chat, and site referents, through the action table
(the console's words) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text
from typer.testing import CliRunner

from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.i18n import translator
from bot.outbox import Dispatcher
from domain import MemberView, Role, Status, site_key
from relais.cli import app
from storage.db import Database
from storage.models import AuditEvent, Member, Site, SiteReferent, Submission
from tests.support import (
    FakeClock,
    RecordingPort,
    ambassador,
    count_rows,
    member,
    photo,
    scratch_database,
    stored,
    text_of,
)

en, fr = translator("en"), translator("fr")


async def say(core: Core, who: MemberView, line: str) -> tuple[bool, str]:
    """``/relais <line>`` as ``who``: (refused, what they read)."""
    reply = await handle_command(core, who, "/relais", line)
    assert reply.message is not None
    return reply.failed, text_of(reply.message)


async def dms(port: RecordingPort, dispatcher: Dispatcher, user: str) -> list[str]:
    await dispatcher.drain()
    return [text_of(m) for m in port.dms_to(user)]


async def fresh(core: Core, who: MemberView) -> MemberView:
    """``who`` as the database has them now (roles, referent sites)."""
    async with core.db.read() as r:
        return await r.members.view(who.id)


def test_site_key_ignores_case_accents_and_spaces() -> None:
    assert site_key("  Saint-Étienne   Nord ") == site_key("saint-etienne nord")
    assert site_key("LYON") == site_key(" lyon") != site_key("Lyons")


# -- sites ---------------------------------------------------------------------------------


async def test_cm_adds_lists_renames_sites_and_duplicates_are_refused(core: Core) -> None:
    cm = await member(core, "cm1", "Carla")
    refused, said = await say(core, cm, "site add  Saint-Étienne  plant ")
    assert not refused and "Site Saint-Étienne plant added" in said
    for same in ("saint-etienne plant", "SAINT-ÉTIENNE PLANT", " Saint-Etienne   Plant"):
        refused, said = await say(core, cm, f"site add {same}")
        assert refused and en("site.exists", site="Saint-Étienne plant") in said
    assert await count_rows(core.db, Site) == 1
    await say(core, cm, "site add Lyon")
    refused, said = await say(core, cm, "site list")
    assert not refused and "2 sites" in said and "Lyon" in said and "no referent" in said
    # Rename: to a name another site has (ignoring case) is refused; to itself in new case is fine.
    refused, said = await say(core, cm, "site rename saint-etienne plant -> LYON")
    assert refused and en("site.exists", site="Lyon") in said
    refused, said = await say(core, cm, "site rename lyon -> Lyon Part-Dieu")
    assert not refused and "Site Lyon is now called Lyon Part-Dieu." in said
    refused, said = await say(core, cm, "site rename Lyon Part-Dieu -> LYON PART-DIEU")
    assert not refused
    assert [n for _, n in await core.sites.names(cm.workspace_id)] == [
        "LYON PART-DIEU",
        "Saint-Étienne plant",
    ]
    # Bad input: a name clearly said, nothing written.
    before = await count_rows(core.db, AuditEvent)
    for line, key in (
        ("site rename Paris -> Nice", "No site called Paris"),
        ("site rename Lyon", "Write it as: /relais site rename"),
        ("site merge Lyon part-dieu -> lyon part-dieu", "is the same site twice"),
        ("site add " + "x" * 121, "too long"),
        ("site frobnicate", "/relais site list"),
    ):
        refused, said = await say(core, cm, line)
        assert refused and key in said, (line, said)
    assert await count_rows(core.db, AuditEvent) == before


async def test_sites_in_french(core: Core) -> None:
    cm = await member(core, "cm1", "Carla", locale="fr")
    refused, said = await say(core, cm, "site ajouter Usine de Lyon")
    assert not refused and "Site Usine de Lyon ajouté." in said
    refused, said = await say(core, cm, "site ajouter usine de lyon")
    assert refused and fr("site.exists", site="Usine de Lyon") in said
    refused, said = await say(core, cm, "site liste")
    assert "1 site" in said and "pas de référent" in said
    refused, said = await say(core, cm, "site renommer Nulle part -> Ailleurs")
    assert refused and "Aucun site nommé Nulle part" in said


async def test_only_cms_manage_sites(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    refused, said = await say(core, ana, "site add Paris")
    assert refused and en("error.not_allowed") in said
    assert [n for _, n in await core.sites.names(ana.workspace_id)] == ["Lyon"]


async def test_merge_moves_members_submissions_and_referents_and_keeps_history(
    core: Core,
) -> None:
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana", site="Lyon plant")
    bob = await ambassador(core, "bob", "Bob", site="Lyon usine")
    sub = await core.submissions.create(bob, photos=[await photo(core)], caption="at the plant")
    await say(core, cm, "role grant bob referent Lyon usine")
    refused, said = await say(core, cm, "site merge lyon usine -> Lyon plant")
    assert not refused, said
    assert "Lyon usine merged into Lyon plant: 1 member and 1 submission moved" in said
    async with core.db.read() as r:
        sites = await r.sites.list(cm.workspace_id)
        assert [s.name for s in sites] == ["Lyon plant"]
        bob_now = await r.members.view(bob.id)
        assert bob_now.site_id == sites[0].id == (await r.members.view(ana.id)).site_id
        assert bob_now.referent_sites == {sites[0].id}
        row = await r.submissions.get(sub.id)
        assert row is not None and row.site_id == sites[0].id
        events = await r.audit.recent(cm.workspace_id)
    merge = next(e for e in events if e.action == "site.merge")
    assert merge.detail["from"] == "Lyon usine" and merge.detail["members"] == 1
    assert merge.detail["submissions"] == 1 and merge.actor_id == cm.id
    assert (await stored(core, sub.id)).site_name == "Lyon plant"


async def test_join_form_offers_the_list_and_refuses_a_site_of_another_workspace(
    core: Core,
) -> None:
    cm = await member(core, "cm1", "Carla")
    nina = await member(core, "newbie", "Nina")
    bare = await handle_command(core, nina, "/relais", "join")
    assert bare.form is not None and bare.form.inputs == (), "no site field before any site"
    await say(core, cm, "site add Lyon")
    await say(core, cm, "site add Nantes")
    form = (await handle_command(core, nina, "/relais", "join")).form
    assert form is not None
    (select_,) = form.inputs
    assert [o.label for o in select_.options] == ["Lyon", "Nantes"]  # type: ignore[attr-defined]
    for crafted in ("Paris", "999999"):
        reply = await handle_action(core, nina, "charter.accept", form.value, {"site": crafted})
        assert reply.failed and reply.errors == {"site": en("error.unknown_site")}
    assert Role.AMBASSADOR not in (await member(core, "newbie")).roles
    nantes = next(o.value for o in select_.options if o.label == "Nantes")  # type: ignore[attr-defined]
    done = await handle_action(core, nina, "charter.accept", form.value, {"site": nantes})
    assert not done.failed
    profile = await core.onboarding.profile(nina)
    assert profile.site_name == "Nantes"


async def test_site_import_from_a_csv_of_200_sites_is_idempotent(
    core: Core, settings: object, tmp_path: Path
) -> None:
    cm = await member(core, "cm1", "Carla")
    await say(core, cm, "site add Lyon")
    rows = ["name"] + [f"Agence {i:03d}" for i in range(1, 200)] + [" lyon ", "", "x" * 130]
    csv_file = tmp_path / "sites.csv"
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = {"DATABASE_URL": core.settings.database_url, "MEDIA_DIR": str(tmp_path / "m")}
    runner = CliRunner()
    first = await asyncio.to_thread(runner.invoke, app, ["site", "import", str(csv_file)], env=env)
    assert "199 site(s) added, 1 already there." in first.output, first.output
    assert "line 203: refused, longer than 120 characters" in first.output
    assert first.exit_code == 1  # a line was refused: said, and the exit code says it too
    second = await asyncio.to_thread(runner.invoke, app, ["site", "import", str(csv_file)], env=env)
    assert "0 site(s) added, 200 already there." in second.output, second.output
    assert await count_rows(core.db, Site) == 200
    # Semicolon-separated, as a French spreadsheet exports it: the first column counts.
    (tmp_path / "fr.csv").write_text("nom;ville\nUsine de Lyon;Lyon\n", encoding="utf-8")
    third = await asyncio.to_thread(
        runner.invoke, app, ["site", "import", str(tmp_path / "fr.csv")], env=env
    )
    assert "1 site(s) added" in third.output and third.exit_code == 0
    missing = await asyncio.to_thread(
        runner.invoke, app, ["site", "import", str(csv_file), "--workspace", "T-x"], env=env
    )
    assert missing.exit_code == 2 and "No workspace yet" in missing.output


# -- roles -----------------------------------------------------------------------------------


async def admin_core(core: Core) -> Core:
    settings = core.settings.model_copy(update={"relais_admins": ["root"]})
    return Core(settings, core.db, clock=core.clock)


async def test_cm_names_a_referent_who_is_told_by_dm_in_their_language(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    cm = await member(core, "cm1", "Carla")
    await ambassador(core, "amb", "Ana")
    await ambassador(core, "luc", "Luc", locale="fr")
    refused, said = await say(core, cm, "role grant @Ana referent lyon")
    assert not refused and "Ana is now Site referent of Lyon." in said
    refused, said = await say(core, cm, "role grant luc référent Lyon")
    assert not refused
    (ana_dm,) = await dms(port, dispatcher, "amb")
    assert "Carla made you Site referent of Lyon" in ana_dm and "relay of this site" in ana_dm
    (luc_dm,) = await dms(port, dispatcher, "luc")
    assert "Carla vous a donné le rôle Référent de site de Lyon" in luc_dm
    refused, said = await say(core, cm, "role grant ana referent Lyon")
    assert not refused and "was already" in said
    refused, said = await say(core, cm, "role list")
    assert "Ana" in said and "Luc" in said and "Carla" in said and "Lyon" in said
    async with core.db.read() as r:
        events = [e for e in await r.audit.recent(cm.workspace_id) if e.action == "role.grant"]
    assert [(e.subject, e.detail["role"], e.detail["site"]) for e in events] == [
        ("luc", "referent", "Lyon"),
        ("amb", "referent", "Lyon"),
    ]
    # Revoking without a site: every site they relay.
    refused, said = await say(core, cm, "role revoke ana referent")
    assert not refused and "Ana is no longer Site referent." in said
    assert "removed your role" in (await dms(port, dispatcher, "amb"))[-1]
    assert Role.REFERENT not in (await member(core, "amb", "Ana")).roles
    assert (await member(core, "amb", "Ana")).referent_sites == frozenset()


async def test_naming_cms_and_approvers_is_an_admins(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    refused, said = await say(core, cm, "role grant ana cm")
    assert refused and en("error.admins_only") in said
    assert Role.CM not in (await fresh(core, ana)).roles
    boss = await admin_core(core)
    root = await member(boss, "root", "Root")
    refused, said = await say(boss, root, "role grant Ana approver")
    assert not refused and "Ana is now Approver." in said
    assert "receive the sensitive submissions" in (await dms(port, dispatcher, "amb"))[-1]
    refused, said = await say(boss, root, "role grant ana cm")
    assert not refused
    now_cm = await fresh(core, ana)
    assert {Role.CM, Role.APPROVER} <= now_cm.roles
    # Ana, now a CM, can name referents but still not approvers.
    refused, _ = await say(core, now_cm, "role grant cm1 referent Lyon")
    assert not refused
    refused, said = await say(core, now_cm, "role grant cm2 approver")
    assert refused and en("error.admins_only") in said
    refused, said = await say(boss, root, "role revoke ana cm")
    assert not refused and Role.CM not in (await fresh(core, ana)).roles


async def test_bad_role_input_names_what_to_fix_and_writes_nothing(core: Core) -> None:
    cm = await member(core, "cm1", "Carla", locale="fr")
    await ambassador(core, "amb", "Ana")
    before = await count_rows(core.db, AuditEvent), await count_rows(core.db, SiteReferent)
    for line, expected in (
        ("role grant nobody referent Lyon", "nobody"),
        ("role grant ana referent Paris", "Aucun site nommé Paris"),
        ("role grant ana referent", "Précisez le site"),
        ("role grant ana king", "king n’est pas un rôle"),
        ("role grant", "/relais role list"),
    ):
        refused, said = await say(core, cm, line)
        assert refused and expected in said, (line, said)
    ana = await ambassador(core, "amb", "Ana")
    refused, said = await say(core, ana, "role grant ana referent Lyon")
    assert refused and fr("error.not_allowed") not in said  # Ana reads English
    assert (await count_rows(core.db, AuditEvent), await count_rows(core.db, SiteReferent)) == (
        before
    )


async def test_a_mention_names_the_person(core: Core) -> None:
    cm = await member(core, "cm1", "Carla")
    await ambassador(core, "U42", "Ana Field")
    for mention in ("<@U42>", "<@U42|ana>", "<@aad-unknown|Ana Field>"):
        refused, said = await say(core, cm, f"role revoke {mention} referent")
        assert not refused and "Ana Field was not Site referent" in said, said
    refused, said = await say(core, cm, "role grant <@U42|Ana Field> referent Lyon")
    assert not refused and "Ana Field is now Site referent of Lyon" in said


# -- referents --------------------------------------------------------------------------------


async def test_referent_reviews_their_sites_non_sensitive_submissions_when_allowed(
    core: Core,
) -> None:
    cm = await member(core, "cm1", "Carla")
    rita = await ambassador(core, "rita", "Rita")  # Lyon
    ana = await ambassador(core, "amb", "Ana")  # Lyon
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    await say(core, cm, "role grant rita referent Lyon")
    lyon = await core.submissions.create(ana, photos=[await photo(core)], caption="lyon one")
    secret = await core.submissions.create(
        ana, photos=[await photo(core, (9, 9, 9))], caption="lyon secret", sensitive=True
    )
    nantes = await core.submissions.create(bo, photos=[await photo(core, (5, 5, 5))], caption="x")
    rita = await fresh(core, rita)
    assert rita.referent_sites and Role.REFERENT in rita.roles

    def ref(sub: object) -> str:
        return f"{sub.id}:{sub.revision}"  # type: ignore[attr-defined]

    # Off by default: the referent sees the queue but review stays with the reviewers.
    reply = await handle_action(core, rita, "review.approve", ref(lyon))
    assert reply.failed and en("error.reviewers_only") in text_of(reply.message)  # type: ignore[arg-type]
    profile = await core.onboarding.profile(rita)
    assert [s.id for s in profile.awaiting_review] == [lyon.id, secret.id]
    await say(core, cm, "config referents_review on")
    # Another site's, a sensitive one, and the decisions kept for reviewers: refused.
    for action, sub, why in (
        ("review.approve", nantes, en("error.reviewers_only")),
        ("review.approve", secret, en("error.sensitive_needs_approver")),
        ("review.reject", lyon, en("error.reviewers_only")),
        ("review.escalate", lyon, en("error.reviewers_only")),
    ):
        reply = await handle_action(core, rita, action, ref(sub), {"reason": "no"})
        assert reply.failed and why in text_of(reply.message), (action, sub)  # type: ignore[arg-type]
    shown = await handle_action(core, rita, "review.show", ref(lyon))
    assert not shown.failed and "lyon one" in text_of(shown.message)  # type: ignore[arg-type]
    form = await handle_action(core, rita, "review.changes", ref(lyon))
    assert form.form is not None
    done = await handle_action(core, rita, "review.approve", ref(lyon))
    assert not done.failed, done
    assert (await stored(core, lyon.id)).status is Status.APPROVED
    assert (await stored(core, lyon.id)).decided_by_name == "Rita"
    for sub in (secret, nantes):
        assert (await stored(core, sub.id)).status is Status.PENDING


async def test_referent_gets_a_weekly_line_on_the_sites_activity(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    friday_slot = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # fri 16:00 in Paris
    clock.now = friday_slot - timedelta(days=2)
    cm = await member(core, "cm1", "Carla")
    await ambassador(core, "luc", "Luc", locale="fr")
    ana = await ambassador(core, "amb", "Ana")
    await say(core, cm, "role grant luc referent Lyon")
    first = await core.submissions.create(ana, photos=[await photo(core)], caption="one")
    await core.submissions.create(ana, photos=[await photo(core, (7, 7, 7))], caption="two")
    await core.review.approve(cm, first.id)
    clock.now = friday_slot + timedelta(minutes=1)
    await core.rounds.tick()
    await core.rounds.tick()  # once a week
    await dispatcher.drain()
    lines = [m.text for m in port.dms_to("luc") if "Cette semaine" in m.text]
    assert lines == [
        "Cette semaine à Lyon : 2 contributions envoyées, 1 approuvée, "
        "1 ambassadeur a participé ; 1 en attente de validation."
    ]


# -- the migration that folds near-duplicate sites --------------------------------------------


async def test_migration_folds_near_duplicate_sites_and_says_so(
    db: Database, tmp_path: Path, capsys: object
) -> None:
    from storage.db import upgrade

    # A database of its own, created at revision 0006 with the duplicates typed at join.
    async with scratch_database(db, tmp_path, "fold") as url:
        await asyncio.to_thread(upgrade, url, "0006")
        old = Database(url)
        # As storage writes them: naive UTC text on SQLite, timestamptz on PostgreSQL.
        now: object = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        if db.engine.dialect.name == "sqlite":
            now = "2026-11-01 10:00:00.000000"
        async with old.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO workspaces (id, platform, external_id, name, locale, timezone,"
                    " approved_total, created_at)"
                    " VALUES (1, 'slack', 'T1', '', 'en', 'UTC', 0, :now)"
                ),
                {"now": now},
            )
            for site_id, name in (
                (1, "Lyon"),
                (2, " lyon "),
                (3, "LYON"),
                (4, "Saint-Étienne"),
                (5, "saint etienne"),
                (6, "Saint-Etienne"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO sites (id, workspace_id, name, created_at)"
                        " VALUES (:id, 1, :name, :now)"
                    ),
                    {"id": site_id, "name": name, "now": now},
                )
            for member_id, site_id in ((1, 2), (2, 3), (3, 6)):
                await conn.execute(
                    text(
                        "INSERT INTO members (id, workspace_id, external_id, display_name,"
                        " site_id, nudges_opt_out, created_at)"
                        " VALUES (:id, 1, :ext, 'x', :site, false, :now)"
                    ),
                    {"id": member_id, "ext": f"U{member_id}", "site": site_id, "now": now},
                )
            await conn.execute(
                text(
                    "INSERT INTO submissions (id, workspace_id, author_id, caption, site_id,"
                    " status, people_consented, sensitive, revision, created_at, updated_at)"
                    " VALUES (1, 1, 1, 'c', 3, 'pending', false, false, 1, :now, :now)"
                ),
                {"now": now},
            )
        await old.dispose()
        await asyncio.to_thread(upgrade, url, "head")
        printed = capsys.readouterr().out  # type: ignore[attr-defined]
        assert "site ' lyon ' (#2) merged into 'Lyon' (#1)" in printed
        assert "site 'LYON' (#3) merged into 'Lyon' (#1)" in printed
        assert "site 'Saint-Etienne' (#6) merged into 'Saint-Étienne' (#4)" in printed
        new = Database(url)
        async with new.read() as r:
            sites = [(s.id, s.name, s.key) for s in await r.sites.list(1)]
            members = dict((await r.session.execute(select(Member.id, Member.site_id))).all())
            sub_site = await r.session.scalar(select(Submission.site_id))
        await new.dispose()
        # Down to 0006 and up again: nothing pointing at a site or a campaign is lost.
        from alembic import command

        from storage.db import alembic_config

        await asyncio.to_thread(command.downgrade, alembic_config(url), "0006")
        await asyncio.to_thread(upgrade, url, "head")
        again = Database(url)
        async with again.read() as r:
            rows = (await r.session.execute(select(Member.id, Member.site_id))).all()
            assert dict(rows) == {1: 1, 2: 1, 3: 4}
            assert await r.session.scalar(select(Submission.site_id)) == 1
        await again.dispose()
    # "Saint-Étienne" and "saint etienne" differ by more than case, accents and spaces.
    assert sorted(sites) == [
        (1, "Lyon", "lyon"),
        (4, "Saint-Étienne", "saint-etienne"),
        (5, "saint etienne", "saint etienne"),
    ]
    assert members == {1: 1, 2: 1, 3: 4}
    assert sub_site == 1


async def test_referent_gets_the_sites_review_reminder_only_when_they_may_review(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Paris
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    rita = await ambassador(core, "rita", "Rita")
    await say(core, cm, "role grant rita referent Lyon")
    await say(core, cm, "config review_sla_hours 4")
    lyon = await core.submissions.create(ana, photos=[await photo(core)], caption="lyon")
    await core.submissions.create(
        ana, photos=[await photo(core, (3, 3, 3))], caption="hush", sensitive=True
    )
    await core.submissions.create(bo, photos=[await photo(core, (4, 4, 4))], caption="nantes")
    clock.now += timedelta(hours=6)
    await core.rounds.tick()
    await dispatcher.drain()
    assert [m for m in port.dms_to("rita") if m.buttons()] == []
    await say(core, cm, "config referents_review on")
    clock.now += timedelta(days=1)
    await core.rounds.tick()
    await core.rounds.tick()
    await dispatcher.drain()
    (reminder,) = [m for m in port.dms_to("rita") if m.buttons()]
    assert f"#{lyon.id}" in text_of(reminder) and "1 submission is waiting" in reminder.text
    (button,) = [b for b in reminder.buttons() if b.action == "review.show"]
    card = await handle_action(core, await fresh(core, rita), button.action, button.value)
    assert not card.failed and "lyon" in text_of(card.message)  # type: ignore[arg-type]


async def test_two_cms_adding_the_same_site_at_once_make_one(core: Core) -> None:
    carla = await member(core, "cm1", "Carla")
    chris = await member(core, "cm2", "Chris")
    answers = await asyncio.gather(
        say(core, carla, "site add Lyon"), say(core, chris, "site add  LYON ")
    )
    assert sorted(refused for refused, _ in answers) == [False, True]
    assert await count_rows(core.db, Site) == 1
