"""HTTP routes of the calendar: the feeds (``/calendar/<series>.ics``) and the subscription pages
(``/`` and ``/calendar/<series>``). Server-rendered HTML without JavaScript; everything escaped."""

from __future__ import annotations

import html
import re
from datetime import UTC
from email.utils import parsedate_to_datetime
from weakref import WeakKeyDictionary

from aiohttp import web

from bot.errors import InvalidInput, NotFound, QuorumError
from bot.metrics import FEED_REQUESTS
from bot.rules.member_text import strip_bidi
from bot.rules.parsing import WEEKDAY_NAMES
from bot.rules.time import format_home, render_in_zones
from bot.services import Services
from bot.services.calendar import Feed, Listing, PrivateFeed, SeriesPage, assigned

# Same shape as series slugs; anything else (dots, slashes, encoded separators) never reaches a lookup.
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_ETAG = re.compile(r'\s*(?:W/)?("[^"]*"|\*)\s*(?:,|$)')

FEED_TYPE = "text/calendar; charset=utf-8"
HTML_HEADERS = {"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}
# The rendered listing, for as long as the calendar service keeps serving the same Listing (it builds a
# new one on every change): a repeated GET / costs neither queries nor rendering.
_rendered: WeakKeyDictionary[Listing, bytes] = WeakKeyDictionary()


def escape(text: str) -> str:
    """HTML-escaped member text (titles, names), without direction overrides (bot.rules.member_text)."""
    return html.escape(strip_bidi(text))


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain", charset="utf-8")


def _quorum_error(exc: QuorumError) -> web.Response:
    if isinstance(exc, PrivateFeed):
        return _error(403, exc.message)
    if isinstance(exc, NotFound):
        return _error(404, exc.message)
    return _error(400, exc.message)


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: ``W/"x"`` matches ``"x"``; ``*`` matches anything."""
    for match in _ETAG.finditer(header):
        tag = match.group(1)
        if tag == "*" or tag == etag:
            return True
    return False


def not_modified(request: web.Request, feed: Feed) -> bool:
    """RFC 9110 13.2.2: If-None-Match when present, otherwise If-Modified-Since."""
    none_match = request.headers.get("If-None-Match")
    if none_match is not None:
        return etag_matches(none_match, feed.etag)
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as the RFC says
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return feed.last_modified <= when
    return False


async def calendar_resource(request: web.Request, services: Services) -> web.StreamResponse:
    name = request.match_info["name"]
    is_feed = name.endswith(".ics")
    slug = name[:-4] if is_feed else name
    if not _SLUG.match(slug):
        return _error(404, "There is no such calendar: calendars are named by a series slug such as "
                           "/calendar/community.ics.")
    token = request.query.get("token")
    if not is_feed:
        return await _page(services, slug, token)
    response = await _feed(request, services, slug, token)
    FEED_REQUESTS.labels(status=str(response.status)).inc()
    return response


async def _feed(request: web.Request, services: Services, slug: str, token: str | None) -> web.Response:
    zone = request.query.get("tz")
    try:
        feed = await services.calendar.feed(slug, zone or None, token)
    except QuorumError as exc:
        if isinstance(exc, InvalidInput) and zone is not None:
            # parse_zone's sentence: an abbreviation (tz=PST) is answered with the zone it usually means.
            return _error(400, f"tz= {exc.message}")
        return _quorum_error(exc)
    headers = {
        "ETag": feed.etag,
        "Last-Modified": feed.last_modified_http,
        # A private feed's URL holds its token: keep it out of shared caches.
        "Cache-Control": "private, no-cache" if feed.private else "public, max-age=300",
    }
    if not_modified(request, feed):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = FEED_TYPE
    return web.Response(body=feed.body, headers=headers)


async def index(request: web.Request, services: Services) -> web.Response:
    """``/`` (and ``/?page=N``): the public series, LISTING_PAGE_SIZE a page."""
    try:
        number = int(request.query.get("page", "1"))
    except ValueError:
        return _error(400, "page= is a page number: /?page=2.")
    if number < 1:
        return _error(400, "page= is a page number from 1: /?page=2.")
    listing = await services.calendar.listing(number)
    if listing.number != number:
        return _error(404, f"There is no page {number}: the listing has {listing.count}.")
    body = _rendered.get(listing)
    if body is None:
        body = _render("Meeting calendars", listing.pages, index=True, listing=listing)
        _rendered[listing] = body
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=HTML_HEADERS)


async def _page(services: Services, slug: str, token: str | None) -> web.Response:
    try:
        pages = await services.calendar.page(slug, token)
    except QuorumError as exc:
        return _quorum_error(exc)
    body = _render(f"{pages[0].series.name}: calendar", pages, index=False)
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=HTML_HEADERS)


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d2330;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2.5rem;border-bottom:2px solid #d9dde6;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #d9dde6;padding:.3rem .6rem;text-align:left}
th{background:#f3f5f9}.cancelled{color:#8a1c1c;text-decoration:line-through}.meeting{margin:1rem 0;
padding:.6rem 1rem;background:#f8f9fc;border-left:4px solid #3b6fd8}.muted{color:#5b6474}
a{color:#2456b8}code{font-size:.9em}
"""


def _render(title: str, pages: list[SeriesPage], *, index: bool, listing: Listing | None = None) -> bytes:
    parts = [
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="robots" content="noindex">',
        f"<title>{escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if index and not pages:
        parts.append('<p class="muted">No public meeting series yet.</p>')
    for page in pages:
        parts.extend(_series_section(page, heading=index))
    if listing is not None and listing.count > 1:
        parts.append(_pager(listing))
    parts.append('<p class="muted">Subscribe with a <code>webcal://</code> link to open your calendar app, or copy '
                 "an https link into your calendar's “subscribe from URL”. Every time is computed from the time "
                 "zone database for its date.</p>")
    parts.extend(["</body>", "</html>"])
    return "\n".join(parts).encode()


def _pager(listing: Listing) -> str:
    links = []
    if listing.number > 1:
        links.append(f'<a href="/?page={listing.number - 1}" rel="prev">previous</a>')
    links.append(f"page {listing.number} of {listing.count}")
    if listing.number < listing.count:
        links.append(f'<a href="/?page={listing.number + 1}" rel="next">next</a>')
    return '<p class="pager">' + " · ".join(links) + "</p>"


def _series_section(page: SeriesPage, *, heading: bool) -> list[str]:
    series = page.series
    out: list[str] = []
    if heading:
        out.append(f'<h2><a href="{escape(page.page_url)}">{escape(series.name)}</a> '
                   f'<span class="muted">({escape(series.slug)})</span></h2>')
    if series.standing:
        out.append(f"<p>Every {escape(series.rule.local_time.strftime('%H:%M'))} on "
                   f"{escape(WEEKDAY_NAMES[series.weekday])}s"
                   f", {escape(series.timezone)}.</p>")
    else:
        out.append("<p>One-off meetings.</p>")
    out.append("<h3>Subscribe</h3>")
    out.append('<table class="links"><tr><th>Times written in</th><th>Calendar app</th><th>Feed URL</th></tr>')
    for link in page.links:
        label = f"{link.zone} (home zone)" if link.home else link.zone
        out.append(f'<tr><td>{escape(label)}</td><td><a href="{escape(link.webcal)}">webcal</a></td>'
                   f'<td><a href="{escape(link.https)}">{escape(link.https)}</a></td></tr>')
    out.append("</table>")
    out.append("<h3>Next meetings</h3>")
    if not page.upcoming:
        out.append('<p class="muted">No upcoming meetings.</p>')
    for view in page.upcoming:
        cancelled = view.occurrence.cancelled
        css = "meeting cancelled" if cancelled else "meeting"
        out.append(f'<div class="{css}">')
        status = " (cancelled)" if cancelled else ""
        out.append(f"<strong>{escape(view.title)}</strong>{escape(status)}<br>"
                   f"{escape(format_home(view.starts_at, series.timezone))}")
        zones = render_in_zones(view.starts_at, series.timezone, series.display_zones)[1:]
        if zones:
            out.append("<ul>" + "".join(f"<li>{escape(z.label())}</li>" for z in zones) + "</ul>")
        host = assigned(view, view.occurrence.host)
        notes = assigned(view, view.occurrence.note_taker)
        out.append(f"<p>Host: {escape(host)} · Note-taker: {escape(notes)}</p>")
        if view.agenda:
            out.append("<ol>" + "".join(
                f'<li><a href="{escape(item.link)}" rel="nofollow noopener">{escape(item.title)}</a> '
                f'<span class="muted">(added by {escape(item.author_name)})</span></li>'
                for item in view.agenda) + "</ol>")
        else:
            out.append('<p class="muted">No agenda items yet.</p>')
        out.append("</div>")
    return out
