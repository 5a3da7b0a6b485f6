"""``GET /library/{token}``: the content library, a page of approved photos and
field news (title, text, link; no photo).

A CM gets the link from ``/relais library`` (``bot.links.LibraryLinks``: workspace, CM,
language, expiry, signed). The page is plain server-rendered HTML in the CM's language:
no script, nothing from elsewhere (the Content-Security-Policy says so), readable on a
phone. Filters (site, campaign, week) are a GET form; 24 submissions a page, newest
first. Each photo is served by ``GET /library/{token}/photo/{media id}`` (the cleaned
copy: no EXIF, no location), ``?download=1`` as an attachment. A tampered link gets a
403 page, an expired one a 410 page, both saying how to get a new link.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from bot.core import Core
from bot.i18n import Translator, format_day, format_when, translator
from bot.links import LibraryPass
from bot.services.stats import local_midnight, week_starts
from relais import legal
from storage.repositories.library import LibraryFilter, LibraryItem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PAGE_SIZE = 24
WEEKS_OFFERED = 12
_EXT = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/webm": "webm",
}

_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:1em;max-width:72em;"
    "color:#222;background:#fff}h1{font-size:1.4em;margin:.2em 0}"
    "form{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;margin:1em 0}"
    "label{display:flex;flex-direction:column;font-size:.85em}select,button{font:inherit;"
    "padding:.3em}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(16em,1fr));"
    "gap:1em}figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:.5em}"
    "img{width:100%;height:auto;border-radius:4px;background:#eee}"
    "h2{font-size:1.1em;margin:.2em 0}"
    ".news{font-size:.8em;font-weight:600;text-transform:uppercase;color:#555}"
    "figcaption p{margin:.3em 0}.meta{font-size:.85em;color:#555}a{color:#0b57d0}"
    "nav.pages{display:flex;justify-content:space-between;margin:1.5em 0}"
    ".use{font-size:.85em;font-weight:600}.ext{color:#1b6e2a}.int{color:#a33}"
)
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The token is in the URL: nothing is kept by a shared cache.
    "Cache-Control": "private, no-store",
}


def mount(app: web.Application, core: Core) -> None:
    """Add the library's two routes to ``app``."""
    app.router.add_get("/library/{token}", _page(core))
    app.router.add_get("/library/{token}/photo/{media_id}", _photo(core))


def _pass(core: Core, request: web.Request) -> LibraryPass | web.Response:
    """The token's pass, or the refusal page (403 tampered, 410 expired)."""
    checked = core.library_links.check(request.match_info["token"])
    if isinstance(checked, LibraryPass):
        return checked
    return _refusal(request, checked)


def _refusal(request: web.Request, reason: str) -> web.Response:
    """403 for a link that is not ours (or names a workspace no longer there), 410 for
    one that expired: a page in the reader's language saying how to get a new link."""
    checked = reason
    locale = legal.page_locale(request.query.get("lang"), request.headers.get("Accept-Language"))
    t = translator(locale)
    key = "library.page.expired" if checked == "expired" else "library.page.invalid"
    body = _document(t, t("library.title"), [f"<p>{html.escape(t(key))}</p>"])
    return web.Response(
        status=410 if checked == "expired" else 403,
        text=body,
        content_type="text/html",
        charset="utf-8",
        headers=HEADERS,
    )


def _page(core: Core) -> Handler:
    async def page(request: web.Request) -> web.StreamResponse:
        granted = _pass(core, request)
        if isinstance(granted, web.Response):
            return granted
        t = translator(granted.locale)
        async with core.db.read() as r:
            if await r.workspaces.get_or_none(granted.workspace_id) is None:
                return _refusal(request, "invalid")
            config = await core.config.load(r, granted.workspace_id)
            tz = config.timezone
            sites, campaigns = await r.library.choices(granted.workspace_id)
            chosen = _filter(request, sites, campaigns, tz, core.clock())
            total = await r.library.count(granted.workspace_id, chosen.filter)
            number = max(1, min(_int(request.query.get("page")) or 1, _pages(total)))
            items = await r.library.page(
                granted.workspace_id,
                chosen.filter,
                limit=PAGE_SIZE,
                offset=(number - 1) * PAGE_SIZE,
            )
        base = request.path
        parts = [
            f"<h1>{html.escape(t('library.page.heading'))}</h1>",
            _filters(t, chosen, sites, campaigns, tz, core.clock()),
            f"<p class=meta>{html.escape(t('library.page.count', count=total))}</p>",
        ]
        if not items:
            parts.append(f"<p>{html.escape(t('library.page.empty'))}</p>")
        parts.append('<div class="grid">')
        parts += [_figure(t, item, base, tz, face_blur=config.face_blur) for item in items]
        parts.append("</div>")
        parts.append(_pager(t, request, number, _pages(total)))
        until = datetime.fromtimestamp(granted.expires, UTC)
        valid = t("library.page.valid_until", at=format_when(until, tz, t))
        parts.append(f"<p class=meta>{html.escape(valid)}</p>")
        body = _document(t, t("library.title"), parts)
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=HEADERS)

    return page


