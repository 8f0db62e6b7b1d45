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


def test_github_section_and_its_secrets(tmp_path: Path) -> None:
    path = tmp_path / "q.toml"
    path.write_text('[github]\nrepositories = ["apache/tvm"]\nlabels = { community = "tvm-meeting" }\n'
                    'poll_seconds = 120\n', encoding="utf-8")
    settings = load_settings(path, {"GITHUB_TOKEN": "github_pat_secret123", "GITHUB_WEBHOOK_SECRET": "hook-secret",
                                    "GITHUB_API_URL": "http://127.0.0.1:9/"})
    assert settings.github.repositories == ("apache/tvm",) and settings.github.labels == {"community": "tvm-meeting"}
    assert settings.github.poll_seconds == 120 and settings.github_api_url == "http://127.0.0.1:9"
    assert settings.secrets.github_enabled and settings.secrets.github_webhook_secret == "hook-secret"
    assert "github_pat_secret123" not in repr(settings) and "hook-secret" not in repr(settings)
    assert load_settings(None, {}).github_api_url == "https://api.github.com"


def test_github_mistakes_are_explained(tmp_path: Path) -> None:
    path = tmp_path / "q.toml"
    path.write_text('[github]\nrepositories = ["tvm"]\nlabels = { community = "" }\npoll_seconds = 5\n'
                    'token = "ghp_oops"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    text = str(caught.value)
    assert "'tvm' is not a repository: write it as owner/name" in text
    assert "the label of series 'community' must be a label name" in text
    assert "github.poll_seconds: must be between 60 and 86400" in text
    assert "line 5: github.token: secrets are read only from environment variables" in text and "GITHUB_TOKEN" in text
    assert "ghp_oops" not in text


def test_github_token_is_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("quorum.test.redact-github")
    logger.addFilter(RedactSecrets(Secrets(github_token="github_pat_11ABCDEF")))
    with caplog.at_level(logging.INFO, logger="quorum.test.redact-github"):
        logger.info("calling with %s", "github_pat_11ABCDEF")
    assert "github_pat_11ABCDEF" not in caplog.text and "[redacted]" in caplog.text
def test_default_database_is_beside_the_config_or_in_the_data_dir(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "quorum.toml"
    config.parent.mkdir()
    config.write_text("[web]\nport = 8080\n", encoding="utf-8")
    assert load_settings(config, {}).database_url == f"sqlite+aiosqlite:///{tmp_path / 'etc' / 'quorum.db'}"
    data = load_settings(config, {"QUORUM_DATA_DIR": str(tmp_path / "data")})
    assert data.database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'quorum.db'}"
    # No config file: the user's data folder, never the current directory.
    alone = load_settings(None, {"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert alone.database_url == f"sqlite+aiosqlite:///{tmp_path / 'xdg' / 'quorum' / 'quorum.db'}"


def test_a_relative_sqlite_path_in_the_file_is_read_from_the_config_folder(tmp_path: Path) -> None:
    config = tmp_path / "quorum.toml"
    config.write_text('[database]\nurl = "sqlite+aiosqlite:///data/q.db"\n', encoding="utf-8")
    assert load_settings(config, {}).database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'q.db'}"
    config.write_text('[database]\nurl = "sqlite+aiosqlite:////srv/q.db"\n', encoding="utf-8")
    assert load_settings(config, {}).database_url == "sqlite+aiosqlite:////srv/q.db"


def test_quorum_port_and_host_override_the_file(tmp_path: Path) -> None:
    config = tmp_path / "quorum.toml"
    config.write_text('[web]\nport = 8080\nhost = "127.0.0.1"\n', encoding="utf-8")
    settings = load_settings(config, {"QUORUM_PORT": "9090", "QUORUM_HOST": "0.0.0.0"})
    assert (settings.web.host, settings.web.port) == ("0.0.0.0", 9090)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, {"QUORUM_PORT": "0"})
    assert str(caught.value) == "QUORUM_PORT: '0' is not a port: give a number between 1 and 65535"


def test_a_config_that_is_not_utf8_is_one_problem(tmp_path: Path) -> None:
    config = tmp_path / "quorum.toml"
    config.write_bytes(b"[web]\n# caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, {})
    (problem,) = caught.value.problems
    assert problem.line == 2 and "is not UTF-8 text" in problem.message
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


def test_discord_shards_from_the_file_and_per_replica_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "quorum.toml"
    config.write_text("[discord]\nshard_count = 4\nshard_ids = [0, 1]\n", encoding="utf-8")
    discord = load_settings(config, {}).discord
    assert (discord.shard_count, discord.shard_ids, discord.own_shards) == (4, (0, 1), (0, 1))
    # Replicas share the file; each is given its own shards by its environment.
    discord = load_settings(config, {"DISCORD_SHARD_IDS": "2, 3"}).discord
    assert (discord.shard_count, discord.own_shards) == (4, (2, 3))
    discord = load_settings(None, {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "1"}).discord
    assert (discord.shard_count, discord.own_shards) == (2, (1,))
    # A count alone runs every shard in this process; nothing at all stays unsharded, as before.
    assert load_settings(None, {"DISCORD_SHARD_COUNT": "3"}).discord.own_shards == (0, 1, 2)
    unsharded = load_settings(None, {}).discord
    assert not unsharded.sharded and unsharded.own_shards == ()


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("shard_ids = [0]\n", {},
     "line 2: discord.shard_ids: needs shard_count too ([discord] shard_count or DISCORD_SHARD_COUNT): the total "
     "number of shards, the same on every replica"),
    ("shard_count = 2\nshard_ids = [0, 2]\n", {},
     "line 3: discord.shard_ids: has shard 2, but with shard_count 2 the ids run from 0 to 1"),
    ("shard_count = 2\nshard_ids = [1, 1]\n", {},
     "line 3: discord.shard_ids: names shard 1 twice: give each shard id once"),
    ("shard_count = 2\nshard_ids = []\n", {},
     "line 3: discord.shard_ids: is empty: list this replica's shard ids, or leave it out to run every shard here"),
    ("shard_count = 0\n", {},
     "line 2: discord.shard_count: is 0: give the total number of shards, 1 or more, the same on every replica"),
    ('shard_count = "2"\n', {}, "line 2: discord.shard_count: must be a whole number, not a string in quotes"),
    ("shard_count = 4\n", {"DISCORD_SHARD_IDS": "0,4"},
     "DISCORD_SHARD_IDS: has shard 4, but with shard_count 4 the ids run from 0 to 3"),
    ("shard_count = 4\n", {"DISCORD_SHARD_IDS": "0,one"},
     "DISCORD_SHARD_IDS: 'one' is not a shard id: give whole numbers from 0, e.g. \"0,1\""),
    ("", {"DISCORD_SHARD_IDS": "0"},
     "DISCORD_SHARD_IDS: needs shard_count too ([discord] shard_count or DISCORD_SHARD_COUNT): the total number "
     "of shards, the same on every replica"),
    ("", {"DISCORD_SHARD_COUNT": "four"},
     "DISCORD_SHARD_COUNT: 'four' is not a number of shards: give a whole number such as 2"),
    ("shard = 2\n", {},
     "line 2: discord.shard: unknown key; known keys are application_id, guild_ids, members_intent, shard_count, "
     "shard_ids, sync_global"),
])
def test_discord_shard_mistakes_are_explained(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    config = tmp_path / "quorum.toml"
    config.write_text(f"[discord]\n{text}", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env)
    assert str(caught.value) == expected
