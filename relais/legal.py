"""``GET /privacy`` and ``GET /terms``: plain pages in English or French.

The Teams manifest points at both (``privacyUrl``, ``termsOfUseUrl``). The language
comes from ``?lang=`` when it names a catalogue, else from ``Accept-Language`` (its
q-values honoured, Babel's ``negotiate_locale``), else English. Every string comes from
the i18n catalogues (``legal.*``) and is HTML-escaped; the page loads nothing (inline
CSS, no script) and says so in its Content-Security-Policy.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from babel.core import negotiate_locale

from bot.i18n import CATALOGUES, DEFAULT_LOCALE, Translator, translator

Handler = Callable[[web.Request], Awaitable[web.Response]]

# (heading key or None, paragraph keys) per section; the keys are in bot/i18n/*.py.
PRIVACY: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (None, ("legal.privacy.intro",)),
    (
        "legal.privacy.stores.heading",
        (
            "legal.privacy.stores.profile",
            "legal.privacy.stores.charter",
            "legal.privacy.stores.submissions",
            "legal.privacy.stores.reviews",
            "legal.privacy.stores.points",
            "legal.privacy.stores.nudges",
            "legal.privacy.stores.audit",
            "legal.privacy.stores.not",
        ),
    ),
    ("legal.privacy.why.heading", ("legal.privacy.why.body",)),
    (
        "legal.privacy.how_long.heading",
        (
            "legal.privacy.how_long.rejected",
            "legal.privacy.how_long.replaced",
            "legal.privacy.how_long.approved",
            "legal.privacy.how_long.rest",
        ),
    ),
    ("legal.privacy.rights.heading", ("legal.privacy.rights.body",)),
)
TERMS: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (
        None,
        (
            "legal.terms.intro",
            "legal.terms.charter",
            "legal.terms.review",
            "legal.terms.reuse",
            "legal.terms.leave",
        ),
    ),
)

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:0 auto;padding:1em;"
    "color:#222;background:#fff}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.5em}"
    "a{color:#0b57d0}nav{font-size:.9em;text-align:right}"
)
# Nothing is loaded: no script, no image, no font; only the inline style above.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors *",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept-Language",
    "Cache-Control": "public, max-age=3600",
}


def accepted_languages(header: str) -> list[str]:
    """The language tags of an ``Accept-Language`` header, most wanted first (``q=0``
    and malformed entries dropped; equal q-values keep the header's order)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranked.append((-q, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def page_locale(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` when it names a catalogue, else the best of ``Accept-Language``, else
    English."""
    available = list(CATALOGUES)
    if query_lang and query_lang.lower() in CATALOGUES:
        return query_lang.lower()
    preferred = accepted_languages(accept_language or "")
    found = negotiate_locale(preferred, available, sep="-")
    return found.lower() if found and found.lower() in CATALOGUES else DEFAULT_LOCALE


def render(
    t: Translator,
    title_key: str,
    sections: Sequence[tuple[str | None, Sequence[str]]],
    *,
    retention_days: int,
    path: str,
    footer: str = "",
) -> str:
    """The page as HTML: every catalogue string escaped, nothing else dynamic."""
    e = html.escape
    other = next(code for code in CATALOGUES if code != t.locale)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(t.locale)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(t(title_key))}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f'<nav><a href="{e(path)}?lang={e(other)}" hreflang="{e(other)}" lang="{e(other)}">'
        f"{e(t('legal.language_link'))}</a></nav>",
        f"<h1>{e(t(title_key))}</h1>",
    ]
    for heading, paragraphs in sections:
        if heading:
            parts.append(f"<h2>{e(t(heading))}</h2>")
        for key in paragraphs:
            parts.append(f"<p>{e(t(key, count=retention_days))}</p>")
    if footer:
        parts.append(footer)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def privacy_page(locale: str, retention_days: int) -> str:
    """The privacy page in ``locale``, with the configured retention."""
    t = translator(locale)
    return render(t, "legal.privacy.title", PRIVACY, retention_days=retention_days, path="privacy")


def terms_page(locale: str, retention_days: int) -> str:
    """The terms of use in ``locale``, ending with a link to the privacy page."""
    t = translator(locale)
    e = html.escape
    footer = (
        f"<p>{e(t('legal.terms.privacy'))} "
        f'<a href="privacy?lang={e(t.locale)}">{e(t("legal.terms.privacy_link"))}</a></p>'
    )
    return render(
        t,
        "legal.terms.title",
        TERMS,
        retention_days=retention_days,
        path="terms",
        footer=footer,
    )


def mount(app: web.Application, retention_days: int) -> None:
    """Add ``GET /privacy`` and ``GET /terms`` to ``app``."""

    def handler(build: Callable[[str, int], str]) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            locale = page_locale(request.query.get("lang"), request.headers.get("Accept-Language"))
            return web.Response(
                text=build(locale, retention_days),
                content_type="text/html",
                charset="utf-8",
                headers={**HEADERS, "Content-Language": locale},
            )

        return handle

    app.router.add_get("/privacy", handler(privacy_page))
    app.router.add_get("/terms", handler(terms_page))
