"""Typed settings from the TOML config file and the environment. The only reader of either.

Secrets (platform tokens) come only from the environment and are kept out of ``repr`` so they never
reach a log line."""

from __future__ import annotations

import os
import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.errors import InvalidInput
from bot.rules.parsing import parse_duration, parse_zone

LogFormat = Literal["text", "json"]
LOG_FORMATS: dict[str, LogFormat] = {"text": "text", "json": "json"}

DEFAULT_CONFIG_PATH = Path("config/quorum.toml")
EXAMPLE_CONFIG_PATH = Path("config/quorum.example.toml")
# What ``Settings()`` holds when built in code; ``load_settings`` replaces it by ``default_database_url``.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/quorum.db"
DATABASE_FILE_NAME = "quorum.db"


@dataclass(frozen=True)
class RoleConfig:
    name: str
    members: tuple[str, ...] = ()
    discord_role: str | None = None
    slack_usergroup: str | None = None


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://localhost:8080"


@dataclass(frozen=True)
class ReminderConfig:
    member_offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    author_offset: timedelta = timedelta(hours=1)
    channel_before_deadline: timedelta = timedelta(hours=2)
    vote_before_close: timedelta = timedelta(hours=24)
    max_attempts: int = 6


# Sent outbox rows are kept at least this long: the planners decide "already written?" by the keys they
# find, and look back at most two days (bot/services/reminders.py LOOKBACK; tests/services/test_outbox_prune.py
# checks the margin), so a shorter retention could let a message be written, and sent, twice.
MIN_OUTBOX_RETENTION_DAYS = 7


@dataclass(frozen=True)
class OutboxConfig:
    # Sent messages are deleted this long after they were sent and stopped being useful (docs/reminders.md).
    retention: timedelta = timedelta(days=90)
    # Messages one process sends at once. A process killed mid-send may repeat at most this many (those sent
    # whose outcome was not written yet): 1 trades speed for never more than one repeat per crash.
    concurrency: int = 64
    # How long a claim on due messages lasts: a crashed process's claims are taken over after it.
    lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class DiscordConfig:
    guild_ids: tuple[int, ...] = ()
    sync_global: bool = False
    application_id: int | None = None  # for `quorum discord invite-url`
    members_intent: bool = False  # privileged; lets role holders be listed for vote electorates
    # Gateway sharding (docs/operations.md): None keeps one unsharded connection holding every guild.
    # ``shard_count`` alone runs all its shards here; ``shard_ids`` picks this replica's share of them.
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    @property
    def sharded(self) -> bool:
        return self.shard_count is not None

    @property
    def holds_every_shard(self) -> bool:
        """This process sees every guild the bot is in (unsharded, or all the shards here)."""
        return self.shard_count is None or set(self.own_shards) == set(range(self.shard_count))

    @property
    def own_shards(self) -> tuple[int, ...]:
        """The shards this process connects (empty when unsharded)."""
        if self.shard_count is None:
            return ()
        return self.shard_ids if self.shard_ids is not None else tuple(range(self.shard_count))


@dataclass(frozen=True)
class GitHubConfig:
    """``[github]``: the repositories whose issues and pull requests Quorum reads and comments on, and the
    label that puts an item on each series' agenda (series slug -> label). docs/github.md."""

    repositories: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    poll_seconds: int = 300

    def series_of_label(self, label: str) -> list[str]:
        return [slug for slug, name in self.labels.items() if name.lower() == label.lower()]

    def configured(self, repo: str) -> bool:
        return repo.lower() in (r.lower() for r in self.repositories)


