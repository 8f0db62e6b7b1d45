"""How a vote reads: the live vote message (with its buttons) and the Apache-style ``[RESULT][VOTE]``.

Both are plain functions of a ``VoteView`` so the outbox can post them later without a command."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.contracts.reply import Button, Reply
from bot.rules.parsing import format_duration
from bot.rules.time import format_for_member, format_home, format_zone_line, relative
from bot.rules.time import member_zone as known_member_zone
from bot.rules.votes import RULES
from bot.services.votes import (
    DEFAULT_DURATION,
    SOURCE_CONFIG,
    SOURCE_LISTING,
    SOURCE_SEEN,
    ElectorateMember,
    VoteView,
    iso,
)

SHOWN_NAMES = 50  # longer electorates and voter lists are summarised in the message (the export has all)


def _zones(zones: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    return (zones[0] if zones else "UTC"), zones


def _when(instant: datetime, zones: tuple[str, ...]) -> str:
    home, shown = _zones(zones)
    return format_zone_line(instant, home, shown)


def _names(names: list[str]) -> str:
    if len(names) <= SHOWN_NAMES:
        return ", ".join(names)
    return ", ".join(names[:SHOWN_NAMES]) + f" and {len(names) - SHOWN_NAMES} more"


def rule_words(rule: str) -> str:
    return f"{rule}: {RULES[rule].summary}"


def vote_data(view: VoteView) -> dict[str, Any]:
    """The vote's fields for adapters and --json, with the export's key names."""
    decision = view.decision()
    return {
        "id": view.id, "number": view.number, "title": view.title, "link": view.link, "rule": view.rule,
        "status": view.status,
        "binding_role": view.binding_role, "opened_by": view.opened_by, "opened_at": iso(view.opened_at),
        "closes_at": iso(view.closes_at), "closed_at": iso(view.closed_at) if view.closed_at else None,
        "closed_by": view.closed_by, "close_forced": view.close_forced, "short_forced": view.short_forced,
        "electorate": [m for m, _ in view.electorate], "electorate_size": len(view.electorate),
        "electorate_digest": view.electorate_digest,
        "tally": {"binding": decision.binding.as_dict(), "non_binding": decision.non_binding.as_dict()},
        "outcome": view.outcome, "explanation": view.explanation or decision.explanation,
        "projected_outcome": decision.outcome, "head_digest": view.head_digest,
        "opened_digest": view.opened_digest,
        "not_voted": [m for m, _ in view.not_voted()],
        # Binding ballots only (at most the electorate): a message carries this on every refresh, and a
        # vote may have thousands of non-binding ballots. The export has every ballot.
        "ballots": [{"voter": b.voter, "voter_name": b.voter_name, "value": b.value, "binding": b.binding,
                     "cast_at": iso(b.cast_at), "comment": b.comment} for b in view.ballots if b.binding],
        "non_binding_ballots": decision.non_binding.total,
    }


def vote_buttons(view: VoteView) -> tuple[Button, ...]:
    veto = "Reason for your veto" if RULES[view.rule].vetoes else None
    return (
        Button("+1", f"vote cast #{view.number} +1", f"quorum:vote:{view.id}:+1", "primary"),
        Button("0", f"vote cast #{view.number} 0", f"quorum:vote:{view.id}:0", "secondary"),
        Button("-1", f"vote cast #{view.number} -1", f"quorum:vote:{view.id}:-1", "danger", prompt=veto),
    )


def _binding_lines(view: VoteView) -> list[str]:
    binding = [b for b in view.ballots if b.binding]
    lines = [f"  {b.value} {b.voter_name}" + (f" (\"{b.comment}\")" if b.comment else "")
             for b in binding[:SHOWN_NAMES]]
    if len(binding) > SHOWN_NAMES:
        lines.append(f"  ... and {len(binding) - SHOWN_NAMES} more binding ballots (see the export)")
    return lines


def vote_message(view: VoteView, now: datetime, zones: tuple[str, ...]) -> Reply:
    """The live message of a vote: what it is, the rule, the electorate and the tally so far. A closed
    vote's message is its result."""
    if not view.is_open:
        return result_reply(view, zones)
    decision = view.decision()
    lines = [f"Vote #{view.number}: {view.title}" + (f" <{view.link}>" if view.link else "")]
    lines.append(f"Rule: {rule_words(view.rule)}.")
    lines.append(f"Opened by {view.opened_by_name}; closes {_when(view.closes_at, zones)} "
                 f"({relative(view.closes_at, now)}).")
    if view.short_forced:
        lines.append(f"Short vote: open for {format_duration(view.duration)}, less than the "
                     f"{format_duration(DEFAULT_DURATION)} minimum, opened with force=yes.")
    size = len(view.electorate)
    lines.append(f"Electorate: {size} holder{'s' if size != 1 else ''} of {view.binding_role} when it opened "
                 f"(digest {view.electorate_digest[:12]}): {_names([n for _, n in view.electorate])}.")
    lines.append(f"Binding so far: {decision.binding.words()} · non-binding: {decision.non_binding.words()}.")
    lines.extend(_binding_lines(view))
    missing = view.not_voted()
    if missing:
        lines.append(f"Not voted yet ({len(missing)}): {_names([n for _, n in missing])}.")
    lines.append(f"If it closed now: {decision.explanation}.")
    if view.opened_digest:
        lines.append(f"Opened digest: {view.opened_digest} (covers the title, link, rule, deadline and electorate; "
                     "keep it: quorum verify --digest <vote>=<digest> checks the record against it).")
    lines.append(f"Vote with the buttons or /vote cast #{view.number} +1|0|-1 \"comment\"; "
                 "+0 and -0 count as 0. Anyone may vote; only the electorate's votes are binding.")
    return Reply(text="\n".join(lines), title=f"[VOTE] {untagged(view.title)}", ephemeral=False, kind="vote",
                 buttons=vote_buttons(view), moments=(view.closes_at,), moment_labels=("vote closes",),
                 data={"vote": vote_data(view)},
                 live_vote=view.id)


