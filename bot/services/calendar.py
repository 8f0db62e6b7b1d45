"""Calendar feeds and the subscription page's data: which meetings a feed holds, what each event says,
a cache of rendered feeds and of the listing of public series, and private-feed tokens.

A feed holds the meetings of a rolling window (8 weeks back, 52 weeks ahead), one VEVENT each. The
window moves once a day (it is anchored at midnight UTC), so a feed's bytes, and its ETag, stay the
same all day unless the series changes."""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.errors import InvalidInput, NotFound, QuorumError
from bot.rules.ical import (
    CalendarEvent,
    FeedLink,
    feed_links,
    page_url,
    render_feed,
    uid_domain,
    uid_for,
)
from bot.rules.parsing import parse_zone
from bot.rules.time import format_home, render_in_zones
from bot.services.meetings import MeetingService, require_chair
from bot.services.views import MeetingView, SeriesInfo
from storage.db import AsyncSession, Database
from storage.queries import calendar as calendar_q
from storage.queries import meetings as meetings_q

WINDOW_BACK = timedelta(weeks=8)
WINDOW_AHEAD = timedelta(weeks=52)
# How long a cached feed is served without asking the database whether the series changed. Changes made
# in this process invalidate at once (listener); this bounds staleness for changes made by other replicas.
REVALIDATE_AFTER = timedelta(seconds=5)
CACHE_SIZE = 512
MAX_ZONE_LENGTH = 64
# The listing at ``/`` shows this many series a page, so building one page costs the same with 10 or
# 10,000 communities. Cached listing pages: a crawler walking every page cannot grow the cache unbounded.
LISTING_PAGE_SIZE = 20
LISTING_CACHE_SIZE = 64


class PrivateFeed(QuorumError):
    """The series' feed needs its token and the request had none, or an old one."""


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str  # quoted, strong
    last_modified: datetime  # whole seconds, UTC
    slug: str
    zone: str
    private: bool

    @property
    def last_modified_http(self) -> str:
        return format_datetime(self.last_modified, usegmt=True)


@dataclass
class _Entry:
    feed: Feed
    series: SeriesInfo
    day: datetime  # the window's anchor day; a new day re-renders
    checked_at: datetime


@dataclass(frozen=True)
class SeriesPage:
    series: SeriesInfo
    upcoming: list[MeetingView]
    links: list[FeedLink]
    page_url: str


@dataclass(frozen=True, eq=False)  # compared (and hashed) by identity: the same object while it is valid
class Listing:
    """One page of the listing of public series at ``/``."""

    pages: list[SeriesPage]
    number: int  # from 1
    count: int  # how many listing pages there are (at least 1)


@dataclass
class _ListingEntry:
    listing: Listing
    stamp: tuple[int, int]  # storage.queries.calendar.listing_stamp
    expires: datetime | None  # when its first listed meeting starts, the "next meetings" move on
    checked_at: datetime

    def current(self, now: datetime) -> bool:
        return self.expires is None or now < self.expires


