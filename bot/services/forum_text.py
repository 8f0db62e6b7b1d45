"""The wording of what Quorum writes on the forum (docs/forum.md): a meeting's topic (open, then final or
"No meeting this week"), the minutes reply, the reply on each forum-linked item, a vote's ``[VOTE]`` topic
and its ``[RESULT][VOTE]`` reply. Markdown; member text goes through ``neutral`` so it cannot ping or
inject markup. Pure: the forum service reads what they name and decides when they are written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.rules.forum import neutral, unmentioned
from bot.rules.member_text import autolink
from bot.rules.minutes import MinutesInput, render_minutes
from bot.rules.parsing import format_duration
from bot.rules.time import agenda_deadline, format_home, render_in_zones
from bot.services.views import AgendaEntry, SeriesInfo
from bot.services.vote_render import rule_words
from bot.services.votes import VoteView

NO_MEETING = "No meeting this week"


@dataclass(frozen=True)
class TopicText:
    title: str
    body: str


def zone_lines(instant: datetime, home_zone: str, zones: Sequence[str]) -> list[str]:
    """One bullet per display zone, each computed for its own date; the weekday and date are shown when
    they differ from the home zone's."""
    rendered = render_in_zones(instant, home_zone, tuple(zones))
    lines = [f"- **{format_home(instant, home_zone)}**"]
    for zt in rendered[1:]:
        day = f"{zt.local:%a %Y-%m-%d} " if zt.other_weekday else ""
        lines.append(f"- {day}{zt.local:%H:%M} {zt.abbreviation} ({zt.zone})")
    return lines


def meeting_title(series: SeriesInfo, name: str | None, starts_at: datetime, *, cancelled: bool = False) -> str:
    """``TVM Community Meeting, Wed 2027-03-17`` (the home zone's date); marked when cancelled."""
    local = starts_at.astimezone(ZoneInfo(series.timezone))
    title = f"{name or series.name}, {local:%a %Y-%m-%d}"
    return f"[{NO_MEETING}] {title}" if cancelled else title


def _agenda(items: Sequence[AgendaEntry]) -> list[str]:
    if not items:
        return ["_No items yet._"]
    return [f"{i.position}. [{neutral(i.title)}]({autolink(i.link)}) (added by {neutral(i.author_name)})"
            for i in items]


def calendar_link(settings: Settings, series: SeriesInfo) -> str:
    return f"{settings.web.public_url.rstrip('/')}/calendar/{series.slug}.ics"


def meeting_topic(settings: Settings, series: SeriesInfo, *, name: str | None, starts_at: datetime, status: str,
                  items: Sequence[AgendaEntry], host: str | None, note_taker: str | None, final: bool,
                  reason: str | None = None, following: datetime | None = None) -> TopicText:
    """The topic of one meeting. Before the agenda deadline: the agenda so far and how to add items; at the
    deadline (``final``): the closed agenda, or "No meeting this week" with the title marked, as chat says."""
    cancelled = status == "cancelled"
    title = meeting_title(series, name, starts_at, cancelled=cancelled)
    deadline = agenda_deadline(starts_at, series.deadline)
    lines: list[str] = []
    if cancelled:
        lines += [f"**{NO_MEETING}.** This meeting is cancelled because {reason or 'a chair cancelled it'}.", ""]
        if following is not None:
            lines += [f"Next meeting: {format_home(following, series.timezone)}.", ""]
    lines += ["**When**", *zone_lines(starts_at, series.timezone, series.display_zones), ""]
    if not cancelled:
        if final:
            lines += ["**The agenda is closed.**", ""]
        else:
            lines += [f"**Adding items:** until {format_home(deadline, series.timezone)} "
                      f"({format_duration(series.deadline)} before the meeting), in chat with "
                      "`/agenda add \"<title>\" <link>`. Without items there is no meeting.", ""]
        provisional = "" if final else " (provisional until the agenda closes)"
        lines += [f"**Host:** {neutral(host) if host else 'not assigned'} · "
                  f"**Note-taker:** {neutral(note_taker) if note_taker else 'not assigned'}{provisional}", ""]
    lines += ["**Agenda**", *_agenda(items), ""]
    lines += [f"Calendar: {calendar_link(settings, series)}", "",
              "_Kept up to date by Quorum: edits here are replaced when the agenda changes._"]
    return TopicText(title, "\n".join(lines))


def minutes_reply(minutes: MinutesInput) -> str:
    """The minutes as chat gets them (``render_minutes`` escapes member text as Markdown), with no @mention
    left in any member text: on the forum ``@name`` notifies that user."""
    def named(name: str | None) -> str | None:
        return unmentioned(name) if name else name

    safe = replace(
        minutes, title=unmentioned(minutes.title), host=named(minutes.host), note_taker=named(minutes.note_taker),
        items=[replace(i, title=unmentioned(i.title), author_name=unmentioned(i.author_name)) for i in minutes.items],
        notes=[replace(n, text=unmentioned(n.text), owner_name=named(n.owner_name)) for n in minutes.notes])
    return render_minutes(safe).rstrip() + "\n"


