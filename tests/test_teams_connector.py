"""The local Bot Framework Connector (tests/teams_connector.py), checked with the real SDK.

A minimal botbuilder 4.17 bot (``CloudAdapter`` + ``ConfigurationBotFrameworkAuthentication``
pointed at the fake, an ``ActivityHandler`` that echoes) is hosted on aiohttp at
``/api/messages``; the fake posts Teams activities to it with channel JWTs and records what
the bot sends back through the Connector API with its AAD token.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from botbuilder.core import ActivityHandler, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from botframework.connector.aio import ConnectorClient
from msrest.exceptions import DeserializationError, HttpOperationError

from tests.teams_connector import BOT_FRAMEWORK_ISSUER, ERROR_CODES, FakeConnector

APP_ID = "app-123"
DONE_CARD = {
    "type": "AdaptiveCard",
    "version": "1.4",
    "body": [{"type": "TextBlock", "text": "Thanks!"}],
}


class EchoBot(ActivityHandler):
    """Echoes text, acknowledges card submits and downloads attachments with its token."""

    def __init__(self) -> None:
        self.references: list[ConversationReference] = []
        self.invokes: list[dict[str, Any]] = []
        self.downloads: list[tuple[str, int, bytes]] = []
        self.channels: list[list[tuple[str, str | None]]] = []
        self.members: list[dict[str, Any]] = []

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        self.references.append(TurnContext.get_conversation_reference(activity))
        for attachment in activity.attachments or []:
            await self._download(turn_context, attachment.content_url)
        if activity.value is not None:
            await turn_context.send_activity(f"submitted: {json.dumps(activity.value)}")
        elif activity.text == "who am i":
            member = await TeamsInfo.get_member(turn_context, activity.from_property.id)
            self.members.append(member.serialize())
            await turn_context.send_activity(f"you are {member.name} ({member.email})")
        else:
            await turn_context.send_activity(MessageFactory.text(f"echo: {activity.text}"))

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        channels = await TeamsInfo.get_team_channels(turn_context)
        self.channels.append([(c.id, c.name) for c in channels])
        await turn_context.send_activity("hello team")

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        # Not on_adaptive_card_invoke: ActivityHandler serializes its answer to a dict and
        # CloudAdapter.process serializes the body again, which fails on a dict (500). An
        # InvokeResponse whose body is still a msrest Model goes through.
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        self.invokes.append(turn_context.activity.value)
        return InvokeResponse(
            status=200,
            body=AdaptiveCardInvokeResponse(
                status_code=200, type="application/vnd.microsoft.card.adaptive", value=DONE_CARD
            ),
        )

    async def _download(self, turn_context: TurnContext, url: str | None) -> None:
        """Fetch an attachment with the bot's Connector token, as Teams requires."""
        if not url:
            return
        connector: ConnectorClient = turn_context.turn_state[
            turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY
        ]
        credentials = connector.config.credentials
        headers = {}
        if credentials.microsoft_app_id:
            # MSAL is synchronous (and may call AAD): keep it off the event loop.
            token = await asyncio.to_thread(credentials.get_access_token)
            headers["Authorization"] = f"Bearer {token}"
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
            self.downloads.append((url, r.status, await r.read()))


class DefaultInvokeBot(ActivityHandler):
    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        return AdaptiveCardInvokeResponse(status_code=200, type="x", value=DONE_CARD)


@dataclass
class BotHost:
    url: str
    adapter: CloudAdapter
    bot: EchoBot = field(repr=False)


@asynccontextmanager
async def serve_bot(config: Any, bot: Any = None) -> AsyncIterator[BotHost]:
    """Host the bot (an EchoBot) on 127.0.0.1 (ephemeral port) at ``/api/messages``."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    bot = bot or EchoBot()

    async def messages(request: web.Request) -> web.Response:
        response = await adapter.process(request, bot)
        return response or web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield BotHost(f"http://127.0.0.1:{runner.addresses[0][1]}", adapter, bot)
    finally:
        await runner.cleanup()


@pytest.fixture
async def bf() -> AsyncIterator[FakeConnector]:
    async with FakeConnector(app_id=APP_ID) as server:
        yield server


@pytest.fixture
async def host(bf: FakeConnector) -> AsyncIterator[BotHost]:
    async with serve_bot(bf.sdk_config()) as bot_host:
        yield bot_host


def alice_reference(bf: FakeConnector) -> ConversationReference:
    """A stored reference to Alice's 1:1 chat, as a bot would keep it for proactive sends."""
    bf.add_user("29:alice", "Alice Martin", "aad-alice")
    return ConversationReference(
        channel_id="msteams",
        service_url=bf.url,
        conversation=ConversationAccount(
            id=bf.personal_conversation_id("29:alice"),
            conversation_type="personal",
            tenant_id="tenant-1",
        ),
        bot=ChannelAccount(id=f"28:{APP_ID}", name="Relais"),
        user=ChannelAccount(id="29:alice", name="Alice Martin", aad_object_id="aad-alice"),
    )


