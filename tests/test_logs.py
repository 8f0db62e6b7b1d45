"""Log lines: plain text by default, one JSON object per line with ``QUORUM_LOG_FORMAT=json``; the workspace,
command and request id of the command being run on every line it causes; secrets redacted either way."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from bot.commands.dispatcher import CommandContext, Dispatcher
from bot.commands.registry import Registry
from bot.config import ConfigError, Secrets, load_settings
from bot.contracts.reply import Reply
from bot.logs import configure_logging, log_context
from bot.services import Services
from tests.helpers import Members

SECRET = "xoxb-not-for-the-log-123456"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root handler ``configure_logging`` installs, writing to a buffer; the test's handlers are put back."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved
    root.setLevel(level)


def _configure(stream: io.StringIO, log_format: str) -> None:
    configure_logging("INFO", Secrets(slack_bot_token=SECRET), log_format)  # type: ignore[arg-type]
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_message_and_the_bound_context(captured: io.StringIO) -> None:
    _configure(captured, "json")
    logging.getLogger("quorum.test").info("outside any command")
    with log_context(workspace="console:tvm", command="vote open") as request_id:
        logging.getLogger("quorum.test").warning("inside %s", "a command")
    outside, inside = _lines(captured)
    assert outside["level"] == "INFO" and outside["logger"] == "quorum.test"
    assert outside["message"] == "outside any command" and outside["workspace"] is None
    assert inside == {**inside, "level": "WARNING", "message": "inside a command", "workspace": "console:tvm",
                      "command": "vote open", "request_id": request_id}
    assert len(request_id) == 12 and inside["time"].startswith("20")


def test_secrets_are_redacted_in_json_messages_and_tracebacks(captured: io.StringIO) -> None:
    _configure(captured, "json")
    try:
        raise RuntimeError(f"token {SECRET} refused")
    except RuntimeError:
        logging.getLogger("quorum.test").exception("posting with %s failed", SECRET)
    (line,) = _lines(captured)
    assert SECRET not in captured.getvalue()
    assert line["message"] == "posting with [redacted] failed"
    assert "RuntimeError: token [redacted] refused" in line["exc_info"]


def test_text_stays_the_default_format(captured: io.StringIO) -> None:
    _configure(captured, "text")
    logging.getLogger("quorum.test").info("hello %s", SECRET)
    assert captured.getvalue().rstrip().endswith("INFO quorum.test: hello [redacted]")


async def test_a_command_s_log_lines_name_its_workspace_command_and_request(
        captured: io.StringIO, services: Services, members: Members) -> None:
    registry = Registry()

    @registry.command("quorum ping", "Logs a line, as a service does while a command runs.")
    async def ping(context: CommandContext, args: Mapping[str, Any]) -> Reply:
        logging.getLogger("quorum.test").info("pinged")
        return Reply("pong")

    _configure(captured, "json")
    actor = members.actor("alice")
    await Dispatcher(services, registry).run_text("quorum ping", actor)
    await Dispatcher(services, registry).run_text("quorum ping", actor)
    first, second = _lines(captured)
    assert first["workspace"] == actor.workspace_id and first["command"] == "quorum ping"
    assert first["request_id"] and first["request_id"] != second["request_id"]


def test_an_unknown_log_format_is_a_config_problem_saying_what_is_allowed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"QUORUM_LOG_FORMAT": "yaml"})
    assert any("must be text or json" in str(problem) and "'yaml'" in str(problem)
               for problem in caught.value.problems)
    assert load_settings(None, {"QUORUM_LOG_FORMAT": "JSON"}).log_format == "json"
