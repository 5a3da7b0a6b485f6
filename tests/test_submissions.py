"""Submissions: create, validation, duplicates, idempotent retries, withdraw, resubmit."""

from __future__ import annotations

import asyncio

import pytest

from bot.core import Core
from bot.errors import (
    AlreadyDecided,
    DuplicatePhoto,
    InvalidInput,
    InvalidTransition,
    NotAllowed,
)
from bot.outbox import Dispatcher
from bot.ports import Target
from bot.ui import Context, Image, Message, Paragraph
from domain import MemberView, ReviewAction, Status, SubmissionView
from storage.db import Database
from tests.conftest import REVIEW_CHANNEL
from tests.support import FakeClock, RecordingPort, ambassador, member, photo, stored, text_of

REVIEW_BUTTONS = ["review.approve", "review.reject", "review.changes", "review.escalate"]


async def submit(
    core: Core, who: MemberView, caption: str = "New line in Lyon", color: int = 1, **kw
) -> SubmissionView:
    pic = await photo(core, (color * 20 % 256, 90, 150))
    return await core.submissions.create(who, photos=[pic], caption=caption, **kw)


async def count_submissions(core: Core, author: MemberView) -> int:
    async with core.db.transaction() as r:
        return len(await r.submissions.by_author(author.id, limit=100))


def actions(message: Message) -> list[str]:
    return [b.action for b in message.buttons()]