# --------------------------------------------------------------------------- inbound auth


async def test_personal_message_is_echoed_with_the_bots_token(
    bf: FakeConnector, host: BotHost
) -> None:
    activity = bf.personal_message("hello", locale="fr-FR")

    result = await bf.post_activity(host.url, activity, bf.channel_token(APP_ID, bf.url))

    assert result.status == 201, result.text  # CloudAdapter answers 201 to non-invoke activities
    [echo] = await bf.wait_sent(1)
    assert echo["text"] == "echo: hello"
    assert echo["type"] == "message"
    assert echo["conversation"]["id"] == activity["conversation"]["id"] == "a:29:alice"
    assert echo["replyToId"] == activity["id"]
    assert echo["from"]["id"] == f"28:{APP_ID}" and echo["recipient"]["id"] == "29:alice"
    assert echo["locale"] == "fr-FR" and echo["serviceUrl"] == bf.url

    [call] = bf.calls
    assert call.method == "POST"
    assert call.path == f"/v3/conversations/a:29:alice/activities/{activity['id']}"
    assert call.status == 201 and call.response == {"id": echo["id"]}
    assert call.auth == f"Bearer {bf.bot_token}" and call.bot_app_id == APP_ID

    [grant] = bf.token_requests
    assert grant["grant_type"] == "client_credentials"
    assert (grant["client_id"], grant["client_secret"]) == (APP_ID, "secret")
    assert grant["scope"] == "https://api.botframework.com/.default"
    claims = bf.decode_bot_token(bf.bot_token or "")
    assert claims["aud"] == "https://api.botframework.com" and claims["appid"] == APP_ID

    # The bot validated the channel token against the fake's OpenID metadata and JWKS.
    assert "/v1/.well-known/openidconfiguration" in bf.metadata_requests
    assert "/v1/.well-known/keys" in bf.metadata_requests
    reference = host.bot.references[0]
    assert reference.service_url == bf.url and reference.conversation.id == "a:29:alice"
    assert reference.user.aad_object_id == "aad-alice"
    # SDK quirk: ConversationAccount maps tenant_id to "tenantID", Teams sends "tenantId";
    # the tenant must be read from channelData.tenant.id.
    assert reference.conversation.tenant_id is None
    assert activity["conversation"]["tenantId"] == activity["channelData"]["tenant"]["id"]


def test_channel_token_claims(bf: FakeConnector) -> None:
    token = bf.channel_token(APP_ID, bf.url)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == BOT_FRAMEWORK_ISSUER == "https://api.botframework.com"
    assert claims["aud"] == APP_ID and claims["serviceurl"] == bf.url
    assert claims["nbf"] < claims["exp"]
    assert "ver" not in claims  # with "ver" and aud != appid the SDK would see a skill token


@pytest.mark.parametrize(
    "kind", ["wrong_audience", "wrong_issuer", "wrong_service_url", "no_service_url"]
)
async def test_bad_channel_tokens_are_refused_with_401(
    bf: FakeConnector, host: BotHost, kind: Any
) -> None:
    result = await bf.post_activity(host.url, bf.personal_message("hello"), bf.bad_token(kind))

    assert result.status == 401
    assert bf.calls == [] and bf.sent == [] and bf.token_requests == []


@pytest.mark.parametrize("kind", [None, "expired", "not_yet_valid", "wrong_signature"])
async def test_some_auth_failures_escape_cloud_adapter_as_500(
    bf: FakeConnector, host: BotHost, kind: Any
) -> None:
    """CloudAdapter.process only maps PermissionError to 401. PyJWT's errors (expired, not
    yet valid, bad signature) escape it, and so does an AttributeError for a request without
    Authorization header under the parameterized auth these URL overrides select (it tests
    ``auth_header is None`` but gets ""; the default public-cloud auth answers 401 there).
    A bare aiohttp route thus answers 500: the Teams endpoint must map these to 401."""
    token = None if kind is None else bf.bad_token(kind)

    result = await bf.post_activity(host.url, bf.personal_message("hello"), token)

    assert result.status == 500
    assert bf.calls == [] and bf.sent == []