def item_reply(meeting_title_text: str, starts_at: datetime, series: SeriesInfo, item: AgendaEntry,
               notes: Sequence[tuple[str, str, str | None]], topic_link: str | None) -> str:
    """What the meeting said about one item: ``notes`` are (kind, text, owner name)."""
    lines = [f"Discussed at **{meeting_title_text}** ({format_home(starts_at, series.timezone)}) as item "
             f"{item.position}." + (f" Meeting topic: {topic_link}" if topic_link else ""), ""]
    decisions = [n for n in notes if n[0] == "decision"]
    actions = [n for n in notes if n[0] == "action"]
    plain = [n for n in notes if n[0] == "note"]
    if plain:
        lines += ["**Notes**", *(f"- {neutral(t)}" for _, t, _ in plain), ""]
    if decisions:
        lines += ["**Decisions**", *(f"- {neutral(t)}" for _, t, _ in decisions), ""]
    if actions:
        lines += ["**Action items**",
                  *(f"- [ ] {neutral(t)} ({neutral(o) if o else 'no owner'})" for _, t, o in actions), ""]
    if not notes:
        lines += ["_No notes were recorded for this item._", ""]
    return "\n".join(lines).rstrip() + "\n"


def vote_topic(view: VoteView, zones: Sequence[str], electorate_digest: str) -> TopicText:
    home = zones[0] if zones else "UTC"
    size = len(view.electorate)
    lines = [f"**{neutral(view.title)}**" + (f" {autolink(view.link)}" if view.link else ""), "",
             f"**Rule:** {neutral(rule_words(view.rule))}.", "",
             "**Voting closes**", *zone_lines(view.closes_at, home, zones), "",
             f"**Electorate:** {size} holder{'s' if size != 1 else ''} of {neutral(view.binding_role)} when the vote "
             f"opened; digest `{electorate_digest}`.", "",
             *([f"**Opened digest:** `{view.opened_digest}` (the vote as opened: title, link, rule, deadline and "
                "electorate). Kept here, outside Quorum's database, anyone can check the record against it with "
                f"`quorum verify --digest {view.number}={view.opened_digest}`.", ""] if view.opened_digest else []),
             f"**How to vote:** in chat, `/vote cast #{view.number} +1|0|-1 \"comment\"` (or the buttons on the vote "
             "message). Anyone may vote; only the electorate's votes are binding. Votes posted here are not counted.",
             "", f"_Opened by {neutral(view.opened_by_name)} through Quorum; the result will be posted below._"]
    return TopicText(f"[VOTE] {view.title}", "\n".join(lines))


def vote_result(view: VoteView, zones: Sequence[str]) -> str:
    assert view.closed_at is not None and view.outcome is not None
    decision = view.decision()
    home = zones[0] if zones else "UTC"
    binding = [b for b in view.ballots if b.binding]
    lines = [f"## [RESULT][VOTE] {neutral(view.title)}", "",
             f"**Outcome: {view.outcome.upper()}** ({neutral(view.explanation or decision.explanation)}).", "",
             f"Closed {format_home(view.closed_at, home)}. Rule: {neutral(rule_words(view.rule))}.", "",
             f"**Binding** ({neutral(view.binding_role)}, electorate of {len(view.electorate)}): "
             f"{decision.binding.words()}",
             *(f"- {b.value} {neutral(b.voter_name)}" for b in binding), "",
             f"**Non-binding:** {decision.non_binding.words()}", "",
             *([f"Opened digest: `{view.opened_digest}`"] if view.opened_digest else []),
             f"Final log digest: `{view.head_digest}` (anyone can check the record against it with "
             f"`quorum verify --digest {view.number}={view.head_digest}`)."]
    if view.close_forced:
        lines += ["", "Closed early with force=yes."]
    if view.short_forced:
        lines += ["", "Short vote, opened with force=yes."]
    return "\n".join(lines) + "\n"


def forum_summary(series: SeriesInfo, settings: Settings) -> str:
    """One sentence for ``/meeting series edit``: where the series' topics go, and the pre-RFC rule."""
    category = series.forum_category or settings.forum.category
    if series.forum_category == "off":
        where = "no forum topics"
    elif not settings.forum.url:
        where = "no forum is configured (add [forum] to the config, docs/forum.md)"
    elif category is None:
        where = "no forum category (set forum_category= or [forum] category)"
    else:
        where = f"meeting topics in forum category {category}"
    rule = (f"linked forum topics must be published {format_duration(series.published_before)} before the meeting"
            if series.published_before else "no pre-RFC rule")
    return f"{where}; {rule}."
