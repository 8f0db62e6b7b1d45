// Reads an iCalendar feed on standard input and prints, as JSON, every event instant as ical.js (the
// parser behind Mozilla's calendar) reads it: UTC start and end, UID, status and summary. Recurring
// events are expanded up to the year given as the first argument (default 2030).
import ICAL from "ical.js";
import { readFileSync } from "node:fs";

const text = readFileSync(0, "utf8");
const until = Number(process.argv[2] || 2030);
const root = new ICAL.Component(ICAL.parse(text));
// Register the feed's own VTIMEZONEs: ical.js knows no zone database, so every TZID must come from them.
for (const vtz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtz);
}
const iso = (t) => t.toJSDate().toISOString().replace(".000Z", "Z");
const out = [];
for (const vevent of root.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(vevent);
  const base = {
    uid: event.uid,
    status: vevent.getFirstPropertyValue("status") || null,
    summary: event.summary,
    tzid: vevent.getFirstProperty("dtstart").getParameter("tzid") || null,
  };
  if (event.isRecurring()) {
    const it = event.iterator();
    for (let next = it.next(); next && next.year <= until; next = it.next()) {
      const details = event.getOccurrenceDetails(next);
      out.push({ ...base, start: iso(details.startDate), end: iso(details.endDate) });
    }
  } else {
    const start = event.startDate;
    const end = event.endDate;
    if (start.zone && start.zone.tzid !== base.tzid && base.tzid && base.tzid !== "UTC") {
      throw new Error(`TZID ${base.tzid} was not resolved from the feed's VTIMEZONE`);
    }
    out.push({ ...base, start: iso(start), end: iso(end) });
  }
}
process.stdout.write(JSON.stringify(out) + "\n");