async def test_default_public_cloud_auth_answers_401_without_header(bf: FakeConnector) -> None:
    """Without URL overrides (production settings) a missing header is a PermissionError.

    (Rejected before any key lookup, so login.botframework.com is not contacted.)"""
    config = SimpleNamespace(APP_ID=APP_ID, APP_PASSWORD="secret", APP_TYPE="MultiTenant")
    async with serve_bot(config) as bot_host:
        result = await bf.post_activity(bot_host.url, bf.personal_message("x"), None)
    assert result.status == 401


async def test_auth_failures_mapped_to_401_by_the_route(bf: FakeConnector, host: BotHost) -> None:
    async def messages(request: web.Request) -> web.Response:
        if not request.headers.get("Authorization"):  # an app id is configured
            raise web.HTTPUnauthorized()
        try:
            response = await host.adapter.process(request, host.bot)
        except jwt.PyJWTError:
            raise web.HTTPUnauthorized() from None
        return response or web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/messages"
        expired = await bf.post_activity(url, bf.personal_message("x"), bf.bad_token("expired"))
        missing = await bf.post_activity(url, bf.personal_message("x"), None)
        fine = await bf.post_activity(url, bf.personal_message("y"), bf.channel_token())
    finally:
        await runner.cleanup()
    assert (expired.status, missing.status, fine.status) == (401, 401, 201)
    assert [a["text"] for a in bf.sent] == ["echo: y"]


async def test_emulator_style_token_is_accepted(bf: FakeConnector, host: BotHost) -> None:
    result = await bf.post_activity(host.url, bf.personal_message("hi"), bf.emulator_token())

    assert result.status == 201
    assert "/common/discovery/v2.0/keys" in bf.metadata_requests
    assert [a["text"] for a in await bf.wait_sent(1)] == ["echo: hi"]


async def test_wrong_app_password_fails_the_turn_with_401(bf: FakeConnector) -> None:
    async with serve_bot(bf.sdk_config(app_password="not-the-secret")) as bot_host:
        result = await bf.post_activity(bot_host.url, bf.personal_message("hi"), bf.channel_token())

    # MSAL gets AADSTS7000215; the SDK raises PermissionError, which process() maps to 401.
    assert result.status == 401
    assert [r["client_secret"] for r in bf.token_requests] == ["not-the-secret"]
    assert bf.calls == []


# --------------------------------------------------------------------------- outbound calls


async def test_proactive_message_with_stored_reference(bf: FakeConnector, host: BotHost) -> None:
    reference = alice_reference(bf)
    sent_ids: list[str] = []

    async def send(turn_context: TurnContext) -> None:
        response = await turn_context.send_activity("reminder: post your photo")
        sent_ids.append(response.id)

    await host.adapter.continue_conversation(reference, send, bot_app_id=APP_ID)

    [message] = bf.sent
    assert message["text"] == "reminder: post your photo" and message["id"] == sent_ids[0]
    assert message["conversation"]["id"] == "a:29:alice"
    [call] = bf.calls
    # The continuation activity has a random id, so the SDK uses the *reply* endpoint.
    assert call.path.startswith("/v3/conversations/a:29:alice/activities/")
    assert call.path.rsplit("/", 1)[1] == message["replyToId"]
    assert call.auth == f"Bearer {bf.bot_token}"


async def test_proactive_1to1_conversation_then_update(bf: FakeConnector, host: BotHost) -> None:
    bf.add_user("29:bob", "Bob Stone", "aad-bob")
    params = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id=f"28:{APP_ID}"),
        members=[ChannelAccount(id="29:bob")],
        tenant_id="tenant-1",
        channel_data={"tenant": {"id": "tenant-1"}},
    )
    conversation_ids: list[str] = []

    async def greet(turn_context: TurnContext) -> None:
        conversation_ids.append(turn_context.activity.conversation.id)
        first = await turn_context.send_activity("draft")
        edited = MessageFactory.text("final")
        edited.id = first.id
        edited.conversation = turn_context.activity.conversation
        await turn_context.update_activity(edited)

    await host.adapter.create_conversation(
        APP_ID, greet, params, channel_id="msteams", service_url=bf.url
    )

    assert conversation_ids == ["a:new-29:bob"]
    [created] = bf.calls_to("/v3/conversations", "POST")[:1]
    assert created.path == "/v3/conversations" and created.body["members"] == [{"id": "29:bob"}]
    [message] = bf.sent_to("a:new-29:bob")
    assert [v["text"] for v in bf.history(message["id"])] == ["draft", "final"]
    assert bf.calls[-1].method == "PUT" and bf.calls[-1].status == 200