_TAG = re.compile(r"^\s*(\[(VOTE|RESULT)\]\s*)+", re.IGNORECASE)


def untagged(title: str) -> str:
    """The title without a leading ``[VOTE]`` (or ``[RESULT]``) the chair typed out of habit: the headings
    add the tag themselves, and "[VOTE] [VOTE] Release 1.0" reads like a mistake."""
    return _TAG.sub("", title) or title


def result_reply(view: VoteView, zones: tuple[str, ...]) -> Reply:
    """The ``[RESULT][VOTE]`` announcement of a closed vote."""
    assert view.closed_at is not None and view.outcome is not None
    decision = view.decision()
    if view.closed_by is None:
        how = "at its deadline"
    elif view.close_forced:
        how = (f"early by {view.closed_by_name} with force=yes, before every member of the electorate "
               "had voted")
    else:
        how = f"early by {view.closed_by_name}, once every member of the electorate had voted"
    lines = [f"Vote #{view.number}: {view.title}" + (f" <{view.link}>" if view.link else "")]
    lines.append(f"Closed {_when(view.closed_at, zones)}, {how}.")
    lines.append(f"Rule: {rule_words(view.rule)}.")
    lines.append(f"Binding ({view.binding_role}, electorate of {len(view.electorate)}): {decision.binding.words()}")
    lines.extend(_binding_lines(view))
    lines.append(f"Non-binding: {decision.non_binding.words()}")
    missing = view.not_voted()
    if missing:
        lines.append(f"Did not vote ({len(missing)} of the electorate): {_names([n for _, n in missing])}.")
    else:
        lines.append("Every member of the electorate voted.")
    lines.append(f"Outcome: {view.outcome.upper()} ({view.explanation or decision.explanation}).")
    if view.short_forced:
        lines.append(f"Short vote: it was open for {format_duration(view.duration)}, less than the "
                     f"{format_duration(DEFAULT_DURATION)} minimum (opened with force=yes).")
    if view.close_forced:
        lines.append("Closed early with force=yes.")
    if view.opened_digest:
        lines.append(f"Opened digest: {view.opened_digest}")
    lines.append(f"Final digest: {view.head_digest} (the whole log; keep it: quorum verify --digest "
                 "<vote>=<digest> checks the record against it).")
    return Reply(text="\n".join(lines), title=f"[RESULT][VOTE] {untagged(view.title)}", ephemeral=False,
                 kind="vote", moments=(view.closed_at,), moment_labels=("vote closed",),
                 data={"vote": vote_data(view)})