def _photo(core: Core) -> Handler:
    async def photo(request: web.Request) -> web.StreamResponse:
        granted = _pass(core, request)
        if isinstance(granted, web.Response):
            return granted
        media_id = _int(request.match_info["media_id"])
        async with core.db.read() as r:
            found = (
                await r.library.photo(granted.workspace_id, media_id)
                if media_id is not None
                else None
            )
        if found is None:
            raise web.HTTPNotFound(text="No such photo in this library.")
        picture = found.photo
        key, mime, suffix = picture.storage_key, picture.mime, ""
        if request.query.get("poster") and picture.poster_key:
            # A video's poster frame: the picture the page shows for it.
            key, mime = picture.poster_key, "image/jpeg"
        elif request.query.get("copy") == "outside":
            # Only a photo cleared for use outside has a copy for it.
            if not found.external_ok:
                raise web.HTTPNotFound(text="This photo is for use inside the company only.")
            config = await core.config.get(granted.workspace_id)
            if not core.outside.offered(mime, face_blur=config.face_blur):
                raise web.HTTPNotFound(text="Faces cannot be blurred in a video.")
            made = await core.outside.copy(
                key, mime, agreed=found.agreed, face_blur=config.face_blur
            )
            key, mime = made.media_key, made.mime
            suffix = "-blurred" if made.blurred else ""
        path = await asyncio.to_thread(core.store.path, key)
        if not await asyncio.to_thread(path.is_file):
            raise web.HTTPNotFound(text="This photo is no longer stored.")
        headers = {
            "Content-Type": mime,
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        }
        if request.query.get("download"):
            number = f"{found.submission_id}-{found.position + 1}{suffix}"
            name = f"relais-{number}.{_EXT.get(mime, 'jpg')}"
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return web.FileResponse(path, headers=headers)

    return photo


class _Chosen:
    """The filters the page was asked for (unknown values are ignored: "All")."""

    def __init__(
        self, site: int | None, campaign: int | None, week: str, use: str, f: LibraryFilter
    ):
        self.site, self.campaign, self.week, self.use, self.filter = site, campaign, week, use, f


def _filter(
    request: web.Request,
    sites: list[tuple[int, str]],
    campaigns: list[tuple[int, str]],
    tz: str,
    now: datetime,
) -> _Chosen:
    site = _int(request.query.get("site"))
    site = site if site in {i for i, _ in sites} else None
    campaign = _int(request.query.get("campaign"))
    campaign = campaign if campaign in {i for i, _ in campaigns} else None
    week = request.query.get("week", "")
    offered = {d.isoformat(): d for d in week_starts(now, tz, WEEKS_OFFERED)}
    start = end = None
    if week in offered:
        start = local_midnight(offered[week], tz)
        end = local_midnight(offered[week] + timedelta(days=7), tz)
    else:
        week = ""
    use = request.query.get("use", "")
    external = {"external": True, "internal": False}.get(use)
    use = use if external is not None else ""
    return _Chosen(site, campaign, week, use, LibraryFilter(site, campaign, start, end, external))


def _filters(
    t: Translator,
    chosen: _Chosen,
    sites: list[tuple[int, str]],
    campaigns: list[tuple[int, str]],
    tz: str,
    now: datetime,
) -> str:
    e = html.escape
    weeks = [
        (d.isoformat(), t("library.page.week_of", day=format_day(d, t)))
        for d in reversed(week_starts(now, tz, WEEKS_OFFERED))
    ]

    def select(name: str, label: str, options: list[tuple[str, str]], current: str) -> str:
        rows = [f'<option value="">{e(t("library.page.any"))}</option>']
        for value, text in options:
            selected = " selected" if value == current else ""
            rows.append(f'<option value="{e(value)}"{selected}>{e(text)}</option>')
        return f'<label>{e(label)}<select name="{name}">{"".join(rows)}</select></label>'

    return (
        '<form method="get">'
        + select("site", t("library.page.site"), [(str(i), n) for i, n in sites], str(chosen.site))
        + select(
            "campaign",
            t("library.page.campaign"),
            [(str(i), n) for i, n in campaigns],
            str(chosen.campaign),
        )
        + select("week", t("library.page.week"), weeks, chosen.week)
        + select(
            "use",
            t("library.page.use"),
            [
                ("external", t("library.page.use_external")),
                ("internal", t("library.page.use_internal")),
            ],
            chosen.use,
        )
        + f'<button type="submit">{e(t("library.page.filter"))}</button></form>'
    )