@pytest.mark.parametrize("status", [429, 412, 403, 404, 500, 502, 503, 504])
async def test_connector_errors_surface_as_error_response_exception(
    bf: FakeConnector, host: BotHost, status: int
) -> None:
    bf.fail("/activities", status, retry_after=7 if status in (429, 503) else None)

    async def send(turn_context: TurnContext) -> None:
        await turn_context.send_activity("hello")

    with pytest.raises(ErrorResponseException) as caught:
        await host.adapter.continue_conversation(alice_reference(bf), send, bot_app_id=APP_ID)

    error = caught.value
    assert isinstance(error, HttpOperationError)
    assert error.response.status_code == status  # a requests.Response
    if status in (429, 503):
        assert error.response.headers["Retry-After"] == "7"
    assert error.error.error.code == ERROR_CODES[status][0]  # ErrorResponse.error: Error
    assert str(error) == f"({error.error.error.code}) {error.error.error.message}"
    assert len(bf.calls) == 1  # POSTs are never retried by msrest's urllib3 Retry
    assert bf.sent == []


async def test_gateway_html_page_raises_deserialization_error(
    bf: FakeConnector, host: BotHost
) -> None:
    bf.fail("/activities", 502, html=True)

    async def send(turn_context: TurnContext) -> None:
        await turn_context.send_activity("hello")

    # msrest deserializes every response body first: text/html fails before the status
    # check, so the status code is lost.
    with pytest.raises(DeserializationError, match="text/html"):
        await host.adapter.continue_conversation(alice_reference(bf), send, bot_app_id=APP_ID)
    assert [c.status for c in bf.calls] == [502]


async def test_put_and_get_are_retried_by_urllib3_unless_disabled(
    bf: FakeConnector, host: BotHost
) -> None:
    """msrest's urllib3 Retry (3 retries, backoff 0 s, 1.6 s, 3.2 s) resends PUT/GET/DELETE
    on 408/5xx (not 501/505) and on 429/503 with Retry-After (sleeping that long), in an
    executor thread. Exhausted 5xx retries raise ClientRequestError (no status). Setting
    ``retries = 0`` and ``raise_on_status = False`` on the turn's ConnectorClient makes
    every failure an ErrorResponseException with the status, for the outbox to decide."""
    failures: list[tuple[int, str | None]] = []

    async def send_then_edit(turn_context: TurnContext) -> None:
        first = await turn_context.send_activity("v1")
        connector: ConnectorClient = turn_context.turn_state[host.adapter.BOT_CONNECTOR_CLIENT_KEY]
        for text, status in (("v2", 502), ("v3", 429), ("v4", 503)):
            if text == "v4":
                connector.config.retry_policy.retries = 0
                connector.config.retry_policy.policy.raise_on_status = False
            bf.fail("/activities/", status, method="PUT", retry_after=0)
            edit = MessageFactory.text(text)
            edit.id = first.id
            edit.conversation = turn_context.activity.conversation
            try:
                await turn_context.update_activity(edit)
            except ErrorResponseException as exc:
                failures.append((exc.response.status_code, exc.response.headers["Retry-After"]))

    await host.adapter.continue_conversation(alice_reference(bf), send_then_edit, APP_ID)

    assert [(c.method, c.status) for c in bf.calls] == [
        ("POST", 201),
        ("PUT", 502),
        ("PUT", 200),  # retried at once, transparently
        ("PUT", 429),
        ("PUT", 200),  # Retry-After: 0 honoured, retried
        ("PUT", 503),  # retries disabled: surfaces
    ]
    assert failures == [(503, "0")]
    assert [v["text"] for v in bf.history(bf.sent[0]["id"])] == ["v1", "v2", "v3"]


