"""The tamper-evident vote log: an append-only hash chain, and its verification.

Each event's hash is sha256 over the canonical JSON of the previous event's hash and the event itself
(vote id, sequence number, kind, time and payload). The vote keeps the last hash (its head digest) and
shows it in the result, so anyone holding the digest and the export can check that no event was changed,
removed, reordered or inserted. Canonical JSON (sorted keys, no spaces, UTF-8) makes the hash independent
of how a database or an export happens to lay the JSON out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

GENESIS = "0" * 64
EVENT_KINDS = ("open", "ballot", "change", "close")
T = TypeVar("T")


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_of(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def electorate_digest(member_ids: Iterable[str]) -> str:
    """The digest of an electorate snapshot: sha256 over its sorted member ids."""
    return digest_of(sorted(set(member_ids)))


@dataclass(frozen=True)
class Event:
    vote_id: int
    seq: int
    kind: str
    at: str  # UTC ISO 8601 with microseconds, exactly as hashed
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        return {"vote": self.vote_id, "seq": self.seq, "kind": self.kind, "at": self.at,
                "payload": dict(self.payload)}

    def label(self) -> str:
        who = self.payload.get("voter") or self.payload.get("opened_by") or self.payload.get("closed_by")
        return f"vote #{self.vote_id} event {self.seq} ({self.kind}{f' by {who}' if who else ''})"


def chain_hash(prev_hash: str, vote_id: int, seq: int, kind: str, at: str, payload: Mapping[str, Any]) -> str:
    return digest_of({"prev": prev_hash, "event": {"vote": vote_id, "seq": seq, "kind": kind, "at": at,
                                                   "payload": dict(payload)}})


def next_event(prev: Event | None, vote_id: int, kind: str, at: str, payload: Mapping[str, Any]) -> Event:
    """The event that follows ``prev`` (None for the first event of a vote)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    return Event(vote_id, seq, kind, at, dict(payload), prev_hash,
                 chain_hash(prev_hash, vote_id, seq, kind, at, payload))


@dataclass(frozen=True)
class ChainProblem:
    vote_id: int
    seq: int | None
    message: str
    field: str | None = None  # the field that does not match, when it is a field (not the chain itself)

    def __str__(self) -> str:
        return self.message


Steps = Generator[None, None, T]


def run_steps(steps: Steps[T]) -> T:
    """Run a ``*_steps`` generator to its end at once; its value. A service that must not hold the
    event loop for long steps through it instead, letting the loop run between steps."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def verify_chain(vote_id: int, events: Sequence[Event], head_digest: str | None) -> ChainProblem | None:
    """The first event that does not match its chain, or None when the whole chain and the head digest
    check out. ``events`` must be in stored order."""
    check = ChainCheck(vote_id)
    for event in events:
        if check.add(event) is not None:
            break
    return check.end(head_digest)


class ChainCheck:
    """``verify_chain`` one event at a time, for a log read a page at a time: ``add`` each event in
    stored order (it returns the first problem once there is one), then ``end`` with the head digest."""

    def __init__(self, vote_id: int) -> None:
        self.vote_id = vote_id
        self.count = 0
        self.prev_hash = GENESIS
        self.problem: ChainProblem | None = None

    def add(self, event: Event) -> ChainProblem | None:
        if self.problem is None:
            self.count += 1
            self.problem = self._check(event, self.count)
            self.prev_hash = event.hash
        return self.problem

    def _check(self, event: Event, expected_seq: int) -> ChainProblem | None:
        vote_id = self.vote_id
        if event.vote_id != vote_id:
            return ChainProblem(vote_id, event.seq, f"{event.label()} belongs to another vote.")
        if event.seq != expected_seq:
            return ChainProblem(vote_id, event.seq, f"{event.label()} is out of sequence: expected event "
                                f"{expected_seq} (an event was removed or inserted).")
        if event.kind not in EVENT_KINDS:
            return ChainProblem(vote_id, event.seq, f"{event.label()} has an unknown kind.")
        if event.prev_hash != self.prev_hash:
            return ChainProblem(vote_id, event.seq, f"{event.label()} does not follow the event before it "
                                "(its previous hash differs).")
        recomputed = chain_hash(self.prev_hash, event.vote_id, event.seq, event.kind, event.at, event.payload)
        if recomputed != event.hash:
            return ChainProblem(vote_id, event.seq, f"{event.label()} does not match its hash: it was altered.")
        return None

    def end(self, head_digest: str | None) -> ChainProblem | None:
        """The first problem of the whole chain, the head digest included."""
        vote_id = self.vote_id
        if self.problem is not None:
            return self.problem
        if self.count == 0:
            return ChainProblem(vote_id, None, f"vote #{vote_id} has no events: its log was removed.")
        if head_digest is not None and head_digest != self.prev_hash:
            return ChainProblem(vote_id, None, f"vote #{vote_id}'s head digest does not match its last event "
                                f"(stored {head_digest[:12]}…, log {self.prev_hash[:12]}…).")
        return None