DEFAULT_GITHUB_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class ForumConfig:
    """The community's Discourse forum (docs/forum.md). Off unless ``url`` is set and DISCOURSE_API_KEY is."""

    url: str | None = None  # e.g. https://discuss.tvm.apache.org
    username: str = "system"  # the account the API key acts as (Api-Username)
    category: str | None = None  # default category (id or slug) for series with no forum_category of their own
    vote_category: str | None = None  # where [VOTE] topics go (default: ``category``)
    # A meeting's topic opens right after the previous meeting, but never more than this before it.
    topic_lead: timedelta = timedelta(days=7)
    # How long adding an agenda item waits for the forum to tell a linked topic's title.
    lookup_timeout: timedelta = timedelta(seconds=3)

    @property
    def host(self) -> str | None:
        return urlsplit(self.url).hostname if self.url else None


@dataclass(frozen=True)
class Secrets:
    """Tokens from the environment. ``repr`` names which are present, never their values."""

    discord_token: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    github_token: str | None = field(default=None, repr=False)
    github_webhook_secret: str | None = field(default=None, repr=False)
    discourse_api_key: str | None = field(default=None, repr=False)
    # When set, GET /metrics asks for it as a bearer token.
    metrics_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Secrets(present={[name for name, _ in self.present()]})"

    def present(self) -> list[tuple[str, str]]:
        """(field name, value) of every secret that is set, whatever secrets are added later."""
        return [(item.name, value) for item in fields(self) if (value := getattr(self, item.name))]

    @property
    def discord_enabled(self) -> bool:
        return bool(self.discord_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def github_enabled(self) -> bool:
        return bool(self.github_token)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    web: WebConfig = WebConfig()
    roles: Mapping[str, RoleConfig] = field(default_factory=lambda: {"PMC": RoleConfig("PMC")})
    chair_roles: tuple[str, ...] = ("PMC",)
    binding_role: str = "PMC"
    # Role evidence from commands (the platform reported the role when the member acted) counts toward a
    # vote's electorate only when at most this old ([permissions] role_evidence_days, docs/votes.md).
    role_evidence: timedelta = timedelta(days=30)
    default_display_zones: tuple[str, ...] = ("UTC",)
    allowed_link_hosts: tuple[str, ...] = ()
    reminders: ReminderConfig = ReminderConfig()
    outbox: OutboxConfig = OutboxConfig()
    discord: DiscordConfig = DiscordConfig()
    forum: ForumConfig = ForumConfig()
    tick_seconds: int = 30
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    # This process's name among the replicas, stable across its restarts (QUORUM_REPLICA, else host:port):
    # what it acknowledged but did not finish before dying, it runs again as soon as it is back.
    replica: str = "quorum"
    secrets: Secrets = Secrets()
    slack_api_url: str | None = None
    discord_api_url: str | None = None
    github: GitHubConfig = GitHubConfig()
    github_api_url: str = DEFAULT_GITHUB_API_URL
    source: str = "built-in defaults"

    @property
    def forum_enabled(self) -> bool:
        """A forum URL in the config and its API key in the environment: the forum notifier runs."""
        return bool(self.forum.url and self.secrets.discourse_api_key)

    def role_members(self, role: str) -> tuple[str, ...]:
        config = self.roles.get(role)
        return config.members if config else ()

    def config_roles_of(self, member_id: str) -> frozenset[str]:
        return frozenset(name for name, role in self.roles.items() if member_id in role.members)


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.key}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem], source: str) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
        self.source = source


