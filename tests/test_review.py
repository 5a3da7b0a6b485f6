"""Review: decisions, roles, refused transitions, the audit trail and the two-CM race."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.actions import handle_action
from bot.core import Core
from bot.errors import AlreadyDecided, InvalidInput, InvalidTransition, NotAllowed
from bot.outbox import Dispatcher
from bot.ui import Message
from domain import MemberView, Status, SubmissionView
from storage.db import Database
from tests.conftest import REVIEW_CHANNEL
from tests.support import FakeClock, RecordingPort, ambassador, member, photo, stored, text_of


async def people(core: Core) -> tuple[MemberView, MemberView, MemberView, MemberView]:
    """Ana the ambassador, Carla (cm1) and Chris (cm2) the CMs, Bea (boss) the approver."""
    return (
        await ambassador(core, "amb", "Ana"),
        await member(core, "cm1", "Carla"),
        await member(core, "cm2", "Chris"),
        await member(core, "boss", "Bea"),
    )


async def submit(
    core: Core, who: MemberView, color: int = 1, *, sensitive: bool = False
) -> SubmissionView:
    pic = await photo(core, (color * 20 % 256, 90, 150))
    return await core.submissions.create(
        who, photos=[pic], caption=f"caption {color}", sensitive=sensitive
    )


async def audit(
    core: Core, submission_id: int
) -> list[tuple[int | None, str, str | None, str, str | None]]:
    async with core.db.transaction() as r:
        return [
            (e.actor_id, e.action, e.from_status, e.to_status, e.reason)
            for e in await r.reviews.for_submission(submission_id)
        ]


def outcomes(port: RecordingPort, user: str) -> list[Message]:
    """DMs to ``user`` other than submission receipts and badges."""
    return [
        m
        for m in port.dms_to(user)
        if not m.text.startswith(("Thanks! Your submission", "New badge:"))
    ]


@asynccontextmanager
async def two_cores(core: Core) -> AsyncIterator[tuple[Core, Core]]:
    """Two Cores on two Database instances: two connection pools, like two replicas."""
    first, second = Database(core.db.url), Database(core.db.url)
    try:
        yield (
            Core(core.settings, first, clock=core.clock),
            Core(core.settings, second, clock=core.clock),
        )
    finally:
        await first.dispose()
        await second.dispose()


async def test_approve_credits_points_and_tells_the_author(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb, carla, _, _ = await people(core)
    sub = await submit(core, amb)
    await dispatcher.drain()
    done = await core.review.approve(carla, sub.id)
    assert (done.status, done.decided_by_name) == (Status.APPROVED, "Carla")
    # Her first approved submission: the approval's points and the first one's bonus.
    settings = core.settings
    assert settings.relais_points_per_approval + settings.relais_points_first == 30
    assert (await core.onboarding.profile(amb)).points == 30
    await dispatcher.drain()
    [dm] = outcomes(port, "amb")
    assert dm.text == f"Good news: your submission #{sub.id} was approved by Carla. Thank you!"
    assert "Points earned: +30" in text_of(dm)
    assert port.dms_to("amb")[-1].text == "New badge: First approved photo"
    [update] = port.updates
    # The decision buttons are gone; what is left is the Thank button (recognition).
    assert update.ref == port.posts[0].ref
    assert [b.action for b in update.message.buttons()] == ["review.thank"]
    assert "Approved by Carla on Nov 20, 2026 at 10:00\u202fAM" in text_of(update.message)
    assert await audit(core, sub.id) == [
        (amb.id, "submitted", None, "pending", None),
        (carla.id, "approved", "pending", "approved", None),
    ]


async def test_reject_needs_a_reason_the_author_reads(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb, carla, _, _ = await people(core)
    sub = await submit(core, amb)
    for empty in ("", "   \n"):
        with pytest.raises(InvalidInput) as err:
            await core.review.reject(carla, sub.id, empty)
        assert (err.value.field, err.value.key) == ("reason", "error.reason_required")
    assert (await stored(core, sub.id)).status is Status.PENDING
    done = await core.review.reject(carla, sub.id, "  Faces without consent  ")
    assert (done.status, done.decision_reason) == (Status.REJECTED, "Faces without consent")
    assert (await core.onboarding.profile(amb)).points == 0
    await dispatcher.drain()
    [dm] = outcomes(port, "amb")
    assert dm.text.startswith(f"Your submission #{sub.id} was not accepted by Carla.")
    assert "Reviewer's note: Faces without consent" in text_of(dm)


async def test_request_changes_sends_the_comment_and_a_resubmit_button(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb, carla, _, _ = await people(core)
    sub = await submit(core, amb)
    done = await core.review.request_changes(carla, sub.id, "Crop the badge")
    assert (done.status, done.decision_reason) == (Status.CHANGES_REQUESTED, "Crop the badge")
    await dispatcher.drain()
    [dm] = outcomes(port, "amb")
    assert dm.text.startswith("Carla asked for changes to your submission")
    assert "Reviewer's note: Crop the badge" in text_of(dm)
    assert [(b.action, b.value) for b in dm.buttons()] == [
        ("submission.resubmit_form", str(sub.id))
    ]


async def test_escalate_then_the_approver_decides(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb, carla, _, bea = await people(core)
    sub = await submit(core, amb)
    await dispatcher.drain()  # the card is out before anyone acts on it
    done = await core.review.escalate(carla, sub.id, "Shows the CEO")
    assert done.status is Status.ESCALATED
    await dispatcher.drain()
    [card] = port.dms_to("boss")
    assert "Carla passed submission" in text_of(card)
    assert [b.action for b in card.buttons()] == ["review.approve", "review.reject"]
    channel_update = port.updates[-1]
    assert [b.action for b in channel_update.message.buttons()] == [
        "review.approve",
        "review.reject",
    ]
    assert "Escalated by Carla" in text_of(channel_update.message)

    final = await core.review.approve(bea, sub.id)
    assert (final.status, final.decided_by_name) == (Status.APPROVED, "Bea")
    before = len(port.updates)
    await dispatcher.drain()
    new_updates = port.updates[before:]
    channel_ref = port.posts[0].ref
    boss_ref = next(s.ref for s in port.posts if s.message == card)
    assert sorted(u.ref["channel"] for u in new_updates if u.ref) == sorted(
        [REVIEW_CHANNEL, "boss"]
    )
    assert {u.ref["ts"] for u in new_updates if u.ref} == {channel_ref["ts"], boss_ref["ts"]}
    for u in new_updates:
        assert [b.action for b in u.message.buttons()] == ["review.thank"]
        assert "Approved by Bea" in text_of(u.message)
    assert outcomes(port, "amb")[-1].text.endswith("was approved by Bea. Thank you!")


async def test_only_an_approver_decides_escalated_or_approves_sensitive(core: Core) -> None:
    amb, carla, _, bea = await people(core)
    escalated = await submit(core, amb, 1)
    await core.review.escalate(carla, escalated.id)
    with pytest.raises(NotAllowed) as err:
        await core.review.approve(carla, escalated.id)
    assert err.value.key == "error.sensitive_needs_approver"
    with pytest.raises(NotAllowed):
        await core.review.reject(carla, escalated.id, "no")
    assert (await stored(core, escalated.id)).status is Status.ESCALATED

    sensitive = await submit(core, amb, 2, sensitive=True)
    with pytest.raises(NotAllowed) as err:
        await core.review.approve(carla, sensitive.id)
    assert err.value.key == "error.sensitive_needs_approver"
    assert (await stored(core, sensitive.id)).status is Status.PENDING
    assert (await core.review.reject(carla, sensitive.id, "too risky")).status is Status.REJECTED

    other = await submit(core, amb, 3, sensitive=True)
    assert (await core.review.approve(bea, other.id)).status is Status.APPROVED


async def test_an_ambassador_cannot_review(core: Core) -> None:
    amb, *_ = await people(core)
    peer = await ambassador(core, "peer", "Pat")
    sub = await submit(core, amb)
    for act in (
        core.review.approve(peer, sub.id),
        core.review.reject(peer, sub.id, "meh"),
        core.review.escalate(peer, sub.id),
        core.review.approve(amb, sub.id),
    ):
        with pytest.raises(NotAllowed) as err:
            await act
        assert err.value.key == "error.reviewers_only"
    assert (await stored(core, sub.id)).status is Status.PENDING
    assert len(await audit(core, sub.id)) == 1
    assert (await core.onboarding.profile(amb)).points == 0


async def test_deciding_twice_says_who_decided_first(core: Core, clock: FakeClock) -> None:
    amb, carla, chris, _ = await people(core)
    sub = await submit(core, amb)
    await core.review.approve(carla, sub.id)
    clock.advance(minutes=5)
    for act in (core.review.approve(chris, sub.id), core.review.reject(carla, sub.id, "oops")):
        with pytest.raises(AlreadyDecided) as err:
            await act
        assert err.value.params["by"] == "Carla"
        assert err.value.params["status"] is Status.APPROVED
    assert len(await audit(core, sub.id)) == 2
    assert (await core.onboarding.profile(amb)).points == 10 + 20, "credited once (+ first)"


async def test_request_changes_on_escalated_is_invalid(core: Core) -> None:
    amb, carla, _, bea = await people(core)
    sub = await submit(core, amb)
    await core.review.escalate(carla, sub.id)
    for who in (carla, bea):
        with pytest.raises(InvalidTransition) as err:
            await core.review.request_changes(who, sub.id, "change it")
        assert err.value.params == {"status": Status.ESCALATED}
    with pytest.raises(InvalidTransition):
        await core.review.escalate(carla, sub.id)


async def test_every_action_is_audited_in_order(core: Core) -> None:
    amb, carla, chris, bea = await people(core)
    sub = await submit(core, amb)
    await core.review.request_changes(carla, sub.id, "brighter")
    await core.submissions.resubmit(amb, sub.id, caption="brighter now")
    await core.review.escalate(chris, sub.id, "logo of a client")
    await core.review.reject(bea, sub.id, "client said no")
    assert await audit(core, sub.id) == [
        (amb.id, "submitted", None, "pending", None),
        (carla.id, "changes_requested", "pending", "changes_requested", "brighter"),
        (amb.id, "resubmitted", "changes_requested", "pending", None),
        (chris.id, "escalated", "pending", "escalated", "logo of a client"),
        (bea.id, "rejected", "escalated", "rejected", "client said no"),
    ]


async def test_the_audit_table_refuses_update(core: Core) -> None:
    amb, carla, _, _ = await people(core)
    sub = await submit(core, amb)
    await core.review.reject(carla, sub.id, "original reason")
    with pytest.raises(DBAPIError) as err:
        async with core.db.session() as session:
            await session.execute(text("UPDATE review_events SET reason='x'"))
            await session.commit()
    assert "append-only" in str(err.value)
    assert [e[4] for e in await audit(core, sub.id)] == [None, "original reason"]


async def race_once(
    core: Core,
    cores: tuple[Core, Core],
    port: RecordingPort,
    dispatcher: Dispatcher,
    cast: tuple[MemberView, MemberView, MemberView],
    n: int,
) -> SubmissionView:
    """One submission, two CMs on two connections: Carla approves while Chris rejects."""
    amb, carla, chris = cast
    sub = await submit(core, amb, n + 10)
    calls = [cores[0].review.approve(carla, sub.id), cores[1].review.reject(chris, sub.id, "no")]
    if n % 2:
        calls.reverse()
    results = await asyncio.gather(*calls, return_exceptions=True)
    won = [x for x in results if isinstance(x, SubmissionView)]
    lost = [x for x in results if isinstance(x, AlreadyDecided)]
    assert len(won) == 1 and len(lost) == 1, results
    winner = won[0]
    winner_id = {"Carla": carla.id, "Chris": chris.id}[winner.decided_by_name or "?"]
    assert lost[0].params["by"] == winner.decided_by_name
    assert lost[0].params["status"] is winner.status
    assert (await stored(core, sub.id)).status is winner.status
    decisions = [e for e in await audit(core, sub.id) if e[1] != "submitted"]
    reason = None if winner.status is Status.APPROVED else "no"
    to = winner.status.value
    assert decisions == [(winner_id, to, "pending", to, reason)], "exactly one decision row"
    before = len(outcomes(port, "amb"))
    await dispatcher.drain()
    new = outcomes(port, "amb")[before:]
    assert len(new) == 1 and winner.decided_by_name in new[0].text
    return winner


async def test_two_cms_decide_at_once_exactly_one_wins(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb, carla, chris, _ = await people(core)
    async with two_cores(core) as cores:
        winners = [
            await race_once(core, cores, port, dispatcher, (amb, carla, chris), n) for n in range(5)
        ]
    approved = sum(w.status is Status.APPROVED for w in winners)
    first_bonus = 20 if approved else 0
    assert (await core.onboarding.profile(amb)).points == 10 * approved + first_bonus


async def test_the_loser_of_a_button_race_is_told_who_won(core: Core) -> None:
    amb, carla, chris, _ = await people(core)
    sub = await submit(core, amb)
    async with two_cores(core) as (a, b):
        replies = await asyncio.gather(
            handle_action(a, carla, "review.approve", str(sub.id)),
            handle_action(b, chris, "review.reject", str(sub.id), {"reason": "blurry"}),
        )
    final = await stored(core, sub.id)
    winner, loser = ("Carla", "Chris") if final.status is Status.APPROVED else ("Chris", "Carla")
    texts = [r.message.text for r in replies if r.message is not None]
    assert len(texts) == 2
    [lost] = [t for t in texts if t.startswith("Already handled")]
    assert f"Already handled: {winner} set this to" in lost and loser not in lost
    [ok] = [t for t in texts if not t.startswith("Already handled")]
    assert ok.startswith(f"Submission #{sub.id} from Ana")
    assert final.decided_by_name == winner
    assert [r.form for r in replies] == [None, None]


async def test_a_stale_card_cannot_approve_a_revision_nobody_saw(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb, carla, chris, _ = await people(core)
    sub = await submit(core, amb)
    await dispatcher.drain()
    [old_approve] = [b for b in port.posts[0].message.buttons() if b.action == "review.approve"]
    await core.review.request_changes(carla, sub.id, "remove the badge")
    await core.submissions.resubmit(amb, sub.id, caption="now with a competitor's logo")
    reply = await handle_action(core, chris, old_approve.action, old_approve.value)
    assert (await stored(core, sub.id)).status is Status.PENDING, reply