def _figure(t: Translator, item: LibraryItem, base: str, tz: str, *, face_blur: bool) -> str:
    e = html.escape
    author = item.author
    if item.author_forgotten:
        author = t("person.forgotten_site", site=item.site) if item.site else t("person.forgotten")
    parts = ["<figure>"]
    for photo in item.photos:
        src = f"{base}/photo/{photo.media_id}"
        # A video shows its poster frame, marked, and plays when opened.
        img = f"{src}?poster=1" if photo.is_video else src
        parts.append(
            f'<a href="{e(src)}"><img src="{e(img)}" width="{photo.width}" '
            f'height="{photo.height}" loading="lazy" alt="{e(_short(item.caption) or author)}"></a>'
        )
        if photo.is_video:
            parts.append(f"<p class=video>{e(t('library.page.video'))}</p>")
    news = not item.photos and item.title is not None
    if news:
        parts.append(f"<p class=news>{e(t('library.page.news'))}</p>")
    if item.title:
        parts.append(f"<h2>{e(item.title)}</h2>")
    meta = [t("library.page.credit_news" if news else "library.page.credit", author=author)]
    if item.site:
        meta.append(item.site)
    if item.campaign:
        meta.append(item.campaign)
    meta.append(t("library.page.approved_on", day=format_day(item.decided_at, t, tz)))
    use = "library.page.use_external" if item.external_ok else "library.page.use_internal"
    parts.append("<figcaption>")
    if item.caption:
        parts.append(f"<p>{e(item.caption)}</p>")
    if item.link:
        # Stored only as an http(s) URL (bot.services.submissions.check_link), escaped as
        # an attribute and as text; no referrer leaves with it (Referrer-Policy above).
        parts.append(
            f'<p><a href="{e(item.link)}" rel="noopener noreferrer nofollow">{e(item.link)}</a></p>'
        )
    parts.append(f"<p class=meta>#{item.submission_id} · {' · '.join(e(m) for m in meta)}</p>")
    parts.append(f"<p class=meta>{e(_consent_line(t, item))}</p>")
    parts.append(f'<p class="use {"ext" if item.external_ok else "int"}">{e(t(use))}</p>')
    many = len(item.photos) > 1
    for i, p in enumerate(item.photos):
        number = f" {i + 1}" if many else ""
        links = [
            f'<a href="{e(base)}/photo/{p.media_id}?download=1">'
            f"{e(t('library.page.download'))}{number}</a>"
        ]
        if item.external_ok and (not p.is_video or not face_blur):
            label = (
                "library.page.download_outside_blur"
                if face_blur
                else "library.page.download_outside"
            )
            links.append(
                f'<a href="{e(base)}/photo/{p.media_id}?download=1&amp;copy=outside">'
                f"{e(t(label))}{number}</a>"
            )
        parts.append(f"<p>{' · '.join(links)}</p>")
    parts.append("</figcaption></figure>")
    return "".join(parts)


def _consent_line(t: Translator, item: LibraryItem) -> str:
    """Who appears, and where their consents stand."""
    if not item.photos and item.title is not None:
        return t("library.page.appears_news")
    if item.appears == "nobody":
        return t("library.page.appears_nobody")
    if item.appears == "colleagues":
        return t("library.page.appears_colleagues", agreed=item.agreed, count=item.named)
    if item.appears == "outside":
        return t("library.page.appears_outside")
    return t("library.page.appears_unknown")


def _pager(t: Translator, request: web.Request, number: int, pages: int) -> str:
    e = html.escape

    def href(n: int) -> str:
        query = {k: v for k, v in request.query.items() if k != "page"}
        query["page"] = str(n)
        return f"{request.path}?{urlencode(query)}"

    newer = older = "<span></span>"
    if number > 1:
        newer = f'<a href="{e(href(number - 1))}">{e(t("library.page.newer"))}</a>'
    if number < pages:
        older = f'<a href="{e(href(number + 1))}">{e(t("library.page.older"))}</a>'
    return f'<nav class="pages">{newer}<span>{number} / {pages}</span>{older}</nav>'


def _document(t: Translator, title: str, parts: list[str]) -> str:
    e = html.escape
    return "".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{e(t.locale)}"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="robots" content="noindex">',
            f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
            *parts,
            "</body></html>",
        ]
    )


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value.strip() else None
    except ValueError:
        return None


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
