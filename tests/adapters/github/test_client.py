"""How GitHub's answers become outbox outcomes (bot/adapters/github/client.py): what is retried, after
how long, and what is given up; and that the token never appears in an error."""

from __future__ import annotations

import http
from datetime import UTC, datetime

import gidgethub
from gidgethub.sansio import RateLimit

from bot.adapters.github.client import SECONDARY_LIMIT_WAIT, failure

NOW = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)


def test_retry_after_is_honoured_for_429_and_secondary_limits() -> None:
    error = failure(gidgethub.BadRequest(http.HTTPStatus(429), "Too Many Requests", headers={"retry-after": "42"}),
                    NOW)
    assert error.transient and error.retry_after == 42
    secondary = failure(gidgethub.BadRequest(http.HTTPStatus(403), "You have exceeded a secondary rate limit"), NOW)
    assert secondary.transient and secondary.retry_after == SECONDARY_LIMIT_WAIT


def test_used_up_rate_limit_waits_until_the_reset() -> None:
    reset = NOW.timestamp() + 900
    limit = RateLimit(limit=5000, remaining=0, reset_epoch=reset)
    error = failure(gidgethub.RateLimitExceeded(limit, "API rate limit exceeded"), NOW)
    assert error.transient and error.retry_after == 900
    headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset))}
    error = failure(gidgethub.BadRequest(http.HTTPStatus(429), "slow down", headers=headers), NOW)
    assert error.retry_after == 900


def test_server_errors_are_retried_and_client_errors_given_up() -> None:
    assert failure(gidgethub.GitHubBroken(http.HTTPStatus(502)), NOW).transient
    for status in (404, 422, 401):
        error = failure(gidgethub.BadRequest(http.HTTPStatus(status), None), NOW)
        assert not error.transient and str(error).startswith(f"GitHub {status}: ")
        assert "None" not in str(error)
    # A plain 403 (the token lacks a right) is not a rate limit: given up with the reason.
    assert not failure(gidgethub.BadRequest(http.HTTPStatus(403), "Resource not accessible by personal access "
                                                                  "token"), NOW).transient
    assert failure(TimeoutError(), NOW).transient
