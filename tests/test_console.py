"""The console adapter end to end: a scripted terminal session, compared as a transcript."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from adapters.console.app import ConsoleApp
from bot.core import Core
from domain import Platform
from tests.support import jpeg_bytes, stored


class Terminal:
    """Feeds typed lines to the app and records everything it prints."""

    def __init__(self, lines: list[str]) -> None:
        self._lines: Iterator[str] = iter(lines)
        self.out: list[str] = []
        self.said: list[str] = []

    async def ask(self, prompt: str) -> str | None:
        self.out.append(prompt)
        line = next(self._lines, None)
        if line is not None:
            self.out.append(line + "\n")
        return line

    def say(self, text: str) -> None:
        self.said.append(text)
        self.out.append(text + "\n")

    @property
    def text(self) -> str:
        return "".join(self.out)


def console_core(core: Core) -> Core:
    return Core(
        core.settings, core.db, clock=core.clock, review_channels={Platform.CONSOLE: "review"}
    )


async def test_join_submit_approve_notify(core: Core, tmp_path: Path) -> None:
    picture = tmp_path / "team photo.jpg"
    picture.write_bytes(jpeg_bytes())
    caption = "Team <!channel> <@U123> *bold* \x1b[31mred"
    term = Terminal(
        [
            "/as cm1",
            "/relais site add Lyon",  # the CM's list of sites, offered at join
            "/as alice",
            "/submit " + caption,  # not an ambassador yet: the charter comes first
            "Lyon",  # part of a name picks a site
            "y",  # site, accept
            f"'{picture}'",
            "",  # no title
            "",
            "",  # no link
            "",
            "3",  # who appears: people outside the company
            "",  # no colleague named
            "y",  # their written agreement
            "n",
            "y",  # photos, title, caption kept, link, site, who appears, people, agreement,
            # sensitive
            "/as cm1",
            "1",  # Approve on the review card
            "1",  # pressing it again: already decided
            "/as alice",
            "/inbox",
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "Charter version 1" in out
    assert "You accepted charter version 1" in out
    assert "─── #review ───\nSUBMISSION #1" in out
    assert "[1] Approve   [2] Reject   [3] Request changes   [4] Escalate" in out
    # User text is shown literally; the terminal escape is removed, nothing else changes.
    assert "Team <!channel> <@U123> *bold* [31mred" in out
    assert not any("\x1b" in line for line in term.said), "no terminal escape is printed"
    assert "Thanks! Your submission #1 arrived" in out
    assert "Submission #1 from Alice approved." in out
    assert "Good news: your submission #1 was approved by Cm1." in out
    assert "(message 1 updated)" in out and "Approved by Cm1 on" in out
    assert "Already handled: Cm1" in out
    assert out.count("Good news") == 2, "one DM delivered, shown once more by /inbox"
    assert out.rstrip().endswith("Bye.")


async def test_rejected_file_is_explained(core: Core, tmp_path: Path) -> None:
    fake = tmp_path / "holiday.jpg"
    fake.write_text("<html>login page</html>")
    term = Terminal(["/relais join", "", "y", "/submit hi", str(fake), "/cancel", "/relais me"])
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert (
        "holiday.jpg: This file is not a photo or video we can use. "
        "Accepted: JPEG, PNG, WebP, MP4, MOV, WebM."
    ) in out
    assert "! Please add at least one photo." in out
    assert "Cancelled: nothing was sent." in out
    assert "PROFILE: ALICE" in out, "the line after /cancel is a command again"
    async with core.db.transaction() as r:
        assert await r.submissions.count_awaiting_review(1) == 0


async def test_a_field_in_error_is_asked_again_and_the_photos_are_kept(
    core: Core, tmp_path: Path
) -> None:
    picture = tmp_path / "team.jpg"
    picture.write_bytes(jpeg_bytes())
    term = Terminal(
        [
            "/as cm1",
            "/relais site add Lyon",
            "/as alice",
            "/relais join",
            "Lyon",
            "y",
            "/submit",
            str(picture),
            "",  # no title
            "x" * 2001,  # too long: the core refuses the caption
            "",  # no link
            "",
            "3",
            "",
            "y",
            "n",
            "y",
            "A shorter caption",  # only the caption is asked again
            "y",
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "! Caption (or the text of your news): Your caption is 2001 characters long" in out
    assert (
        "Your other answers are kept. Answer again:\nCaption (or the text of your news) [xxx" in out
    )
    assert out.count("Photos (file paths, up to 10): ") == 1, "photos are not asked again"
    assert out.count("I hold their written agreement [y/N]: ") == 1, "nor is consent"
    assert "Thanks! Submission #1 is sent for review." in out
    sub = await stored(core, 1)
    assert (sub.caption, sub.people_consented, len(sub.media_keys)) == (
        "A shorter caption",
        True,
        1,
    )


async def test_a_photo_already_submitted_asks_for_other_photos(core: Core, tmp_path: Path) -> None:
    first, other = tmp_path / "first.jpg", tmp_path / "other.jpg"
    first.write_bytes(jpeg_bytes())
    other.write_bytes(jpeg_bytes(color=(10, 200, 30)))
    # title, caption kept, link, site, who appears (nobody), people, agreement, sensitive,
    # confirm
    answers = ["", "", "", "", "1", "", "n", "n", "y"]
    term = Terminal(
        [
            *("/as cm1", "/relais site add Lyon", "/as alice"),
            *("/relais join", "Lyon", "y"),
            *("/submit First", str(first), *answers),
            *("/submit Again", str(first), *answers, str(other), "y"),
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "! Photos: " in out, out
    assert "Your other answers are kept. Answer again:\nPhotos (file paths" in out
    assert "Thanks! Submission #2 is sent for review." in out
    sub = await stored(core, 2)
    assert (sub.caption, len(sub.media_keys)) == ("Again", 1)


async def test_end_of_input_in_a_form_cancels_it(core: Core, tmp_path: Path) -> None:
    picture = tmp_path / "team.jpg"
    picture.write_bytes(jpeg_bytes())
    # Input ends after the photos: the form must not be sent with what was typed so far.
    term = Terminal(["/relais join", "y", "/submit Hello", str(picture), "", "Caption"])
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "Cancelled: nothing was sent." in out
    assert "Thanks!" not in out.split("/submit Hello", 1)[1]
    async with core.db.transaction() as r:
        assert await r.submissions.count_awaiting_review(1) == 0
    # The same at the last question ("Send? [Y/n]"), where an empty answer means yes.
    # No site yet: title, caption, link, who appears, people, agreement, sensitive; then
    # input ends.
    term = Terminal(["/submit Hello", str(picture), "", "", "", "1", "", "n", "n"])
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    assert "Send? [Y/n]: Cancelled: nothing was sent." in term.text
    async with core.db.transaction() as r:
        assert await r.submissions.count_awaiting_review(1) == 0


async def test_french_console(core: Core, tmp_path: Path) -> None:
    settings = core.settings.model_copy(update={"relais_locale": "fr"})
    fr_core = console_core(Core(settings, core.db, clock=core.clock))
    picture = tmp_path / "équipe.jpg"
    picture.write_bytes(jpeg_bytes())
    term = Terminal(
        [
            "/as cm1",
            "/relais site ajouter Lyon",
            "/as alice",
            "/relais aide",
            "/relais rejoindre",
            "lyon",
            "o",
            "/submit Bonjour",
            str(picture),
            "",
            "",
            "",
            "",
            "3",
            "",
            "o",
            "n",
            "o",
            "/as cm1",
            "/inbox",
            "/as alice",
            "/inbox",
        ]
    )
    await ConsoleApp(fr_core, term.ask, term.say).run()
    out = term.text
    assert "Charte des ambassadeurs" in out
    assert "Console Relais : tout le parcours" in out
    assert "Photos (chemins des fichiers, 10 au plus) : " in out
    assert (
        "Des personnes extérieures à l’entreprise apparaissent : j’ai leur accord écrit [o/N] : "
        in out
    )
    assert "Envoyer ? [O/n] : " in out
    assert "─── Message privé à alice ───" in out
    assert "Vous êtes maintenant Cm1 (Community manager)." in out
    assert "(vide)" in out
    assert "Au revoir." in out
    for english in ("paths", "[y/N]", "[Y/n]", "DM to", "You are now", "Bye.", "(empty)"):
        assert english not in out, english


async def test_a_cm_sets_up_sites_and_a_referent_from_the_console(core: Core) -> None:
    term = Terminal(
        [
            "/as cm1",
            "/relais site add Lyon",
            "/relais site add  lyon ",  # the same site: refused
            "/as alice",
            "/relais join",
            "1",  # Lyon, by its number
            "y",
            "/as cm1",
            "/relais role grant @alice referent LYON",
            "/relais role grant @alice cm",  # an admin's: refused
            "/relais role list",
            "/as alice",
            "/inbox",
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "Site Lyon added." in out
    assert "There is already a site called Lyon" in out
    assert "Alice is now Site referent of Lyon." in out
    assert "Only an admin can do this" in out
    inbox = out.split("alice> /inbox")[1]
    assert "made you Site referent of Lyon" in inbox and "relay of this site" in inbox


async def test_sites_and_roles_in_the_french_console(core: Core) -> None:
    settings = core.settings.model_copy(update={"relais_locale": "fr"})
    fr_core = console_core(Core(settings, core.db, clock=core.clock))
    term = Terminal(
        [
            "/as cm1",
            "/relais site ajouter Usine de Lyon",
            "/relais site ajouter Agence de Lyon",
            "/as alice",
            "/relais rejoindre",
            "lyon",  # two sites hold it: asked again
            "usine",
            "o",
            "/as cm1",
            "/relais rôle donner @alice référent usine de lyon",
            "/relais site fusionner Agence de Lyon -> Usine de Lyon",
            "/relais site liste",
        ]
    )
    await ConsoleApp(fr_core, term.ask, term.say).run()
    out = term.text
    assert "Site Usine de Lyon ajouté." in out
    assert "Plusieurs correspondent à « lyon »" in out
    assert "Alice a maintenant le rôle Référent de site de Usine de Lyon." in out
    assert "Site Agence de Lyon fusionné dans Usine de Lyon : 0 membre et 0 contribution" in out
    assert "1 membre · Alice" in out


async def test_a_cm_publishes_the_charter_from_the_console_in_french(core: Core) -> None:
    settings = core.settings.model_copy(update={"relais_locale": "fr"})
    fr_core = console_core(Core(settings, core.db, clock=core.clock))
    term = Terminal(
        [
            "/relais rejoindre",
            "o",  # alice accepts version 1
            "/as cm1",
            "/relais charte publier",
            "Soyez bienveillants.",  # the new text
            "o",  # preview
            "Soyez bienveillants.",  # kept
            "o",  # confirm
            "o",  # send
            "/relais charte",
            "/as alice",
            "/inbox",
        ]
    )
    await ConsoleApp(fr_core, term.ask, term.say).run()
    out = term.text
    assert "+ Soyez bienveillants." in out
    assert "Version 2 de la charte publiée." in out
    assert "0 ambassadeur sur 1 a accepté cette version" in out.lower()
    assert "Alice : a accepté la version 1" in out
    assert "a publié la version 2 de la charte" in out.split("alice> /inbox")[1]


async def test_a_cm_runs_a_campaign_from_the_console(core: Core) -> None:
    today = core.clock().date()
    end = (today + timedelta(days=7)).isoformat()
    term = Terminal(
        [
            "/as cm1",
            "/relais campaign new",
            "Summer",  # title
            "Teams outside",  # brief
            "",  # start: today
            "yesterday",  # end: not a date
            "",  # hashtag
            "y",  # create: the end date is asked again
            end,
            "y",
            "/relais campaign list",
            "/relais campaign close summer",
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "End date (YYYY-MM-DD)" in out
    assert "yesterday is not a date" in out
    assert "Campaign Summer created" in out
    assert "Campaign Summer closed (0 photos approved, from 0 sites)" in out


async def test_a_campaign_for_several_sites_from_the_console(core: Core) -> None:
    end = (core.clock().date() + timedelta(days=7)).isoformat()
    term = Terminal(
        [
            "/as cm1",
            "/relais site add Lyon",
            "/relais site add Nantes",
            "/relais site add Paris",
            "/relais campaign new",
            "Docks",  # title
            "",  # brief
            "",  # start: today
            end,
            "3, Lond",  # Paris by number, and a name that is not in the list
            "3, nan",  # asked again: Paris by number, Nantes by part of its name
            "",  # hashtag
            "y",
            "/relais campaign new",
            "Everyone",
            "",
            "",
            end,
            "",  # no site chosen: every site
            "",
            "y",
            "/relais campaign list",
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "(Every site when none is chosen)\n  1. Lyon\n  2. Nantes\n  3. Paris" in out
    assert "Nothing in the list matches 'Lond'" in out
    assert "Campaign Docks created" in out and "for Nantes, Paris." in out
    assert "Campaign Everyone created" in out and "for every site." in out
    async with core.db.read() as r:
        ws = await r.workspaces.find(Platform.CONSOLE, "console")
        assert ws is not None
        docks = next(c for c in await r.campaigns.all(ws.id) if c.title == "Docks")
        ids = (await r.campaigns.site_ids([docks.id]))[docks.id]
        names = sorted(s.name for s in await r.sites.list(ws.id) if s.id in ids)
    assert names == ["Nantes", "Paris"]