# --------------------------------------------------------------------------- Teams specifics


async def test_bot_added_to_team_lists_channels(bf: FakeConnector, host: BotHost) -> None:
    team = "19:team-42@thread.tacv2"
    activity = bf.conversation_update_bot_added_to_team(
        team, {team: None, "19:photos@thread.tacv2": "Photos"}
    )
    assert activity["channelData"]["eventType"] == "teamMemberAdded"
    assert activity["membersAdded"] == [{"id": f"28:{APP_ID}"}]

    result = await bf.post_activity(host.url, activity, bf.channel_token())

    assert result.status == 201
    assert host.bot.channels == [[(team, None), ("19:photos@thread.tacv2", "Photos")]]
    # Not a reply: for a conversationUpdate the SDK posts to the conversation.
    assert [c.path for c in bf.calls] == [
        f"/v3/teams/{team}/conversations",
        f"/v3/conversations/{team}/activities",
    ]
    assert bf.sent[0]["text"] == "hello team"
    assert all(c.auth == f"Bearer {bf.bot_token}" for c in bf.calls)


async def test_channel_message_and_member_lookup(bf: FakeConnector, host: BotHost) -> None:
    bf.add_user("29:alice", "Alice Martin", "aad-alice", email="alice@contoso.com")
    channel_post = bf.channel_message("who am i")
    assert channel_post["text"] == "<at>Relais</at> who am i"
    assert channel_post["conversation"]["id"].endswith(f";messageid={channel_post['id']}")

    # ActivityHandler does not strip the mention: post the 1:1 form for the member lookup.
    result = await bf.post_activity(host.url, bf.personal_message("who am i"), bf.channel_token())

    assert result.status == 201
    assert host.bot.members[0]["email"] == "alice@contoso.com"
    assert host.bot.members[0]["aadObjectId"] == "aad-alice"
    assert bf.sent[0]["text"] == "you are Alice Martin (alice@contoso.com)"
    assert bf.calls[0].path == "/v3/conversations/a:29:alice/members/29:alice"


async def test_adaptive_card_action_and_submit(bf: FakeConnector, host: BotHost) -> None:
    invoke = bf.invoke_adaptive_card_action("approve", {"submission": 7}, reply_to_id="123")
    assert invoke["value"] == {
        "action": {"type": "Action.Execute", "verb": "approve", "data": {"submission": 7}},
        "trigger": "manual",
    }

    answered = await bf.post_activity(host.url, invoke, bf.channel_token())

    assert answered.status == 200
    assert answered.json() == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.card.adaptive",
        "value": DONE_CARD,
    }
    assert host.bot.invokes[0]["action"]["verb"] == "approve"

    submitted = await bf.post_activity(
        host.url, bf.message_submit({"choice": "yes"}), bf.channel_token()
    )
    assert submitted.status == 201
    assert [a["text"] for a in bf.sent] == ['submitted: {"choice": "yes"}']


async def test_on_adaptive_card_invoke_answer_breaks_cloud_adapter(bf: FakeConnector) -> None:
    """botbuilder 4.17.1 bug: the model returned by on_adaptive_card_invoke is serialized
    twice (ActivityHandler, then CloudAdapter.process), and the second time fails."""
    async with serve_bot(bf.sdk_config(), DefaultInvokeBot()) as bot_host:
        invoke = bf.invoke_adaptive_card_action("approve", {"submission": 7})
        answered = await bf.post_activity(bot_host.url, invoke, bf.channel_token())
    assert answered.status == 500


async def test_attachments_are_downloaded_with_the_bots_token(
    bf: FakeConnector, host: BotHost
) -> None:
    bf.add_file("img-1", b"\xff\xd8jpeg", "image/jpeg")
    bf.add_file("doc-1", b"\xff\xd8shared", "image/jpeg", require_auth=False)
    attachments = [
        bf.image_attachment("img-1"),
        bf.html_attachment("look", ["img-1"]),
        bf.file_attachment("doc-1", "x.jpg"),
    ]
    activity = bf.personal_message("photo", attachments=attachments)
    assert attachments[2]["content"]["fileType"] == "jpg"

    result = await bf.post_activity(host.url, activity, bf.channel_token())

    assert result.status == 201
    # The html attachment has no contentUrl; the file's contentUrl serves without a token too.
    assert [(s, body) for _, s, body in host.bot.downloads] == [
        (200, b"\xff\xd8jpeg"),
        (200, b"\xff\xd8shared"),
    ]
    assert [d.file_id for d in bf.downloads] == ["img-1", "doc-1"]
    assert bf.downloads[0].token == bf.bot_token

    async with aiohttp.ClientSession() as session:
        async with session.get(bf.file_url("img-1")) as anonymous:
            assert anonymous.status == 401
        headers = {"Authorization": f"Bearer {bf.channel_token()}"}
        async with session.get(bf.file_url("img-1"), headers=headers) as forged:
            assert forged.status == 401  # a channel token is not a bot (AAD) token
    assert [d.status for d in bf.downloads[2:]] == [401, 401]


