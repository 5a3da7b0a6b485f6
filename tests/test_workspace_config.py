"""One WorkspaceConfig: the timezone a CM sets from chat is the one every date uses."""

from __future__ import annotations

from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.outbox import Dispatcher
from tests.conftest import REVIEW_CHANNEL
from tests.support import RecordingPort, ambassador, member, photo, text_of


async def test_config_timezone_reaches_cards_home_and_me(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    # The clock says 09:00 UTC: 10:00 in Paris (the environment's default), 04:00 in New York.
    carla = await member(core, "cm1", "Carla")
    done = await handle_command(core, carla, "/relais", "config timezone America/New_York")
    assert not done.failed, done
    ana = await ambassador(core, "amb", "Ana")
    await core.submissions.create(ana, photos=[await photo(core)], caption="hello")
    await dispatcher.drain()
    card = text_of(port.in_channel(REVIEW_CHANNEL)[0])
    assert "4:00" in card and "10:00" not in card
    await handle_command(core, ana, "/relais", "snooze 1w")
    me = await handle_command(core, ana, "/relais", "me")
    assert me.message is not None
    shown = text_of(me.message)
    assert "4:00" in shown and "10:00" not in shown


async def test_config_says_on_and_off_in_the_readers_language(core: Core) -> None:
    claire = await member(core, "cm1", "Claire", locale="fr")
    done = await handle_command(core, claire, "/relais", "config nudges non")
    assert done.message is not None and not done.failed, done
    assert "désactivé" in text_of(done.message)
    shown = await handle_command(core, claire, "/relais", "config")
    assert shown.message is not None
    lines = text_of(shown.message).split("\n")
    assert "désactivé" in lines and "off" not in lines and "on" not in lines
    carl = await member(core, "cm2", "Carl", locale="en")
    english = await handle_command(core, carl, "/relais", "config")
    assert english.message is not None and "off" in text_of(english.message).split("\n")


async def test_config_me_is_each_members_own_and_open_to_everyone(core: Core) -> None:
    """``config me``: anyone changes their own preferences (``config`` stays the CMs');
    the choice is stored, shown back, and bad keys or values change nothing."""
    ana = await ambassador(core, "amb", "Ana")
    shown = await handle_command(core, ana, "/relais", "config me")
    assert shown.message is not None and not shown.failed
    lines = text_of(shown.message).split("\n")
    # Defaults: on the leaderboard by name; badges told by DM only.
    assert lines[lines.index("Your name on the leaderboard") + 1] == "on"
    assert lines[lines.index("Your badges announced in the channel") + 1] == "off"

    hidden = await handle_command(core, ana, "/relais", "config me leaderboard off")
    assert hidden.message is not None and not hidden.failed
    assert "no longer appears" in text_of(hidden.message)
    shared = await handle_command(core, ana, "/relais", "CONFIG ME badges oui")
    assert shared.message is not None and "announced" in text_of(shared.message)
    async with core.db.read() as r:
        view = await r.members.view(ana.id)
    assert view.leaderboard_hidden and view.badges_public

    # A workspace setting is still refused to her; typos are refused, nothing written.
    refused = await handle_command(core, ana, "/relais", "config nudges off")
    assert refused.failed
    for line, word in (("config me colour on", "colour"), ("config me leaderboard maybe", "maybe")):
        bad = await handle_command(core, ana, "/relais", line)
        assert bad.failed and bad.message is not None and word in text_of(bad.message)
    async with core.db.read() as r:
        again = await r.members.view(ana.id)
    assert again.leaderboard_hidden and again.badges_public

    # In French, and the App Home button puts her name back.
    claire = await member(core, "amb2", "Claire", locale="fr")
    fr = await handle_command(core, claire, "/relais", "config moi classement non")
    assert fr.message is not None and "n’apparaît plus" in text_of(fr.message)
    back = await handle_action(core, ana, "relais.command", "config me leaderboard on")
    assert not back.failed
    async with core.db.read() as r:
        assert not (await r.members.view(ana.id)).leaderboard_hidden
