"""``GET /privacy`` and ``GET /terms``: plain pages, English or French by Accept-Language."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams.package import render_manifest
from bot.core import Core
from bot.i18n import en, fr
from bot.settings import Settings
from relais import legal
from relais.legal import accepted_languages, page_locale
from relais.server import build_app


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    legal.mount(app, retention_days=45)
    async with TestClient(TestServer(app)) as c:
        yield c


class _Text(HTMLParser):
    """The page's visible text and its tags (to check nothing is loaded)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(body: str) -> _Text:
    p = _Text()
    p.feed(body)
    return p


@pytest.mark.parametrize("path", ["/privacy", "/terms"])
async def test_pages_answer_in_english_by_default(client: TestClient, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Content-Language"] == "en"
    assert resp.headers["Vary"] == "Accept-Language"
    assert "script-src" not in resp.headers["Content-Security-Policy"]
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
    body = await resp.text()
    assert body.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in body
    assert 'name="viewport"' in body
    page = parsed(body)
    # Nothing external: no script, image, stylesheet link or frame.
    assert not {"script", "img", "link", "iframe"} & set(page.tags)
    title = "Relais: privacy" if path == "/privacy" else "Relais: terms of use"
    assert f"<h1>{title}</h1>" in body


async def test_privacy_says_what_is_stored_and_the_configured_retention(
    client: TestClient,
) -> None:
    text = " ".join(parsed(await (await client.get("/privacy")).text()).text)
    for words in (
        "user id",
        "display name",
        "charter",
        "metadata are removed",
        "who decided",
        "points",
        "reminders",
        "audit trail",
        "deleted 45 days after the decision or the withdrawal",
        "kept for as long as the programme runs",
        "/relais mydata",
        "/relais forget",
    ):
        assert words in text, words


async def test_french_by_accept_language_with_q_values(client: TestClient) -> None:
    # German is preferred but there is no German: French (0.8) beats English (0.5).
    resp = await client.get("/privacy", headers={"Accept-Language": "de-DE, en;q=0.5, fr-CA;q=0.8"})
    assert resp.headers["Content-Language"] == "fr"
    body = await resp.text()
    assert '<html lang="fr">' in body
    assert "Relais : confidentialité" in body
    assert "supprimées 45 jours après la décision" in body
    # English preferred by its q-value, whatever the order.
    resp = await client.get("/terms", headers={"Accept-Language": "fr;q=0.3, en-GB;q=0.9"})
    assert resp.headers["Content-Language"] == "en"
    # q=0 means "not this one".
    resp = await client.get("/terms", headers={"Accept-Language": "fr;q=0, en;q=0.1"})
    assert resp.headers["Content-Language"] == "en"
    resp = await client.get("/terms", headers={"Accept-Language": "FR"})
    assert resp.headers["Content-Language"] == "fr"
    assert "Relais : conditions d’utilisation" in await resp.text()


async def test_lang_parameter_wins_and_unknown_ones_are_ignored(client: TestClient) -> None:
    resp = await client.get("/privacy?lang=fr", headers={"Accept-Language": "en"})
    assert resp.headers["Content-Language"] == "fr"
    # The link to the other language, and from the terms to the privacy page.
    assert 'href="privacy?lang=en"' in await resp.text()
    resp = await client.get("/terms?lang=xx", headers={"Accept-Language": "fr"})
    assert resp.headers["Content-Language"] == "fr"
    assert 'href="privacy?lang=fr"' in await resp.text()


def test_accept_language_parsing() -> None:
    assert accepted_languages("fr-CH;q=0.4, en;q=0.9, de") == ["de", "en", "fr-CH"]
    assert accepted_languages("*, en;q=bad, fr;q=0.2") == ["fr"]
    assert accepted_languages("") == []
    assert page_locale(None, None) == "en"
    assert page_locale(None, "es, it;q=0.5") == "en"
    assert page_locale(None, "fr-BE") == "fr"


def test_catalogue_text_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(en.MESSAGES, "legal.privacy.why.body", "<script>alert('x')</script> & co")
    body = legal.privacy_page("en", 90)
    assert "<script>" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in body


def test_both_languages_hold_every_paragraph_the_pages_show() -> None:
    keys = {k for _, ps in (*legal.PRIVACY, *legal.TERMS) for k in ps}
    keys |= {h for h, _ in (*legal.PRIVACY, *legal.TERMS) if h}
    for catalogue in (en.MESSAGES, fr.MESSAGES):
        assert keys <= set(catalogue)


def test_the_page_names_data_commands_only_when_they_exist() -> None:
    """The privacy page names ``/relais mydata`` and ``/relais forget`` exactly when those
    actions exist (it said "ask your community manager" before they did)."""
    from bot.actions import TABLE

    words = {str(name) for name in TABLE}
    text = legal.privacy_page("en", 90)
    for command in ("mydata", "forget"):
        assert (command in words) == (f"/relais {command}" in text)


async def test_served_by_relais_serve_where_the_teams_manifest_points(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    teams = settings.model_copy(
        update={
            "microsoft_app_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "microsoft_app_password": "x",
            "public_url": "https://relais.example.com",
            "relais_retention_days": 30,
        }
    )
    manifest = json.loads(render_manifest(teams))
    app = build_app(Core(teams, core.db, clock=core.clock))
    async with TestClient(TestServer(app)) as c:
        for field in ("privacyUrl", "termsOfUseUrl"):
            url = urlsplit(manifest["developer"][field])
            assert f"{url.scheme}://{url.netloc}" == "https://relais.example.com"
            resp = await c.get(url.path, headers={"Accept-Language": "fr"})
            assert resp.status == 200, field
            assert resp.headers["Content-Language"] == "fr"
        body = await (await c.get("/privacy")).text()
        assert re.search(r"deleted 30 days after", body)
