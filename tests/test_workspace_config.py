"""One WorkspaceConfig: the timezone a CM sets from chat is the one every date uses."""

from __future__ import annotations

from bot.actions import handle_command
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
