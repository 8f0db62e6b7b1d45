"""Independent readers of our iCalendar feeds, so tests check what calendar clients will see:
ical.js (the parser behind Mozilla's calendar, run with node), vobject (whose VTIMEZONE support is
dateutil's), and recurring-ical-events (icalendar's expansion). Each returns, per event, the UTC instants
it read, so tests can compare them with our own computation and with each other."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

JS_DIR = Path(__file__).parent / "js"


@dataclass(frozen=True)
class ReadEvent:
    uid: str
    start: datetime
    end: datetime
    status: str | None
    summary: str


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def ical_js(body: bytes) -> list[ReadEvent]:
    assert (JS_DIR / "node_modules" / "ical.js").is_dir(), "run tests/prepare.sh (npm ci in tests/js) first"
    done = subprocess.run(["node", str(JS_DIR / "expand.mjs")], input=body, capture_output=True, check=False,
                          timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return [ReadEvent(e["uid"], _utc(e["start"]), _utc(e["end"]), e["status"], e["summary"])
            for e in json.loads(done.stdout)]


def vobject_events(body: bytes) -> list[ReadEvent]:
    import vobject
    import vobject.icalendar as vical

    # vobject keeps the first VTIMEZONE it saw for a TZID process-wide; forget earlier feeds' zones so
    # this feed is read with its own.
    vical.__dict__["__tzidMap"].clear()
    calendar = vobject.readOne(body.decode("utf-8"))
    events = []
    for vevent in calendar.vevent_list:
        start = vevent.dtstart.value
        end = vevent.dtend.value
        assert start.tzinfo is not None and end.tzinfo is not None
        status = vevent.status.value if hasattr(vevent, "status") else None
        events.append(ReadEvent(vevent.uid.value, start.astimezone(UTC), end.astimezone(UTC), status,
                                vevent.summary.value))
    return events


def recurring_events(body: bytes, start: datetime, end: datetime) -> list[ReadEvent]:
    import icalendar
    import recurring_ical_events

    calendar = icalendar.Calendar.from_ical(body)
    found = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        found.append(ReadEvent(str(event["UID"]), event["DTSTART"].dt.astimezone(UTC),
                               event["DTEND"].dt.astimezone(UTC), str(event.get("STATUS")) or None,
                               str(event["SUMMARY"])))
    return sorted(found, key=lambda e: (e.start, e.uid))