# --------------------------------------------------------------------------- no app id


async def test_unauthenticated_mode_without_tokens() -> None:
    async with (
        FakeConnector(require_bot_token=False) as bf,
        serve_bot(bf.sdk_config(auth=False)) as bot_host,
    ):
        result = await bf.post_activity(bot_host.url, bf.personal_message("local"), None)

        assert result.status == 201
        assert [a["text"] for a in await bf.wait_sent(1)] == ["echo: local"]
        assert bf.calls[0].auth is None and bf.token_requests == []


async def test_no_app_id_needs_the_default_auth_not_the_url_overrides() -> None:
    """With any URL override the SDK's parameterized auth checks ``auth_header is None``,
    but CloudAdapter passes "" for a missing header: without app id it then fails (500)."""
    async with FakeConnector(require_bot_token=False) as bf:
        config = bf.sdk_config(app_id="", app_password="")
        async with serve_bot(config) as bot_host:
            result = await bf.post_activity(bot_host.url, bf.personal_message("x"), None)
    assert result.status == 500
    assert bf.calls == []


# --------------------------------------------------------------------------- the fake itself


async def test_rest_api_strictness_and_random_failures(bf: FakeConnector) -> None:
    reference = alice_reference(bf)
    async with aiohttp.ClientSession() as session:

        async def post(path: str, body: dict[str, Any]) -> int:
            headers = {"Authorization": f"Bearer {bf.channel_token()}"}
            async with session.post(bf.url + path, json=body, headers=headers) as r:
                return r.status

        # Only tokens issued by the fake's AAD endpoint are accepted by the Connector.
        assert await post("v3/conversations/a:29:alice/activities", {"type": "message"}) == 401

    async def send(turn_context: TurnContext) -> None:
        await turn_context.send_activity("x")

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(bf.sdk_config()))
    unknown = ConversationReference(
        channel_id="msteams",
        service_url=bf.url,
        conversation=ConversationAccount(id="a:unknown"),
        bot=reference.bot,
        user=reference.user,
    )
    with pytest.raises(ErrorResponseException) as missing:
        await adapter.continue_conversation(unknown, send, bot_app_id=APP_ID)
    assert missing.value.error.error.code == "ConversationNotFound"

    bf.fail_share(0.5, statuses=(429,), seed=3)
    outcomes = []
    for _ in range(6):
        try:
            await adapter.continue_conversation(reference, send, bot_app_id=APP_ID)
            outcomes.append(201)
        except ErrorResponseException as exc:
            outcomes.append(exc.response.status_code)
    assert set(outcomes) == {201, 429}
    assert outcomes == [c.status for c in bf.calls[2:]]

    bf.fail_share(0.5, statuses=(429,), seed=3)  # the same seed replays the same draws
    replay = [bf._take_fault("POST", "/v3/conversations/x/activities") for _ in range(6)]
    bf.fail_share(0)
    assert [o == 429 for o in outcomes] == [fault is not None for fault in replay]


async def test_ca_bundle_env_is_set_while_running_and_restored() -> None:
    before = os.environ.get("REQUESTS_CA_BUNDLE")
    async with FakeConnector() as outer:
        assert os.environ["REQUESTS_CA_BUNDLE"] == str(outer.ca_bundle)
        async with FakeConnector() as inner:
            assert os.environ["REQUESTS_CA_BUNDLE"] == str(inner.ca_bundle)
            assert inner.login_url.startswith("https://127.0.0.1:")
            assert inner.login_url.endswith("/dstsv2/botframework.com")
        assert os.environ["REQUESTS_CA_BUNDLE"] == str(outer.ca_bundle)
    assert os.environ.get("REQUESTS_CA_BUNDLE") == before
