"""The core refuses to create or look up a member without a workspace id and a user id."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.core import Core
from domain import Platform
from storage.models import Member, Workspace


@pytest.mark.parametrize(("workspace", "user"), [("", "U1"), ("T1", ""), ("", "")])
async def test_an_empty_id_is_refused_and_creates_nothing(
    core: Core, workspace: str, user: str
) -> None:
    with pytest.raises(ValueError, match="id"):
        await core.onboarding.identify(Platform.SLACK, workspace, user)
    with pytest.raises(ValueError, match="id"):
        await core.onboarding.find(Platform.SLACK, workspace, user)
    with pytest.raises(ValueError, match="id"):
        await core.onboarding.member(Platform.SLACK, workspace, user)
    async with core.db.read() as r:
        for model in (Workspace, Member):
            assert await r.session.scalar(select(func.count()).select_from(model)) == 0