def resolve_config_path(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """``--config``, else ``$QUORUM_CONFIG``, else ``config/quorum.toml`` if present, else none."""
    if explicit:
        return Path(explicit)
    if env.get("QUORUM_CONFIG"):
        return Path(env["QUORUM_CONFIG"])
    if DEFAULT_CONFIG_PATH.exists():
        return DEFAULT_CONFIG_PATH
    return None


def load_settings(path: Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate; raises ``ConfigError`` listing every problem with its line."""
    environ = os.environ if env is None else env
    raw: dict[str, Any] = {}
    text = ""
    source = "built-in defaults"
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            bad_line = path.read_bytes()[:exc.start].count(b"\n") + 1
            raise ConfigError([ConfigProblem("file", f"is not UTF-8 text (byte {exc.start + 1} cannot be read): "
                                             "save the file as UTF-8 and try again", bad_line)], str(path)) from exc
        except OSError as exc:
            raise ConfigError([ConfigProblem(str(path), f"cannot read the file ({exc.strerror})")], str(path)) from exc
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # Python 3.11's TOMLDecodeError has no lineno attribute; the message says "(at line N, column M)".
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
            message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            raise ConfigError([ConfigProblem("toml", f"not valid TOML: {message}", line)], str(path)) from exc
        source = str(path)
    return _build(raw, text, environ, source, path)


def default_database_url(config_path: Path | None, env: Mapping[str, str]) -> str:
    """The SQLite file used when no URL is configured: in ``$QUORUM_DATA_DIR``, else beside the config
    file, else in the user's data folder (``$XDG_DATA_HOME/quorum``, else ``~/.local/share/quorum``). Never
    the current directory: the same command run from another folder must find the same database."""
    return _sqlite_url(_default_data_dir(config_path, env) / DATABASE_FILE_NAME)


def _default_data_dir(config_path: Path | None, env: Mapping[str, str]) -> Path:
    if env.get("QUORUM_DATA_DIR"):
        return Path(env["QUORUM_DATA_DIR"]).expanduser().absolute()
    if config_path is not None:
        return config_path.expanduser().absolute().parent
    return user_data_dir(env)


def user_data_dir(env: Mapping[str, str]) -> Path:
    """Quorum's own folder for a config-less start (created by the commands that create the database)."""
    base = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else Path.home() / ".local" / "share"
    return base.expanduser().absolute() / "quorum"


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


_KNOWN = {
    "database": {"url"},
    "web": {"host", "port", "public_url"},
    "permissions": {"chair_roles", "binding_role", "role_evidence_days"},
    "defaults": {"display_zones", "allowed_link_hosts"},
    "reminders": {"member_offsets", "author_offset", "channel_before_deadline", "vote_before_close",
                  "max_attempts"},
    "outbox": {"retention_days", "concurrency", "lease_seconds"},
    "discord": {"guild_ids", "sync_global", "application_id", "members_intent", "shard_count", "shard_ids"},
    "forum": {"url", "username", "category", "vote_category", "topic_lead", "lookup_timeout_seconds"},
    "scheduler": {"tick_seconds"},
    "github": {"repositories", "labels", "poll_seconds"},
    "logging": {"level", "format"},
    "roles": None,  # any role name
}
_ROLE_KEYS = {"members", "discord_role", "slack_usergroup"}
_SECRET_KEYS = {"token", "discord_token", "slack_bot_token", "slack_signing_secret", "slack_app_token",
                "signing_secret", "bot_token", "app_token", "api_key", "discourse_api_key"}
_SECRET_ENV = ("DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, GITHUB_TOKEN, "
               "GITHUB_WEBHOOK_SECRET, DISCOURSE_API_KEY")
_TYPE_NAMES = {int: "a whole number", str: "a string in quotes", bool: "true or false", list: "a list [..]",
               float: "a number", dict: "a table"}
_MEMBER_ID = re.compile(r"^(console:[^\s:]+|discord:\d+|slack:[A-Z0-9]+:[A-Z0-9]+)$")


class _Reader:
    def __init__(self, raw: dict[str, Any], text: str) -> None:
        self.raw = raw
        self.lines = text.splitlines()
        self.problems: list[ConfigProblem] = []

    def line_of(self, table: str, key: str | None) -> int | None:
        """The line of ``key`` inside ``[table]`` (or of the table header when key is None)."""
        current = ""
        header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
        for number, line in enumerate(self.lines, start=1):
            found = header.match(line)
            if found:
                current = found.group(1).replace('"', "").replace(" ", "")
                if key is None and current == table:
                    return number
                continue
            if key is not None and current == table and re.match(rf"^\s*{re.escape(key)}\s*=", line):
                return number
        return None

    def problem(self, table: str, key: str | None, message: str) -> None:
        name = f"{table}.{key}" if key else table
        self.problems.append(ConfigProblem(name, message, self.line_of(table, key)))

    def table(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name, {})
        if not isinstance(value, dict):
            self.problem(name, None, "must be a table, written [" + name + "]")
            return {}
        return value

    def get(self, table: str, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        value = self.table(table).get(key, default)
        if value is default:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.problem(table, key, f"must be {names}, not {_TYPE_NAMES.get(type(value), type(value).__name__)}")
            return default
        return value

    def strings(self, table: str, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(table, key, list, None)
        if value is None:
            return default
        if not all(isinstance(v, str) for v in value):
            self.problem(table, key, "must be a list of strings")
            return default
        return tuple(value)

    def duration(self, table: str, key: str, default: timedelta) -> timedelta:
        value = self.get(table, key, str, None)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except InvalidInput as exc:
            self.problem(table, key, exc.message)
            return default


def _build(raw: dict[str, Any], text: str, env: Mapping[str, str], source: str, path: Path | None) -> Settings:
    """Each section is read by its own function; their problems are collected, each with its line, and
    raised together so one run of ``quorum check-config`` lists them all."""
    reader = _Reader(raw, text)
    _check_known(reader, raw)
    database_url = _database_url(reader, env, path)
    web = _web(reader, env)
    roles, chair_roles, binding_role = _permissions(reader, _roles(reader))
    zones = _display_zones(reader)
    hosts = tuple(h.lower() for h in reader.strings("defaults", "allowed_link_hosts", ()))
    reminders = _reminders(reader)
    discord = _discord(reader, env)
    outbox = _outbox(reader)
    forum = _forum(reader)
    tick = _tick_seconds(reader)
    level = _log_level(reader)
    log_format = _log_format(reader, env)
    github = _github(reader)
    evidence_days = reader.get("permissions", "role_evidence_days", int, 30)
    if not 1 <= evidence_days <= 3650:
        reader.problem("permissions", "role_evidence_days", f"is {evidence_days}: give a number of days from 1 "
                       "to 3650 (default 30)")
        evidence_days = 30
    if reader.problems:
        raise ConfigError(reader.problems, source)
    return Settings(
        database_url=database_url,
        web=web,
        roles=roles,
        chair_roles=chair_roles,
        binding_role=binding_role,
        role_evidence=timedelta(days=evidence_days),
        default_display_zones=zones,
        allowed_link_hosts=hosts,
        reminders=reminders,
        outbox=outbox,
        discord=discord,
        forum=forum,
        tick_seconds=tick,
        log_level=level,
        log_format=log_format,
        replica=env.get("QUORUM_REPLICA") or f"{socket.gethostname()}:{web.port}",
        secrets=_secrets(env),
        slack_api_url=env.get("SLACK_API_URL") or None,
        discord_api_url=env.get("DISCORD_API_URL") or None,
        github=github,
        github_api_url=(env.get("GITHUB_API_URL") or DEFAULT_GITHUB_API_URL).rstrip("/"),
        source=source,
    )


def _check_known(reader: _Reader, raw: dict[str, Any]) -> None:
    """Unknown sections and keys are problems; so is a secret anywhere in the file."""
    for table, value in raw.items():
        if table not in _KNOWN:
            if isinstance(value, dict) and any("token" in k or "secret" in k for k in value):
                reader.problem(table, None, "holds a secret: tokens are read only from environment variables "
                               f"({_SECRET_ENV}); remove it")
            else:
                reader.problem(table, None, f"unknown section; known sections are {', '.join(sorted(_KNOWN))}")
            continue
        keys = _KNOWN[table]
        if keys is not None and isinstance(value, dict):
            for key in value:
                if key in _SECRET_KEYS or "token" in key or "secret" in key:
                    reader.problem(table, key, f"secrets are read only from environment variables ({_SECRET_ENV}); "
                                   "remove it from the file")
                elif key not in keys:
                    reader.problem(table, key, f"unknown key; known keys are {', '.join(sorted(keys))}")


def _database_url(reader: _Reader, env: Mapping[str, str], config_path: Path | None) -> str:
    if env.get("QUORUM_DATABASE_URL"):
        database_url = env["QUORUM_DATABASE_URL"]
    else:
        written: str | None = reader.get("database", "url", str, None)
        database_url = (default_database_url(config_path, env) if written is None
                        else _beside_config(written, config_path))
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        reader.problem("database", "url", "must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    elif database_url.startswith("sqlite+aiosqlite://") and _sqlite_in_memory(database_url):
        reader.problem("database", "url", "names no file (an in-memory SQLite database is lost when Quorum "
                       "stops, and each connection would see its own): give a path, e.g. "
                       "sqlite+aiosqlite:///data/quorum.db")
    return database_url


def _beside_config(url: str, config_path: Path | None) -> str:
    """A relative SQLite path in the config file is read from the config file's folder, not from the
    current directory, so the database does not depend on where the command runs."""
    prefix = "sqlite+aiosqlite:///"
    if config_path is None or not url.startswith(prefix):
        return url
    database, _, query = url.removeprefix(prefix).partition("?")
    if not database or database.startswith(("/", "~", ":")) or database.startswith("file:"):
        return url
    return _sqlite_url(config_path.expanduser().absolute().parent / database) + (f"?{query}" if query else "")


def _web(reader: _Reader, env: Mapping[str, str]) -> WebConfig:
    port = reader.get("web", "port", int, 8080)
    if not 0 < port < 65536:
        reader.problem("web", "port", "must be between 1 and 65535")
        port = 8080
    if env.get("QUORUM_PORT"):
        # The environment (and quorum run --port, which sets it) wins over the file.
        text = env["QUORUM_PORT"].strip()
        if text.isdigit() and 0 < int(text) < 65536:
            port = int(text)
        else:
            reader.problems.append(ConfigProblem("QUORUM_PORT", f"'{text[:20]}' is not a port: give a number "
                                                 "between 1 and 65535"))
    host: str = env.get("QUORUM_HOST") or reader.get("web", "host", str, "127.0.0.1")
    public_url = reader.get("web", "public_url", str, f"http://localhost:{port}")
    if not public_url.startswith(("http://", "https://")):
        reader.problem("web", "public_url", "must start with http:// or https://")
    return WebConfig(host=host, port=port, public_url=public_url.rstrip("/"))


def _roles(reader: _Reader) -> dict[str, RoleConfig]:
    """The ``[roles.NAME]`` tables as written (none: an empty mapping)."""
    roles: dict[str, RoleConfig] = {}
    for role_name, role_raw in reader.table("roles").items():
        if not isinstance(role_raw, dict):
            reader.problem("roles", role_name, "must be a table, written [roles." + role_name + "]")
            continue
        roles[role_name] = _role(reader, role_name, role_raw)
    return roles


def _role(reader: _Reader, role_name: str, role_raw: dict[str, Any]) -> RoleConfig:
    table = f"roles.{role_name}"
    for key in role_raw:
        if key not in _ROLE_KEYS:
            reader.problem(table, key, f"unknown key; known keys are {', '.join(sorted(_ROLE_KEYS))}")
    members = role_raw.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        reader.problem(table, "members", "must be a list of member ids such as \"console:alice\"")
        members = []
    for member in members:
        if not _MEMBER_ID.match(member):
            reader.problem(table, "members", f"'{member}' is not a member id: use console:NAME, "
                           "discord:USER_ID or slack:TEAM_ID:USER_ID")
    discord_role = role_raw.get("discord_role")
    slack_group = role_raw.get("slack_usergroup")
    for key, value in (("discord_role", discord_role), ("slack_usergroup", slack_group)):
        if value is not None and not isinstance(value, str | int):
            reader.problem(table, key, "must be a string")
    return RoleConfig(
        name=role_name,
        members=tuple(members),
        discord_role=str(discord_role) if discord_role is not None else None,
        slack_usergroup=str(slack_group).lstrip("@") if slack_group is not None else None,
    )


def _permissions(
    reader: _Reader, roles: dict[str, RoleConfig]
) -> tuple[dict[str, RoleConfig], tuple[str, ...], str]:
    """(roles, chair roles, binding role). Without ``[roles]`` tables the roles named here exist, empty;
    with them, every role named here must be one of them."""
    chair_roles = reader.strings("permissions", "chair_roles", ("PMC",))
    binding_role: str = reader.get("permissions", "binding_role", str, "PMC")
    if not roles:
        roles = {name: RoleConfig(name) for name in {*chair_roles, binding_role}}
    for role in (*chair_roles, binding_role):
        if role not in roles:
            key = "binding_role" if role == binding_role else "chair_roles"
            reader.problem("permissions", key, f"role '{role}' is not declared; add a [roles.{role}] table")
    return roles, chair_roles, binding_role


def _display_zones(reader: _Reader) -> tuple[str, ...]:
    """The zones' canonical keys; an unknown zone is a problem (and is left out)."""
    keys = []
    for zone in reader.strings("defaults", "display_zones", ("UTC",)):
        try:
            keys.append(parse_zone(zone).key)
        except InvalidInput as exc:
            reader.problem("defaults", "display_zones", exc.message)
    return tuple(keys)


def _reminders(reader: _Reader) -> ReminderConfig:
    return ReminderConfig(
        member_offsets=tuple(
            _offsets(reader, reader.strings("reminders", "member_offsets", ("24h", "1h")))
        ),
        author_offset=reader.duration("reminders", "author_offset", timedelta(hours=1)),
        channel_before_deadline=reader.duration("reminders", "channel_before_deadline", timedelta(hours=2)),
        vote_before_close=reader.duration("reminders", "vote_before_close", timedelta(hours=24)),
        max_attempts=reader.get("reminders", "max_attempts", int, 6),
    )


def _whole_number(value: object) -> int | None:
    """A TOML integer or a string of digits (ids are often quoted), as an int; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _discord(reader: _Reader, env: Mapping[str, str]) -> DiscordConfig:
    guild_ids_raw = reader.get("discord", "guild_ids", list, [])
    guild_ids: list[int] = []
    for gid in guild_ids_raw:
        number = _whole_number(gid)
        if number is None:
            reader.problem("discord", "guild_ids", f"'{gid}' is not a guild id (a number)")
        else:
            guild_ids.append(number)
    application_id = reader.get("discord", "application_id", (int, str), None)
    if application_id is not None and not str(application_id).isdigit():
        reader.problem("discord", "application_id", f"'{application_id}' is not an application id (a number)")
        application_id = None
    shard_count, shard_ids = _shards(reader, env)
    return DiscordConfig(guild_ids=tuple(guild_ids),
                         sync_global=reader.get("discord", "sync_global", bool, False),
                         application_id=int(application_id) if application_id is not None else None,
                         members_intent=reader.get("discord", "members_intent", bool, False),
                         shard_count=shard_count, shard_ids=shard_ids)


def _shards(reader: _Reader, env: Mapping[str, str]) -> tuple[int | None, tuple[int, ...] | None]:
    """``[discord] shard_count`` and ``shard_ids``, each overridden by ``DISCORD_SHARD_COUNT`` /
    ``DISCORD_SHARD_IDS`` ("0,1"): replicas usually share one file, so each is given its shards by its
    environment. Invalid values leave the process unsharded (and are problems, so it does not start)."""
    count_where: tuple[str, str | None] = ("discord", "shard_count")
    ids_where: tuple[str, str | None] = ("discord", "shard_ids")

    def problem(where: tuple[str, str | None], message: str) -> None:
        table, key = where
        if key is None:  # an environment variable: no line to point at
            reader.problems.append(ConfigProblem(table, message))
        else:
            reader.problem(table, key, message)

    count: int | None = reader.get("discord", "shard_count", int, None)
    if env.get("DISCORD_SHARD_COUNT", "").strip():
        count_where = ("DISCORD_SHARD_COUNT", None)
        text = env["DISCORD_SHARD_COUNT"].strip()
        count = int(text) if text.isdigit() else None
        if count is None:
            problem(count_where, f"'{text[:20]}' is not a number of shards: give a whole number such as 2")
            return None, None
    if count is not None and count < 1:
        problem(count_where, f"is {count}: give the total number of shards, 1 or more, the same on every replica")
        return None, None

    raw_ids: list[Any] | None = reader.get("discord", "shard_ids", list, None)
    if env.get("DISCORD_SHARD_IDS", "").strip():
        ids_where = ("DISCORD_SHARD_IDS", None)
        raw_ids = [part.strip() for part in env["DISCORD_SHARD_IDS"].split(",")]
    if raw_ids is None:
        return count, None
    ids: list[int] = []
    for value in raw_ids:
        number = _whole_number(value)
        if number is None:
            problem(ids_where, f"'{value}' is not a shard id: give whole numbers from 0, e.g. \"0,1\"")
            return count, None
        ids.append(number)
    if not ids:
        problem(ids_where, "is empty: list this replica's shard ids, or leave it out to run every shard here")
        return count, None
    if count is None:
        problem(ids_where, "needs shard_count too ([discord] shard_count or DISCORD_SHARD_COUNT): the total "
                           "number of shards, the same on every replica")
        return None, None
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        problem(ids_where, f"names shard {repeated[0]} twice: give each shard id once")
        return count, None
    outside = [i for i in ids if i >= count]
    if outside:
        problem(ids_where, f"has shard {outside[0]}, but with shard_count {count} the ids run from 0 to {count - 1}")
        return count, None
    return count, tuple(ids)


def _outbox(reader: _Reader) -> OutboxConfig:
    retention_days = reader.get("outbox", "retention_days", int, 90)
    if retention_days < MIN_OUTBOX_RETENTION_DAYS:
        reader.problem("outbox", "retention_days",
                       f"must be at least {MIN_OUTBOX_RETENTION_DAYS} (days): the reminder planners look back up to "
                       "2 days for what they already wrote, so sent messages must be kept longer than that")
        retention_days = 90
    concurrency: int = reader.get("outbox", "concurrency", int, 64)
    if not 1 <= concurrency <= 256:
        reader.problem("outbox", "concurrency", "must be between 1 and 256 (messages sent at once by one process)")
        concurrency = 64
    lease_seconds: int = reader.get("outbox", "lease_seconds", int, 120)
    if not 5 <= lease_seconds <= 3600:
        reader.problem("outbox", "lease_seconds", "must be between 5 and 3600 (seconds a claim on due messages lasts)")
        lease_seconds = 120
    return OutboxConfig(retention=timedelta(days=retention_days), concurrency=concurrency,
                        lease=timedelta(seconds=lease_seconds))


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _forum(reader: _Reader) -> ForumConfig:
    url = reader.get("forum", "url", str, None)
    if url is not None:
        url = url.rstrip("/")
        if not url.startswith(("https://", "http://")):
            reader.problem("forum", "url", f"'{url}' is not a web address: write it like https://discuss.example.org")
            url = None
    category = reader.get("forum", "category", (str, int), None)
    lead = reader.duration("forum", "topic_lead", timedelta(days=7))
    if not timedelta(hours=1) <= lead <= timedelta(days=28):
        reader.problem("forum", "topic_lead", "must be between 1h and 28d")
        lead = timedelta(days=7)
    timeout = reader.get("forum", "lookup_timeout_seconds", (int, float), 3)
    if not 0 < timeout <= 30:
        reader.problem("forum", "lookup_timeout_seconds", "must be more than 0 and at most 30")
        timeout = 3
    return ForumConfig(url=url, username=reader.get("forum", "username", str, "system"),
                       category=str(category) if category is not None else None, topic_lead=lead,
                       vote_category=_optional_str(reader.get("forum", "vote_category", (str, int), None)),
                       lookup_timeout=timedelta(seconds=timeout))


def _tick_seconds(reader: _Reader) -> int:
    tick: int = reader.get("scheduler", "tick_seconds", int, 30)
    if not 1 <= tick <= 3600:
        reader.problem("scheduler", "tick_seconds", "must be between 1 and 3600")
        tick = 30
    return tick


def _log_level(reader: _Reader) -> str:
    level: str = reader.get("logging", "level", str, "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        reader.problem("logging", "level", "must be DEBUG, INFO, WARNING or ERROR")
        level = "INFO"
    return level


def _log_format(reader: _Reader, env: Mapping[str, str]) -> LogFormat:
    """``QUORUM_LOG_FORMAT`` (the environment wins, as deployments set it there) or ``[logging] format``."""
    chosen: str = (env.get("QUORUM_LOG_FORMAT") or reader.get("logging", "format", str, "text")).lower()
    if chosen in LOG_FORMATS:
        return LOG_FORMATS[chosen]
    reader.problem("logging", "format", f"must be text or json (QUORUM_LOG_FORMAT or [logging] format), not {chosen!r}")
    return "text"
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_LABEL_MAX = 50  # GitHub's own limit on a label's name


def _github(reader: _Reader) -> GitHubConfig:
    repositories = reader.strings("github", "repositories", ())
    for repo in repositories:
        if not _REPOSITORY.match(repo):
            reader.problem("github", "repositories", f"'{repo}' is not a repository: write it as owner/name, "
                           "e.g. apache/tvm")
    labels_raw = reader.get("github", "labels", dict, {})
    labels: dict[str, str] = {}
    for slug, label in labels_raw.items():
        if not isinstance(label, str) or not label.strip() or len(label) > _LABEL_MAX:
            reader.problem("github", "labels", f"the label of series '{slug}' must be a label name in quotes "
                           f"(at most {_LABEL_MAX} characters), e.g. {{ {slug} = \"{slug}-meeting\" }}")
            continue
        labels[str(slug)] = label.strip()
    if labels and not repositories:
        reader.problem("github", "repositories", "labels are set but no repository is: list the repositories "
                       "whose labelled issues become agenda items, e.g. repositories = [\"apache/tvm\"]")
    poll: int = reader.get("github", "poll_seconds", int, 300)
    if not 60 <= poll <= 86400:
        reader.problem("github", "poll_seconds", "must be between 60 and 86400 (seconds)")
        poll = 300
    return GitHubConfig(repositories=tuple(repositories), labels=labels, poll_seconds=poll)


def _secrets(env: Mapping[str, str]) -> Secrets:
    return Secrets(
        discord_token=env.get("DISCORD_TOKEN") or None,
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        metrics_token=env.get("QUORUM_METRICS_TOKEN") or None,
        github_token=env.get("GITHUB_TOKEN") or None,
        github_webhook_secret=env.get("GITHUB_WEBHOOK_SECRET") or None,
        discourse_api_key=env.get("DISCOURSE_API_KEY") or None,
    )


def _offsets(reader: _Reader, values: tuple[str, ...]) -> list[timedelta]:
    offsets = []
    for value in values:
        try:
            offsets.append(parse_duration(value))
        except InvalidInput as exc:
            reader.problem("reminders", "member_offsets", exc.message)
    return offsets


def _sqlite_in_memory(url: str) -> bool:
    database = url.removeprefix("sqlite+aiosqlite://").removeprefix("/").split("?", 1)[0]
    return database in ("", ":memory:") or database.startswith("file::memory:") or "mode=memory" in url
