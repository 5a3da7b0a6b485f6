"""The charter from chat: everyone reads it, a CM publishes a new version after seeing
what changed, and every ambassador is asked to accept it (SQLite and PostgreSQL)."""

from __future__ import annotations

from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.i18n import translator
from bot.outbox import Dispatcher
from bot.ui import Checkbox, TextInput
from domain import CHARTER_MAX, Role
from storage.models import CharterVersion, OutboxMessage
from tests.support import RecordingPort, ambassador, count_rows, member, text_of

en, fr = translator("en"), translator("fr")


async def test_everyone_reads_the_charter_and_a_cm_sees_who_accepted(core: Core) -> None:
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    await member(core, "newbie", "Nina")
    reply = await handle_command(core, ana, "/relais", "charter")
    shown = text_of(reply.message)  # type: ignore[arg-type]
    assert "Ambassador charter, version 1" in shown
    assert "Ana" not in shown, "who accepted is for CMs"
    overview = text_of((await handle_command(core, cm, "/relais", "charter")).message)  # type: ignore[arg-type]
    assert "1 of 1 ambassadors accepted this version" in overview
    assert "Ana" in overview and "accepted version 1" in overview
    assert "Nina" not in overview  # not an ambassador


async def test_cm_publishes_after_seeing_the_changes_and_ambassadors_are_asked_again(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    await ambassador(core, "luc", "Luc", locale="fr")
    opened = await handle_command(core, cm, "/relais", "charter publish")
    form = opened.form
    assert form is not None and form.action == "charter.publish"
    (field,) = form.inputs
    assert isinstance(field, TextInput) and field.max_length == CHARTER_MAX
    current = field.initial
    new_text = current + "\nNo photos of badges or screens."
    # First submit: what changed, and a box to tick; nothing published yet.
    preview = await handle_action(core, cm, "charter.publish", form.value, {"text": new_text})
    assert preview.form is not None and not preview.failed
    assert "+ No photos of badges or screens." in preview.form.intro
    assert any(isinstance(i, Checkbox) and i.name == "confirm" for i in preview.form.inputs)
    assert await count_rows(core.db, CharterVersion) == 1
    # Ticked, but the text was edited after the preview: shown again, not published.
    edited = new_text + "\nBe kind."
    again = await handle_action(
        core, cm, "charter.publish", preview.form.value, {"text": edited, "confirm": True}
    )
    assert again.form is not None and "+ Be kind." in again.form.intro
    assert await count_rows(core.db, CharterVersion) == 1
    done = await handle_action(
        core, cm, "charter.publish", again.form.value, {"text": edited, "confirm": True}
    )
    assert not done.failed and "Charter version 2 published" in text_of(done.message)  # type: ignore[arg-type]
    await dispatcher.drain()
    (ana_dm,) = [m for m in port.dms_to("amb") if "version 2" in m.text]
    assert "Carla published version 2 of the ambassador charter." in ana_dm.text
    assert "+ Be kind." in text_of(ana_dm)
    (button,) = ana_dm.buttons()
    assert (button.action, button.value) == ("relais.command", "join")
    (luc_dm,) = [m for m in port.dms_to("luc") if "version 2" in m.text]
    assert "Carla a publié la version 2 de la charte" in luc_dm.text
    # Ana is asked again at her next /submit, and the button opens the charter to accept.
    submit = await handle_command(core, ana, "/submit", "hello")
    assert submit.form is not None and submit.form.action == "charter.accept"
    join = await handle_action(core, ana, button.action, button.value)
    assert join.form is not None and "Be kind." in join.form.intro
    accepted = await handle_action(core, ana, "charter.accept", join.form.value, {})
    assert not accepted.failed
    overview = await handle_command(core, cm, "/relais", "charter")
    assert "1 of 2 ambassadors accepted this version" in text_of(overview.message)  # type: ignore[arg-type]


async def test_bad_charter_input_is_refused_and_nothing_published(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    cm = await member(core, "cm1", "Carla", locale="fr")
    ana = await ambassador(core, "amb", "Ana")
    form = (await handle_command(core, cm, "/relais", "charte publier")).form
    assert form is not None
    current = form.inputs[0].initial  # type: ignore[union-attr]
    for text, expected in (
        ("   ", fr("error.charter_empty")),
        ("x" * (CHARTER_MAX + 1), f"fait {CHARTER_MAX + 1} caractères"),
        (current, "C’est déjà le texte de la version 1"),
    ):
        reply = await handle_action(
            core, cm, "charter.publish", "", {"text": text, "confirm": True}
        )
        assert reply.failed and expected in reply.errors["text"], reply
    # Not a CM: refused before the form, and by the entry on a crafted submission.
    for values in (None, {"text": "mine", "confirm": True}):
        reply = await handle_action(core, ana, "charter.publish", "", values)
        assert reply.failed and reply.form is None
    reply = await handle_command(core, ana, "/relais", "charter publish")
    assert reply.failed and en("error.not_allowed") in text_of(reply.message)  # type: ignore[arg-type]
    assert await count_rows(core.db, CharterVersion) == 1
    await dispatcher.drain()
    assert port.dms_to("amb") == []
    assert Role.AMBASSADOR in ana.roles


async def test_a_current_charter_longer_than_a_form_is_refused_with_the_limit(
    core: Core,
) -> None:
    cm = await member(core, "cm1", "Carla")
    await core.onboarding.publish_charter(cm, "y" * (CHARTER_MAX + 500))
    reply = await handle_command(core, cm, "/relais", "charter publish")
    assert reply.failed and reply.form is None
    said = text_of(reply.message)  # type: ignore[arg-type]
    assert f"{CHARTER_MAX + 500} characters long and a chat form holds {CHARTER_MAX}" in said
    assert await count_rows(core.db, OutboxMessage) == 0