def _day(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _whole_seconds(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(microsecond=0)


class CalendarService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings
        self._cache: OrderedDict[tuple[str, str | None], _Entry] = OrderedDict()
        self._slugs: dict[int, str] = {}
        self._listings: OrderedDict[int, _ListingEntry] = OrderedDict()
        self._listing_generation = 0  # moves on every change: a listing built meanwhile is not cached

    # -- cache -----------------------------------------------------------------------------
    def invalidate(self, series_id: int) -> None:
        """``MeetingService.on_series_changed`` listener (connected by bot/app.py)."""
        # Any change may move a series into, out of or within the listing: rebuilding a page is cheap.
        self._listings.clear()
        self._listing_generation += 1
        slug = self._slugs.get(series_id)
        if slug is None:
            return
        for key in [k for k in self._cache if k[0] == slug]:
            del self._cache[key]

    # -- feeds -----------------------------------------------------------------------------
    async def feed(self, slug: str, zone: str | None = None, token: str | None = None) -> Feed:
        """The feed of a series, in its home zone or in ``zone``. Raises NotFound for an unknown series,
        InvalidInput for an unknown zone, PrivateFeed when the series is private and the token is wrong.

        Cached per (series, zone); the token is checked against the series on every request rather than
        being part of the key, so guessed tokens cannot fill the cache."""
        now = self.clock.now()
        key = (slug, zone)
        entry = self._cache.get(key)
        if entry is not None and entry.day == _day(now) and now - entry.checked_at < REVALIDATE_AFTER:
            self._check_token(entry.series, token)
            self._cache.move_to_end(key)
            return entry.feed
        zone_name = self._zone(zone) if zone is not None else None
        async with self.db.read() as session:
            row = await meetings_q.series_by_feed_name(session, slug)
            if row is None:
                raise NotFound(f"There is no calendar '{slug}'.")
            series = SeriesInfo.of(row)
            self._check_token(series, token)
            if entry is not None and entry.day == _day(now) and entry.series.updated_at == series.updated_at:
                entry.checked_at = now
                return entry.feed
            feed = await self._render(session, series, zone_name or series.timezone, now)
        self._slugs[series.id] = series.feed_name
        self._cache[key] = _Entry(feed, series, _day(now), now)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return feed

    async def export(self, slug: str | None, zone: str | None) -> bytes:
        """``quorum export --format ics``: the same bytes the HTTP feed serves (token not needed)."""
        async with self.db.read() as session:
            rows = await meetings_q.all_series(session)
        if slug is None:
            if len(rows) != 1:
                names = ", ".join(r.feed_name for r in rows) or "none yet"
                raise InvalidInput(f"Name the series to export as a calendar with --series (series: {names}).")
            slug = rows[0].feed_name
        # By the calendar's name (the series' slug unless another workspace had taken it): the operator
        # sees every workspace, and slugs are only unique within one.
        row = next((r for r in rows if r.feed_name == slug), None)
        if row is None:
            raise NotFound(f"There is no series '{slug}' to export.")
        return (await self.feed(slug, zone, row.feed_token)).body

    def _zone(self, zone: str) -> str:
        if len(zone) > MAX_ZONE_LENGTH:
            raise InvalidInput("tz= is too long to be a time zone: use an IANA name such as Europe/Berlin.")
        return parse_zone(zone).key

    @staticmethod
    def _check_token(series: SeriesInfo, token: str | None) -> None:
        if series.feed_token is None:
            return
        if token is None or not secrets.compare_digest(token.encode(), series.feed_token.encode()):
            raise PrivateFeed(
                f"The calendar '{series.slug}' is private: use the link with its current token, which "
                "members get with /calendar in chat."
            )

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        day = _day(now)
        return day - WINDOW_BACK, day + WINDOW_AHEAD

    async def events(self, session: AsyncSession, series: SeriesInfo, now: datetime) -> list[MeetingView]:
        start, end = self.window(now)
        meetings = await self.meetings.occurrences(session, series, start, end)
        return await self.meetings.views(session, series, meetings)

    async def _render(self, session: AsyncSession, series: SeriesInfo, zone_name: str, now: datetime) -> Feed:
        views = await self.events(session, series, now)
        body = self.render(series, views, zone_name)
        # The window moves at midnight UTC; the day it last moved is as late as the content can have
        # changed without the series changing, so Last-Modified is never earlier than a real change.
        modified = max(_whole_seconds(series.updated_at), _day(now))
        digest = hashlib.sha256(body).hexdigest()[:32]
        return Feed(body, f'"{digest}"', modified, series.feed_name, zone_name, series.feed_token is not None)

    def render(self, series: SeriesInfo, views: list[MeetingView], zone_name: str) -> bytes:
        public = self.settings.web.public_url
        domain = uid_domain(public)
        # A private feed is fetched with its token, so its events may link to the page with it.
        url = page_url(public, series.feed_name, series.feed_token)
        zones = tuple(series.display_zones) + ((zone_name,) if zone_name not in series.display_zones else ())
        events = [
            CalendarEvent(
                uid=uid_for(series.feed_name, view.occurrence.key, domain),
                starts_at=view.starts_at,
                ends_at=view.starts_at + view.occurrence.duration,
                summary=(f"CANCELLED: {view.title}" if view.occurrence.cancelled else view.title),
                description=describe(view, zones, url),
                cancelled=view.occurrence.cancelled,
                url=url,
            )
            for view in views
        ]
        return render_feed(
            name=series.name, zone_name=zone_name, events=events,
            dtstamp=_whole_seconds(series.updated_at),
            description=f"{series.name}: meetings of the series '{series.slug}'.",
        )

    # -- page and links --------------------------------------------------------------------
    def links(self, series: SeriesInfo, *, with_token: bool) -> list[FeedLink]:
        token = series.feed_token if with_token else None
        return feed_links(self.settings.web.public_url, series.feed_name, series.timezone, series.display_zones, token)

    async def page(self, slug: str, token: str | None = None, count: int = 5) -> list[SeriesPage]:
        """One series' subscription page (token checked when private)."""
        now = self.clock.now()
        async with self.db.read() as session:
            row = await meetings_q.series_by_feed_name(session, slug)
            if row is None:
                raise NotFound(f"There is no calendar '{slug}'.")
            series = SeriesInfo.of(row)
            self._check_token(series, token)
            return [await self._series_page(session, series, now, count)]

    async def listing(self, number: int = 1, count: int = 5) -> Listing:
        """Page ``number`` of the public series, by slug (the last page when ``number`` is past it).

        Cached: a change made in this process clears the cache (listener); after REVALIDATE_AFTER one
        small query checks for changes made by other processes; and a page expires when the first
        meeting it lists starts."""
        now = self.clock.now()
        generation = self._listing_generation
        entry = self._listings.get(number)
        if entry is not None and entry.current(now) and now - entry.checked_at < REVALIDATE_AFTER:
            self._listings.move_to_end(number)
            return entry.listing
        async with self.db.read() as session:
            stamp = await calendar_q.listing_stamp(session)
            if entry is not None and entry.current(now) and entry.stamp == stamp:
                entry.checked_at = now
                return entry.listing
            pages_count = max(1, -(-stamp[0] // LISTING_PAGE_SIZE))
            shown = min(max(number, 1), pages_count)
            rows = await calendar_q.public_series(session, (shown - 1) * LISTING_PAGE_SIZE, LISTING_PAGE_SIZE)
            pages = [await self._series_page(session, SeriesInfo.of(r), now, count) for r in rows]
        listing = Listing(pages, shown, pages_count)
        if generation != self._listing_generation:
            return listing
        starts = [page.upcoming[0].starts_at for page in pages if page.upcoming]
        self._listings[number] = _ListingEntry(listing, stamp, min(starts, default=None), now)
        self._listings.move_to_end(number)
        while len(self._listings) > LISTING_CACHE_SIZE:
            self._listings.popitem(last=False)
        return listing

    async def _series_page(self, session: AsyncSession, series: SeriesInfo, now: datetime, count: int) -> SeriesPage:
        upcoming = await self.meetings.upcoming_in(session, series, count, after=now)
        views = await self.meetings.views(session, series, upcoming)
        return SeriesPage(series, views, self.links(series, with_token=True),
                          page_url(self.settings.web.public_url, series.feed_name, series.feed_token))

    async def links_for(self, actor: Actor, slug: str | None) -> tuple[SeriesInfo, list[FeedLink], str]:
        """``/calendar``: the links a member of the workspace may use (with the token of a private feed)."""
        series = await self.meetings.resolve_series(actor.workspace_id, slug)
        return (series, self.links(series, with_token=True),
                page_url(self.settings.web.public_url, series.feed_name, series.feed_token))

    # -- private feeds ---------------------------------------------------------------------
    async def set_private(self, actor: Actor, slug: str | None, private: bool) -> SeriesInfo:
        require_chair(actor, "make a calendar private or public", self.settings.chair_roles)
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            if private == (series.feed_token is not None):
                state = "private" if private else "public"
                raise InvalidInput(f"The calendar of {series.slug} is already {state}.")
            await calendar_q.set_feed_token(session, series.id, new_token() if private else None, now)
            series = await self.meetings.series_in(session, actor.workspace_id, series.slug)
        self.meetings.notify_changed(series.id)
        return series

    async def rotate(self, actor: Actor, slug: str | None) -> SeriesInfo:
        require_chair(actor, "rotate a calendar's token", self.settings.chair_roles)
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            if series.feed_token is None:
                raise InvalidInput(
                    f"The calendar of {series.slug} is public, so it has no token to rotate: "
                    f"/calendar private on {series.slug} makes it private."
                )
            await calendar_q.set_feed_token(session, series.id, new_token(), now)
            series = await self.meetings.series_in(session, actor.workspace_id, series.slug)
        self.meetings.notify_changed(series.id)
        return series


def new_token() -> str:
    return secrets.token_urlsafe(24)


def assigned(view: MeetingView, member: str | None) -> str:
    """A host or note-taker as shown in the feed and on the page: the rotation's pick is marked
    "(provisional)" until it is fixed at the agenda deadline, so nobody takes it as settled."""
    name = view.name_of(member)
    if name is None:
        return "not assigned yet"
    return f"{name} (provisional)" if view.provisional else name


def describe(view: MeetingView, zones: tuple[str, ...], url: str) -> str:
    """An event's DESCRIPTION: the time in each display zone, status, host, note-taker and agenda."""
    series = view.series
    occurrence = view.occurrence
    lines = [format_home(view.starts_at, series.timezone)]
    for zone_time in render_in_zones(view.starts_at, series.timezone, zones)[1:]:
        lines.append(zone_time.label())
    status = {"cancelled": "cancelled", "held": "held", "scheduled": "scheduled"}.get(view.status, view.status)
    lines.append("")
    lines.append(f"Status: {status}")
    lines.append(f"Host: {assigned(view, occurrence.host)}")
    lines.append(f"Note-taker: {assigned(view, occurrence.note_taker)}")
    lines.append("Agenda:" if view.agenda else "Agenda: no items yet")
    for item in view.agenda:
        lines.append(f"{item.position}. {item.title} {item.link} (added by {item.author_name})")
    lines.append("")
    lines.append(f"Subscribe and see upcoming meetings: {url}")
    return "\n".join(lines)
