"""Minutes rendering against a golden file (regenerate with QUORUM_UPDATE_GOLDEN=1 and review the diff)."""

from __future__ import annotations

import os
from pathlib import Path

from bot.rules.minutes import MinutesInput, MinutesItem, MinutesNote, render_minutes

GOLDEN = Path(__file__).parent.parent / "golden" / "minutes.md"


def sample() -> MinutesInput:
    items = [
        MinutesItem(7, 1, "Unify the community meetings", "https://discuss.tvm.apache.org/t/12171", "alice", 7),
        MinutesItem(9, 2, "Release 0.9 schedule", "https://github.com/apache/tvm/issues/10000", "bob", 9),
        MinutesItem(11, 3, "CI capacity", "https://github.com/apache/tvm/issues/10001", "dan", 11),
    ]
    notes = [
        MinutesNote(1, "note", "Most attendees prefer one weekly meeting.", 7),
        MinutesNote(2, "decision", "Merge the two meetings from April.", 7),
        MinutesNote(3, "action", "Update the calendar and the forum post.", 7, "carol"),
        MinutesNote(4, "note", "Branch cut moves one week later.", 9),
        MinutesNote(5, "action", "Send the release timeline to the mailing list.", 9, "bob"),
        MinutesNote(6, "action", "Collect CI cost figures.", 11),
        MinutesNote(7, "decision", "Next meeting hosted from Asia-friendly time.", None),
        MinutesNote(8, "action", "Draft the RFC for rotating hosts.", None, "carol"),
    ]
    return MinutesInput(
        title="TVM Community Meeting",
        when="Wed 2022-03-02 08:00 PST (America/Los_Angeles) · 16:00 UTC · Thu 00:00 CST (Asia/Shanghai)",
        host="bob", note_taker="erin", items=items, notes=notes,
    )


def test_minutes_match_golden_file() -> None:
    rendered = render_minutes(sample())
    if os.environ.get("QUORUM_UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered)
    assert rendered == GOLDEN.read_text()


def test_minutes_without_items_or_notes() -> None:
    rendered = render_minutes(MinutesInput("Weekly", "Mon 2022-03-07 10:00 UTC", None, None, [], []))
    assert rendered == (
        "# Minutes: Weekly\n\nMon 2022-03-07 10:00 UTC\n\nHost: none · Note-taker: none\n\n"
        "## Decisions\n\n- (none)\n\n## Action items\n\n- (none)\n"
    )


def test_nested_heading_level_for_the_export() -> None:
    rendered = render_minutes(sample(), level=3)
    assert rendered.startswith("### Minutes: TVM Community Meeting\n")
    assert "\n#### 1. Unify the community meetings\n" in rendered
    assert "\n##### bob\n" in rendered