async def test_create_with_two_photos(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb = await ambassador(core, "amb", "Ana")
    first, second = await photo(core, (10, 200, 10)), await photo(core, (10, 10, 200))
    sub = await core.submissions.create(amb, photos=[first, second], caption="  Open day  ")
    assert sub.status is Status.PENDING and sub.revision == 1
    assert sub.caption == "Open day"
    assert sub.media_keys == (first.storage_key, second.storage_key)
    assert (sub.author.id, sub.site_name) == (amb.id, "Lyon")

    assert await dispatcher.drain() == 2
    [card] = port.in_channel(REVIEW_CHANNEL)
    assert card.text == f"Submission #{sub.id} from Ana"
    assert [b.media_key for b in card.blocks if isinstance(b, Image)] == list(sub.media_keys)
    assert Paragraph("Open day") in card.blocks
    assert actions(card) == REVIEW_BUTTONS
    [receipt] = port.dms_to("amb")
    assert receipt.text == f"Thanks! Your submission #{sub.id} arrived and is waiting for review."
    assert [(b.action, b.value) for b in receipt.buttons()] == [
        ("submission.withdraw", str(sub.id))
    ]
    assert len(port.posts) == 2 and port.updates == []
    async with core.db.transaction() as r:
        [event] = await r.reviews.for_submission(sub.id)
        assert (event.actor_id, event.action, event.from_status, event.to_status) == (
            amb.id,
            ReviewAction.SUBMITTED.value,
            None,
            Status.PENDING.value,
        )


async def test_no_photo_and_no_title_is_refused(core: Core) -> None:
    # Without a photo it is field news, which needs a title (tests/test_news.py).
    amb = await ambassador(core, "amb")
    with pytest.raises(InvalidInput) as err:
        await core.submissions.create(amb, photos=[], caption="nothing to see")
    assert (err.value.field, err.value.key) == ("title", "error.news_title_required")
    assert await count_submissions(core, amb) == 0


async def test_caption_too_long_is_refused(core: Core) -> None:
    amb = await ambassador(core, "amb")
    with pytest.raises(InvalidInput) as err:
        await submit(core, amb, caption="x" * 2001)
    assert (err.value.field, err.value.params) == ("caption", {"max": 2000, "length": 2001})
    assert (await submit(core, amb, caption="x" * 2000)).caption == "x" * 2000, "limit included"


async def test_same_photo_twice_by_the_same_person(core: Core) -> None:
    amb, other = await ambassador(core, "amb"), await ambassador(core, "other")
    first = await submit(core, amb, "first time")
    with pytest.raises(DuplicatePhoto) as err:
        await submit(core, amb, "second time")
    assert err.value.params == {"id": first.id}
    assert await count_submissions(core, amb) == 1
    theirs = await submit(core, other, "same photo, other person")
    assert theirs.status is Status.PENDING and theirs.id != first.id


async def test_same_client_key_is_one_submission(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb = await ambassador(core, "amb")
    first = await submit(core, amb, client_key="slack:view:V1")
    again = await submit(core, amb, client_key="slack:view:V1")
    assert again.id == first.id and again.status is Status.PENDING
    assert await count_submissions(core, amb) == 1
    await dispatcher.drain()
    assert len(port.in_channel(REVIEW_CHANNEL)) == 1
    assert len(port.dms_to("amb")) == 1


async def test_withdraw_while_pending_updates_the_card(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb = await ambassador(core, "amb")
    sub = await submit(core, amb)
    await dispatcher.drain()
    done = await core.submissions.withdraw(amb, sub.id)
    assert done.status is Status.WITHDRAWN
    assert await dispatcher.drain() == 1
    [update] = port.updates
    # The card and the receipt are sent concurrently: find the card by where it went.
    [card] = [p for p in port.posts if p.target == Target("channel", REVIEW_CHANNEL)]
    assert update.ref == card.ref
    assert update.message.buttons() == []
    assert "Withdrawn before a decision" in text_of(update.message)
    assert len(port.posts) == 2, "no new post: the card, the receipt"
    async with core.db.transaction() as r:
        events = await r.reviews.for_submission(sub.id)
        assert [(e.action, e.from_status, e.to_status) for e in events][-1] == (
            "withdrawn",
            "pending",
            "withdrawn",
        )


async def test_withdraw_by_someone_else_is_refused(core: Core) -> None:
    amb, other = await ambassador(core, "amb"), await ambassador(core, "other")
    cm = await member(core, "cm1")
    sub = await submit(core, amb)
    for who in (other, cm):
        with pytest.raises(NotAllowed) as err:
            await core.submissions.withdraw(who, sub.id)
        assert err.value.key == "error.not_author"
    assert (await stored(core, sub.id)).status is Status.PENDING


async def test_withdraw_after_approval_is_already_decided(core: Core) -> None:
    amb = await ambassador(core, "amb")
    cm = await member(core, "cm1", "Carla")
    sub = await submit(core, amb)
    await core.review.approve(cm, sub.id)
    with pytest.raises(AlreadyDecided) as err:
        await core.submissions.withdraw(amb, sub.id)
    assert err.value.params["by"] == "Carla"
    assert err.value.params["status"] is Status.APPROVED
    assert (await stored(core, sub.id)).status is Status.APPROVED


async def test_resubmit_after_changes_requested(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb = await ambassador(core, "amb")
    cm = await member(core, "cm1", "Carla")
    sub = await submit(core, amb, "blurry")
    await dispatcher.drain()
    await core.review.request_changes(cm, sub.id, "Sharper photo please")
    await dispatcher.drain()
    assert len(port.updates) == 1, "the card shows the request"
    new_photo = await photo(core, (1, 2, 3))
    again = await core.submissions.resubmit(amb, sub.id, caption="sharp", photos=[new_photo])
    assert (again.id, again.status, again.revision) == (sub.id, Status.PENDING, 2)
    assert again.caption == "sharp" and again.media_keys == (new_photo.storage_key,)
    assert (again.decided_by_name, again.decision_reason) == (None, None)
    await dispatcher.drain()

    old_card, new_card = port.in_channel(REVIEW_CHANNEL)
    assert Paragraph("blurry") in old_card.blocks
    assert actions(new_card) == REVIEW_BUTTONS
    assert Paragraph("sharp") in new_card.blocks
    assert any(isinstance(b, Context) and "version 2" in b.text for b in new_card.blocks)
    superseded = port.updates[-1]
    assert len(port.updates) == 2 and superseded.ref == port.posts[0].ref
    assert superseded.message.buttons() == []
    assert f"the author sent a new version of #{sub.id}" in superseded.message.text
    receipts = [m for m in port.dms_to("amb") if m.text.startswith("Thanks!")]
    assert len(receipts) == 2
    async with core.db.transaction() as r:
        events = await r.reviews.for_submission(sub.id)
        assert [e.action for e in events] == ["submitted", "changes_requested", "resubmitted"]


async def test_resubmit_while_pending_is_an_invalid_transition(core: Core) -> None:
    amb = await ambassador(core, "amb")
    sub = await submit(core, amb, "fine")
    with pytest.raises(InvalidTransition) as err:
        await core.submissions.resubmit(amb, sub.id, caption="changed")
    assert err.value.params == {"status": Status.PENDING}
    view = await stored(core, sub.id)
    assert (view.caption, view.revision, view.status) == ("fine", 1, Status.PENDING)


async def test_user_markup_is_kept_byte_for_byte(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    caption = "<!channel> <@U123> <https://x|y> *bold*"
    amb = await ambassador(core, "amb")
    sub = await submit(core, amb, caption)
    assert sub.caption == caption
    async with core.db.transaction() as r:
        row = await r.submissions.get(sub.id)
        assert row is not None and row.caption == caption
    await dispatcher.drain()
    [card] = port.in_channel(REVIEW_CHANNEL)
    assert [b.text for b in card.blocks if isinstance(b, Paragraph)] == [caption]
    assert Message.from_json(card.to_json()) == card
    receipt = port.dms_to("amb")[0]
    assert Message.from_json(receipt.to_json()) == receipt


async def without_review_channel(
    core: Core, db: Database, clock: FakeClock
) -> tuple[Core, MemberView, MemberView]:
    """A core with no review channel, an English CM, a French CM and an ambassador."""
    direct = Core(core.settings.model_copy(update={"relais_review_channel": ""}), db, clock=clock)
    cm1 = await member(direct, "cm1", "Carla")
    await member(direct, "cm2", "Chloé", locale="fr")
    return direct, cm1, await ambassador(direct, "amb", "Ana")


async def test_cards_go_to_each_cm_without_a_review_channel(
    core: Core, db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    direct, cm1, amb = await without_review_channel(core, db, clock)
    sub = await submit(direct, amb, "no channel")
    assert await dispatcher.drain() == 3
    assert port.in_channel(REVIEW_CHANNEL) == []
    [to_cm1], [to_cm2] = port.dms_to("cm1"), port.dms_to("cm2")
    assert to_cm1.text == f"Submission #{sub.id} from Ana"
    assert to_cm2.text == f"Contribution n° {sub.id}, envoyée par Ana", "in cm2's language"
    assert actions(to_cm1) == actions(to_cm2) == REVIEW_BUTTONS
    assert len(port.dms_to("amb")) == 1

    await direct.review.approve(cm1, sub.id)
    await dispatcher.drain()
    assert sorted(u.ref["channel"] for u in port.updates if u.ref) == ["cm1", "cm2"]
    # Approved: only the Thank button is left.
    assert all([b.action for b in u.message.buttons()] == ["review.thank"] for u in port.updates)


async def test_superseded_dm_card_is_in_the_cms_language(
    core: Core, db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    direct, cm1, amb = await without_review_channel(core, db, clock)
    sub = await submit(direct, amb, "v1")
    await dispatcher.drain()
    await direct.review.request_changes(cm1, sub.id, "again")
    await dispatcher.drain()
    await direct.submissions.resubmit(amb, sub.id, caption="v2")
    await dispatcher.drain()
    by_user = {u.ref["channel"]: u.message.text for u in port.updates[2:] if u.ref}
    assert by_user["cm1"].startswith("This card is out of date")
    assert by_user["cm2"].startswith("Cette carte n’est plus à jour"), by_user


async def test_concurrent_retries_of_one_client_key_give_one_submission(core: Core) -> None:
    """A platform retry that arrives while the first request is still running."""
    amb = await ambassador(core, "amb")
    first_db, second_db = Database(core.db.url), Database(core.db.url)
    a = Core(core.settings, first_db, clock=core.clock)
    b = Core(core.settings, second_db, clock=core.clock)
    try:
        for n in range(3):
            pic = await photo(core, (n * 40, 200, 30))
            key = f"teams:activity:{n}"
            results = await asyncio.gather(
                a.submissions.create(amb, photos=[pic], caption="retry", client_key=key),
                b.submissions.create(amb, photos=[pic], caption="retry", client_key=key),
                return_exceptions=True,
            )
            assert [type(x) for x in results] == [SubmissionView, SubmissionView], results
            assert results[0].id == results[1].id  # type: ignore[union-attr]
    finally:
        await first_db.dispose()
        await second_db.dispose()
    assert await count_submissions(core, amb) == 3
