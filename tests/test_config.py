"""Settings: TOML + environment, secrets only from the environment and never in logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import ConfigError, Secrets, load_settings
from bot.logs import RedactSecrets

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "quorum.example.toml"


def test_example_config_is_valid_and_env_overrides_database() -> None:
    settings = load_settings(EXAMPLE, {"QUORUM_DATABASE_URL": "postgresql+asyncpg://u@h/db",
                                       "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cr3t"})
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.chair_roles == ("PMC",) and settings.binding_role == "PMC"
    assert settings.roles["PMC"].slack_usergroup == "pmc"
    assert settings.secrets.slack_enabled and not settings.secrets.discord_enabled
    assert "xoxb-1" not in repr(settings) and "s3cr3t" not in repr(settings)


def test_defaults_without_a_file() -> None:
    settings = load_settings(None, {})
    assert settings.chair_roles == ("PMC",) and settings.binding_role == "PMC"
    assert settings.web.port == 8080 and settings.database_url.startswith("sqlite+aiosqlite://")


def test_secret_in_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "q.toml"
    path.write_text('[web]\nport = 8080\nslack_bot_token = "xoxb-oops"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    (problem,) = caught.value.problems
    assert problem.line == 3 and "environment variables" in problem.message
    assert "xoxb-oops" not in str(caught.value)


def test_toml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "q.toml"
    path.write_text('[web]\nport = \n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert caught.value.problems[0].line == 2


def test_log_records_never_carry_secrets(caplog: pytest.LogCaptureFixture) -> None:
    secrets = Secrets(discord_token="MTIzNDU2.discord.token", slack_bot_token="xoxb-123456-abcdef")
    logger = logging.getLogger("quorum.test.redact")
    logger.addFilter(RedactSecrets(secrets))
    with caplog.at_level(logging.INFO, logger="quorum.test.redact"):
        logger.info("connecting with %s", "xoxb-123456-abcdef")
        try:
            raise RuntimeError("bad token MTIzNDU2.discord.token")
        except RuntimeError:
            logger.exception("failed")
    text = caplog.text
    assert "xoxb-123456-abcdef" not in text and "MTIzNDU2.discord.token" not in text
    assert text.count("[redacted]") >= 2


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:",
                                 "sqlite+aiosqlite:///file::memory:?cache=shared&uri=true"])
def test_an_in_memory_sqlite_database_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"QUORUM_DATABASE_URL": url})
    (problem,) = caught.value.problems
    assert problem.key == "database.url" and "give a path" in problem.message


def test_a_sqlite_file_url_is_accepted() -> None:
    assert load_settings(None, {"QUORUM_DATABASE_URL": "sqlite+aiosqlite:////var/lib/quorum/q.db"}).database_url \
        == "sqlite+aiosqlite:////var/lib/quorum/q.db"


def test_forum_section_and_its_key_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "quorum.toml"
    path.write_text('[forum]\nurl = "https://discuss.example.org/"\nusername = "quorum"\ncategory = "meetings"\n'
                    'topic_lead = "3d"\n', encoding="utf-8")
    settings = load_settings(path, {"DISCOURSE_API_KEY": "k-123"})
    assert settings.forum.url == "https://discuss.example.org" and settings.forum.host == "discuss.example.org"
    assert settings.forum.topic_lead.days == 3 and settings.forum_enabled
    assert "k-123" not in repr(settings)
    assert not load_settings(path, {}).forum_enabled


def test_forum_problems_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "quorum.toml"
    path.write_text('[forum]\nurl = "discuss.example.org"\ntopic_lead = "60d"\napi_key = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, {})
    text = str(raised.value)
    assert "forum.url" in text and "forum.topic_lead" in text and "forum.api_key" in text
