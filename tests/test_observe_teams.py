"""``GET /metrics`` and the log context for Teams activities, over HTTP (the local Bot
Connector signs them as the Bot Framework channel does)."""

from __future__ import annotations

import io

import httpx

from tests.test_observe import log_lines, parse, value
from tests.test_teams import TeamsRig, bf, rig

__all__ = ["bf", "log_lines", "rig"]  # fixtures


async def scrape(rig: TeamsRig) -> dict:
    async with httpx.AsyncClient(base_url=rig.url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return parse(response.text)


async def test_teams_activities_are_counted_and_timed(rig: TeamsRig) -> None:
    before = await scrape(rig)
    answered = await rig.send(rig.bf.personal_message("help"))
    assert answered.status in (200, 201)
    refused = await rig.send(rig.bf.personal_message("help"), token=None)
    assert refused.status == 401
    after = await scrape(rig)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    status = str(answered.status)
    assert grew("relais_requests_total", platform="teams", kind="message", status=status) == 1
    assert grew("relais_requests_total", platform="teams", kind="message", status="401") == 1
    assert grew("relais_ack_seconds_count", platform="teams", kind="message") == 2


async def test_teams_log_lines_carry_the_activity_and_tenant(
    rig: TeamsRig, log_lines: io.StringIO
) -> None:
    activity = rig.bf.personal_message("help")
    await rig.send(activity)
    text = log_lines.getvalue()
    assert f'"request_id": "{activity["id"]}"' in text
    assert f'"workspace": "{activity["channelData"]["tenant"]["id"]}"' in text
