"""What an operator watches, as Prometheus metrics (``GET /metrics``, prometheus-client's aiohttp handler).

The counters and the histogram are process-wide (prometheus-client's default registry, which also carries
the process's CPU, memory and open files); each replica exposes its own and Prometheus sums them. The
outbox gauges describe the shared database, so every replica reports the same figures: alert on ``max``,
not ``sum``. Labels have few values (command names, outcomes, platforms): never a workspace or a member,
so the series count stays flat however many communities a deployment hosts."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

COMMANDS = Counter("quorum_commands", "Commands run, by command and outcome (ok, refused, error).",
                   ["command", "outcome"])
COMMAND_SECONDS = Histogram(
    "quorum_command_seconds", "Time from a command's arrival at the dispatcher to its reply, by command.",
    ["command"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DELIVERIES = Counter("quorum_deliveries", "Outbox deliveries, by platform and outcome (sent, retried, failed, "
                     "missed).", ["platform", "outcome"])
OUTBOX_BACKLOG = Gauge("quorum_outbox_backlog", "Messages due now and not sent yet (all replicas).")
OUTBOX_OLDEST_LAG = Gauge("quorum_outbox_oldest_due_lag_seconds",
                          "How long the oldest message that is due has waited past its due time (0 when none).")
FEED_REQUESTS = Counter("quorum_feed_requests", "Calendar feed requests, by answer (200, 304, 404, ...).",
                        ["status"])
SCHEDULER_WAKEUPS = Counter("quorum_scheduler_wakeups", "Scheduler ticks run (regular and precise wake-ups).")


def command_finished(command: str, outcome: str, seconds: float) -> None:
    COMMANDS.labels(command=command, outcome=outcome).inc()
    COMMAND_SECONDS.labels(command=command).observe(seconds)


def outbox_state(now: datetime, backlog: int, oldest_due: datetime | None) -> None:
    OUTBOX_BACKLOG.set(backlog)
    OUTBOX_OLDEST_LAG.set(max(0.0, (now - oldest_due).total_seconds()) if oldest_due else 0.0)
