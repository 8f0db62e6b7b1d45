"""iCalendar (RFC 5545) feeds of a series: one VEVENT per meeting, every time written in one zone with
that zone's VTIMEZONE. Pure: the same input gives the same bytes (no clock, no random UIDs), which is
what makes ETags match across requests and processes.

Written by hand rather than with icalendar's object model: the output is small and regular, a hand
serializer is several times faster for a cold render, and it keeps every byte under our control
(escaping, folding, the VTIMEZONE that ical.js must read correctly)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from bot.rules.time import is_ambiguous
from bot.rules.vtimezone import vtimezone_lines

PRODID = "-//Quorum//Meeting calendar feed//EN"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    starts_at: datetime  # aware
    ends_at: datetime  # aware
    summary: str
    description: str
    cancelled: bool
    url: str


@dataclass(frozen=True)
class FeedLink:
    zone: str  # the zone the feed writes its times in
    https: str
    webcal: str
    home: bool


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1) without splitting a UTF-8 character."""
    if line.isascii():  # the common case: characters are octets
        if len(line) <= 75:
            return line
        return "\r\n ".join([line[:75], *(line[i:i + 74] for i in range(75, len(line), 74))])
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    start = 0
    limit = 75
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        # Step back off a UTF-8 continuation byte so every part is whole characters.
        while end < len(encoded) and (encoded[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(encoded[start:end].decode("utf-8"))
        start = end
        limit = 74  # continuation lines start with one space
    return "\r\n ".join(parts)


def uid_for(slug: str, occurrence_key: str, domain: str) -> str:
    """Stable across renders and processes: the series slug and the occurrence key."""
    key = occurrence_key.replace(":", "-")
    return f"{slug}-{key}@{domain}"


def _datetime_property(name: str, instant: datetime, zone_name: str) -> str:
    """``DTSTART;TZID=Europe/Berlin:20220302T170000``. A wall time that happens twice in the zone (the hour
    clocks are set back) is written in UTC instead, because RFC 5545 reads an ambiguous local time as the
    first of the two and the meeting may be the second. Times computed from an instant never fall in a gap."""
    if zone_name == "UTC":
        return f"{name}:{instant.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    zone = ZoneInfo(zone_name)
    local = instant.astimezone(zone)
    if is_ambiguous(local.replace(tzinfo=None), zone):
        return f"{name}:{instant.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{name};TZID={zone_name}:{local:%Y%m%dT%H%M%S}"


def timezone_years(events: Iterable[CalendarEvent], fallback: datetime) -> tuple[int, int]:
    """The years a VTIMEZONE must be right for: a year either side of the events, so each observance
    starts before the first event and the yearly rules are seen at least twice."""
    years = [e.starts_at.astimezone(UTC).year for e in events] or [fallback.year]
    return min(years) - 1, max(years) + 1


def render_feed(
    *,
    name: str,
    zone_name: str,
    events: list[CalendarEvent],
    dtstamp: datetime,
    description: str = "",
    refresh: timedelta = timedelta(hours=1),
) -> bytes:
    """The whole feed, CRLF-terminated UTF-8."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{escape_text(name)}",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    if description:
        lines.append(f"X-WR-CALDESC:{escape_text(description)}")
    minutes = int(refresh.total_seconds() // 60)
    lines.append(f"REFRESH-INTERVAL;VALUE=DURATION:PT{minutes}M")
    lines.append(f"X-PUBLISHED-TTL:PT{minutes}M")
    if zone_name != "UTC":
        first, last = timezone_years(events, dtstamp)
        lines.extend(vtimezone_lines(zone_name, first, last))
    stamp = f"DTSTAMP:{dtstamp.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    for event in events:
        lines.extend((
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            stamp,
            _datetime_property("DTSTART", event.starts_at, zone_name),
            _datetime_property("DTEND", event.ends_at, zone_name),
            f"SUMMARY:{escape_text(event.summary)}",
            f"DESCRIPTION:{escape_text(event.description)}",
            f"URL:{event.url}",
            f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}",
            f"TRANSP:{'TRANSPARENT' if event.cancelled else 'OPAQUE'}",
            "END:VEVENT",
        ))
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")


def page_url(public_url: str, slug: str, token: str | None = None) -> str:
    base = public_url.rstrip("/")
    return f"{base}/calendar/{slug}" + (f"?token={quote(token, safe='')}" if token else "")


def feed_url(public_url: str, slug: str, zone: str | None = None, token: str | None = None) -> str:
    base = public_url.rstrip("/")
    params = []
    if zone:
        params.append(f"tz={quote(zone, safe='/')}")
    if token:
        params.append(f"token={quote(token, safe='')}")
    return f"{base}/calendar/{slug}.ics" + ("?" + "&".join(params) if params else "")


def webcal(url: str) -> str:
    """The same URL with the ``webcal://`` scheme that calendar apps register for subscriptions."""
    parts = urlsplit(url)
    return "webcal://" + url[len(parts.scheme) + 3:]


def feed_links(public_url: str, slug: str, home_zone: str, display_zones: Iterable[str],
               token: str | None = None) -> list[FeedLink]:
    """One https and one webcal link for the home zone, then one pair per other display zone."""
    links = [FeedLink(home_zone, feed_url(public_url, slug, None, token), "", True)]
    for zone in display_zones:
        if zone != home_zone:
            links.append(FeedLink(zone, feed_url(public_url, slug, zone, token), "", False))
    return [FeedLink(link.zone, link.https, webcal(link.https), link.home) for link in links]


def uid_domain(public_url: str) -> str:
    """The host of the public URL (``quorum.example.org``), so UIDs of two installations never clash."""
    return urlsplit(public_url).hostname or "quorum"
