"""Cards as people read them: dates in their language, plurals, no empty lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot import cards
from bot.i18n import translator
from bot.services.digest import Digest
from domain import MemberView, Platform, Role, Status, SubmissionView
from tests.support import text_of

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Paris
PARIS = "Europe/Paris"


def view(**changes: object) -> SubmissionView:
    author = MemberView(
        id=1,
        workspace_id=1,
        platform=Platform.CONSOLE,
        external_id="amb",
        display_name="Ana",
        locale="fr",
        timezone=None,
        site_id=None,
        roles=frozenset({Role.AMBASSADOR}),
    )
    sub = SubmissionView(
        id=7,
        workspace_id=1,
        author=author,
        caption="Inauguration",
        status=Status.PENDING,
        site_name="Lyon",
        campaign_title=None,
        people_consented=True,
        sensitive=False,
        media_keys=(),
        created_at=AT,
        decided_by_name=None,
        decided_at=None,
        decision_reason=None,
        revision=1,
    )
    return replace(sub, **changes)  # type: ignore[arg-type]


def test_dates_are_written_in_the_readers_language_and_timezone() -> None:
    assert cards.when(AT, PARIS, "fr") == "30 nov. 2026 à 10:00"
    assert cards.when(AT, PARIS, translator("fr")) == "30 nov. 2026 à 10:00"
    assert cards.when(AT, "America/New_York", "en") == "Nov 30, 2026 at 4:00\u202fAM"
    assert cards.day(date(2026, 11, 30), translator("fr")) == "30 nov. 2026"
    assert cards.day(date(2026, 11, 30), "en") == "Nov 30, 2026"
    approved = view(status=Status.APPROVED, decided_by_name="Carla", decided_at=AT)
    line = cards.decision_line(translator("fr"), approved, PARIS)
    assert line == "Approuvée par Carla le 30 nov. 2026 à 10:00"
    card = text_of(cards.review_card(translator("en"), approved, PARIS))
    assert "Approved by Carla on Nov 30, 2026 at 10:00\u202fAM" in card
    assert "2026-11-30" not in card


def test_an_escalated_card_without_a_note_has_no_note_line() -> None:
    escalated = view(status=Status.ESCALATED, decided_by_name="Carla", decided_at=AT)
    for locale in ("en", "fr"):
        text = text_of(cards.review_card(translator(locale), escalated, PARIS))
        assert "None" not in text and "Note" not in text and "Non précisé" not in text
        assert "Commentaire" not in text
    with_note = replace(escalated, decision_reason="Shows the CEO")
    text = text_of(cards.review_card(translator("en"), with_note, PARIS))
    assert "Escalated by Carla, waiting for an approver." in text
    assert "Reviewer's note: Shows the CEO" in text


def test_no_campaign_line_without_a_campaign() -> None:
    t = translator("fr")
    fields = cards.review_card(t, view(), PARIS).blocks
    pairs = [pair for block in fields for pair in getattr(block, "pairs", ())]
    assert ("Site", "Lyon") in pairs
    assert all(label != "Campagne" for label, _ in pairs), "no « Campagne : Non précisé »"
    in_campaign = cards.review_card(t, view(campaign_title="Portes ouvertes"), PARIS).blocks
    pairs = [pair for block in in_campaign for pair in getattr(block, "pairs", ())]
    assert ("Campagne", "Portes ouvertes") in pairs


def test_the_digest_counts_with_plural_rules() -> None:
    def digest(approved: int) -> Digest:
        return Digest(
            workspace_id=1,
            start=datetime(2026, 11, 20, 15, tzinfo=UTC),
            end=AT,
            approved=approved,
            highlights=(),
            contributors=(),
            sites=(),
            newcomers=(),
            milestones=(),
            campaign=None,
        )

    fr = translator("fr")
    assert "1 photo approuvée cette semaine" in text_of(cards.digest_message(fr, digest(1), PARIS))
    assert "2 photos approuvées cette semaine" in text_of(
        cards.digest_message(fr, digest(2), PARIS)
    )
    en = translator("en")
    assert "1 photo approved this week" in text_of(cards.digest_message(en, digest(1), PARIS))
    title = cards.digest_message(fr, digest(1), PARIS).text
    assert title.endswith("(du 20 nov. 2026 au 30 nov. 2026)")