def reminder_reply(view: VoteView, member_zone: str | None, zones: tuple[str, ...]) -> Reply:
    """The DM to a member of the electorate who has not voted, before the vote closes. It may be sent a
    little late (a retry, a restart), so it names the close time, never "in 24 hours"."""
    own = known_member_zone(member_zone)
    mine = format_for_member(view.closes_at, own)
    home, _shown = _zones(zones)
    lines = [f"Reminder: vote #{view.number} \"{view.title}\" closes {mine} your time"
             + ("" if own == home else f", {format_home(view.closes_at, home)}") + ", and you have not voted."]
    if view.link:
        lines.append(f"What it is about: <{view.link}>")
    lines.append(f"Rule: {rule_words(view.rule)}.")
    lines.append(f"Your vote is binding: you held {view.binding_role} when the vote opened "
                 f"(electorate of {len(view.electorate)}).")
    lines.append(f"Vote with the buttons or /vote cast #{view.number} +1|0|-1 \"comment\" (+0 and -0 count as 0); "
                 f"/vote status #{view.number} shows the tally so far.")
    return Reply(text="\n".join(lines), title=f"[VOTE] Reminder: {untagged(view.title)}", ephemeral=False,
                 kind="reminder", buttons=vote_buttons(view), moments=(view.closes_at,),
                 moment_labels=("vote closes",),
                 data={"vote_id": view.id, "closes_at": iso(view.closes_at)})


ELECTORATE_LINES = 500  # members listed by /vote electorate; the export lists every one


def source_words(member: ElectorateMember, role: str, zone: str) -> str:
    """Where a member's binding status came from, in words."""
    if member.source == SOURCE_LISTING:
        return "platform listing"
    if member.source == SOURCE_CONFIG:
        return "config"
    if member.source == SOURCE_SEEN and member.seen_at is not None:
        return f"seen with {role} on {format_home(member.seen_at, zone)}"
    return "not recorded (opened before sources were kept)"


def electorate_reply(view: VoteView, members: list[ElectorateMember], zone: str) -> Reply:
    """``/vote electorate #n``: the snapshot taken when the vote opened, one member a line."""
    lines = [f"Vote #{view.number}: {view.title}",
             f"Electorate: {len(members)} holder{'s' if len(members) != 1 else ''} of {view.binding_role} when it "
             f"opened {format_home(view.opened_at, zone)} (digest {view.electorate_digest}):"]
    lines.extend(f"  {m.display_name} ({m.member_id}): {source_words(m, view.binding_role, zone)}"
                 for m in members[:ELECTORATE_LINES])
    if len(members) > ELECTORATE_LINES:
        lines.append(f"  ... and {len(members) - ELECTORATE_LINES} more (quorum export lists every one)")
    return Reply(text="\n".join(lines), title=f"[VOTE] Electorate: {view.title}", ephemeral=True, data={
        "vote_id": view.id, "electorate_digest": view.electorate_digest,
        "electorate": [{"member": m.member_id, "name": m.display_name, "source": m.source,
                        "seen_at": iso(m.seen_at) if m.seen_at else None} for m in members],
    })
