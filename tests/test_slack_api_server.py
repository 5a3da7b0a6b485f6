"""The local Slack Web API server (tests/slack_api.py), checked with the real slack_sdk clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_api import LOGIN_PAGE, FakeSlack, signed_headers


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


def web_client(slack: FakeSlack, token: str | None = "xoxb-test") -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url)


async def test_post_message_to_user_then_update(slack: FakeSlack) -> None:
    client = web_client(slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]

    posted = await client.chat_postMessage(channel="U123", text="hi", blocks=blocks)
    assert posted["channel"] == "DU123"
    assert posted["message"]["user"] == "UBOT"
    assert posted["message"]["blocks"] == blocks
    second = await client.chat_postMessage(channel="C1", text="other")
    assert float(second["ts"]) > float(posted["ts"])

    updated = await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="edited")
    assert updated["message"]["text"] == "edited"

    history = slack.message_history("DU123", posted["ts"])
    assert [m["text"] for m in history] == ["hi", "edited"]
    assert history[1]["blocks"] == blocks  # omitted blocks are kept, as on Slack
    assert slack.messages[("DU123", posted["ts"])]["text"] == "edited"
    call = slack.calls_to("chat.postMessage")[0]
    assert call.token == "xoxb-test" and call.status == 200
    assert call.params["blocks"] == blocks

    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="DU123", ts="1.000000", text="x")
    assert missing.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as gone:
        await client.chat_postMessage(channel="C-missing", text="x")
    assert gone.value.response["error"] == "channel_not_found"


async def test_form_encoded_json_params_are_decoded(slack: FakeSlack) -> None:
    client = web_client(slack)
    blocks = [{"type": "divider"}]
    await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)}
    )
    call = slack.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == blocks
    assert next(iter(slack.messages.values()))["blocks"] == blocks


async def test_rate_limit_surfaces_as_slack_api_error(slack: FakeSlack) -> None:
    client = web_client(slack)
    slack.fail("chat.postMessage", 429, retry_after=7)

    with pytest.raises(SlackApiError) as error:
        await client.chat_postMessage(channel="C1", text="hi")
    assert error.value.response.status_code == 429
    assert error.value.response.headers["Retry-After"] == "7"
    assert error.value.response["error"] == "ratelimited"
    assert slack.messages == {}

    await client.chat_postMessage(channel="C1", text="hi")  # only once
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


async def test_server_errors_raise(slack: FakeSlack) -> None:
    client = web_client(slack)
    slack.fail(None, 500)
    slack.fail("auth.test", 503)
    with pytest.raises(SlackApiError) as plain:
        await client.auth_test()
    assert plain.value.response.status_code == 500
    with pytest.raises(SlackApiError) as html:
        await client.auth_test()
    assert html.value.response.status_code == 503
    assert (await client.auth_test())["ok"]


async def test_files_upload_v2_round_trip(slack: FakeSlack) -> None:
    client = web_client(slack)
    content = bytes(range(256)) * 40

    result = await client.files_upload_v2(
        content=content, filename="card.png", title="Card", channel="C1", initial_comment="hey"
    )

    file_id = result["file"]["id"]
    assert slack.uploads[file_id] == content
    assert slack.completed_uploads[0]["files"] == [{"id": file_id, "title": "Card"}]
    assert slack.completed_uploads[0]["channel_id"] == "C1"
    assert slack.calls_to("files.completeUploadExternal")[0].params["files"][0]["id"] == file_id
    info = await client.files_info(file=file_id)
    assert info["file"]["size"] == len(content)
    assert info["file"]["mimetype"] == "image/png"


async def test_upload_url_accepts_multipart(slack: FakeSlack) -> None:
    client = web_client(slack)
    url = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    form = aiohttp.FormData()
    form.add_field("file", b"abc", filename="a.txt")
    async with aiohttp.ClientSession() as session, session.post(url["upload_url"], data=form) as r:
        assert r.status == 200
    assert slack.uploads[url["file_id"]] == b"abc"


async def test_file_download_with_and_without_token(slack: FakeSlack) -> None:
    content = b"\xff\xd8" + b"x" * 300_000
    info = slack.add_file("F1", content)
    locked = slack.add_file("F2", b"secret", serve_as="login")
    auth = {"Authorization": "Bearer xoxb-test"}

    async with aiohttp.ClientSession() as session:
        async with session.get(info["url_private_download"], headers=auth) as response:
            assert response.status == 200
            assert response.content_type == "image/jpeg"
            assert await response.read() == content
        async with session.get(info["url_private"]) as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            assert await response.text() == LOGIN_PAGE
        async with session.get(locked["url_private"], headers=auth) as response:
            assert response.content_type == "text/html"

    assert slack.file_downloads == [("F1", "xoxb-test"), ("F1", None), ("F2", "xoxb-test")]
    assert (await web_client(slack).files_info(file="F1"))["file"]["id"] == "F1"


async def test_users_info_with_locale(slack: FakeSlack) -> None:
    client = web_client(slack)
    slack.add_user("U1", name="ada", real_name="Ada Lovelace", tz="Europe/Paris", locale="fr-FR")

    with_locale = await client.users_info(user="U1", include_locale=True)
    assert with_locale["user"]["locale"] == "fr-FR"
    assert with_locale["user"]["profile"]["real_name"] == "Ada Lovelace"
    assert with_locale["user"]["tz_offset"] in (3600, 7200)
    assert "locale" not in (await client.users_info(user="U1"))["user"]
    assert slack.calls_to("users.info")[0].params["include_locale"] == "1"
    with pytest.raises(SlackApiError) as error:
        await client.users_info(user="U404")
    assert error.value.response["error"] == "user_not_found"


async def test_invalid_token(slack: FakeSlack) -> None:
    for token in ("xoxb-wrong", None):
        with pytest.raises(SlackApiError) as error:
            await web_client(slack, token).auth_test()
        assert error.value.response.status_code == 200
        assert error.value.response["error"] == "invalid_auth"
    assert [c.token for c in slack.calls] == ["xoxb-wrong", None]

    slack.add_token("xoxb-other", "T2")
    assert (await web_client(slack, "xoxb-other").auth_test())["team_id"] == "T2"


async def test_fail_share_is_deterministic() -> None:
    async def statuses(seed: int) -> list[int]:
        async with FakeSlack() as slack, aiohttp.ClientSession() as session:
            slack.fail_share(0.5, seed=seed)
            for _ in range(30):
                async with session.post(f"{slack.api_url}auth.test") as response:
                    await response.read()
            slack.fail_share(0)
            async with session.post(f"{slack.api_url}auth.test") as response:
                assert response.status == 200
            return [call.status for call in slack.calls[:-1]]

    first = await statuses(3)
    assert first == await statuses(3)
    assert {429, 500, 200} <= set(first)
    assert first != await statuses(4)


# slack_sdk itself builds the deprecated aiohttp.BasicAuth for oauth.v2.access.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_views_and_conversations(slack: FakeSlack) -> None:
    client = web_client(slack)
    slack.add_oauth_code("code-1", "T9")
    installed = await client.oauth_v2_access(client_id="1.2", client_secret="s", code="code-1")
    assert installed["access_token"] == "xoxb-installed-T9"
    assert installed["team"]["id"] == "T9" and installed["authed_user"] == {"id": "U-installer"}
    assert (await web_client(slack, "xoxb-installed-T9").auth_test())["team_id"] == "T9"
    with pytest.raises(SlackApiError):  # codes are single-use
        await client.oauth_v2_access(client_id="1.2", client_secret="s", code="code-1")

    modal = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    with pytest.raises(SlackApiError) as expired:
        await client.views_open(trigger_id="expired", view=modal)
    assert expired.value.response["error"] == "expired_trigger_id"
    opened = await client.views_open(trigger_id="1.2.3", view=modal)
    view_id = opened["view"]["id"]
    await client.views_update(view_id=view_id, view={**modal, "private_metadata": "x"})
    assert slack.views[view_id]["private_metadata"] == "x"
    await client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert slack.home["U1"]["type"] == "home"

    dm = await client.conversations_open(users=["U5"])
    assert dm["channel"]["id"] == "DU5"
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U5", text="psst")
    assert slack.ephemerals[0]["message_ts"] == ephemeral["message_ts"]


async def test_wait_for_times_out_with_message(slack: FakeSlack) -> None:
    with pytest.raises(AssertionError, match="nothing"):
        await slack.wait_for(lambda: False, timeout=0.05, message="nothing")
    await web_client(slack).auth_test()
    assert (await slack.wait_calls("auth.test"))[0].status == 200


def test_signed_headers_match_slack_test_vector() -> None:
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
        "%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = signed_headers("8f742231b10e8888abcd99yyyzzz85a5", body, timestamp=1531420618)
    assert headers == {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    fresh = signed_headers("secret", '{"type": "url_verification"}')
    assert fresh["Content-Type"] == "application/json"
    assert SignatureVerifier("secret").is_valid(
        body='{"type": "url_verification"}',
        timestamp=fresh["X-Slack-Request-Timestamp"],
        signature=fresh["X-Slack-Signature"],
    )


async def test_socket_mode_round_trip(slack: FakeSlack) -> None:
    client = SocketModeClient(
        app_token="xapp-1-test", web_client=AsyncWebClient(base_url=slack.api_url)
    )
    received: list[SocketModeRequest] = []

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "got it"})
        )

    client.socket_mode_request_listeners.append(listener)
    try:
        await client.connect()
        await slack.wait_socket_connected()
        ack = await slack.socket_send("slash_commands", {"command": "/relais", "text": "hi"})
        assert ack == {"text": "got it"}
        assert received[0].payload["command"] == "/relais"
        assert received[0].accepts_response_payload is True
        assert slack.calls_to("apps.connections.open")[0].token == "xapp-1-test"

        await slack.socket_disconnect()
        await slack.wait_for(lambda: slack.socket_connections == 2)
        event = {"type": "event_callback", "event": {"type": "app_home_opened"}}
        assert await slack.socket_send("events_api", event) == {"text": "got it"}
        assert received[1].accepts_response_payload is False
    finally:
        await client.close()
