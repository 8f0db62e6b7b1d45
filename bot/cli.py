"""The ``quorum`` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from bot.errors import OperatorError
from bot.logs import configure_logging

if TYPE_CHECKING:  # the app (every layer) is imported only by the subcommands that need it
    from bot.app import App
    from bot.clock import Clock
    from bot.rules.vote_log import HeldDigest


def _settings(args: argparse.Namespace) -> Settings:
    path = resolve_config_path(args.config, os.environ)
    env = dict(os.environ)
    # quorum run --port/--host mean what QUORUM_PORT/QUORUM_HOST mean (over the config file).
    if getattr(args, "port", None) is not None:
        env["QUORUM_PORT"] = str(args.port)
    if getattr(args, "host", None):
        env["QUORUM_HOST"] = args.host
    return load_settings(path, env)


def _can_create_database(settings: Settings) -> None:
    """Before a command that creates the database (run, db upgrade, console): Quorum's own per-user folder is
    created when the config-less default database lives there; a folder the operator named is never
    created, and one that is missing or may not be written is an ``OperatorError``."""
    from bot.config import DATABASE_FILE_NAME, user_data_dir
    from storage.problems import sqlite_cannot_open, sqlite_file

    own = user_data_dir(os.environ)
    if sqlite_file(settings.database_url) == own / DATABASE_FILE_NAME:
        own.mkdir(parents=True, exist_ok=True)
    problem = sqlite_cannot_open(settings.database_url)
    if problem is not None:
        raise OperatorError(problem)


def cmd_check_config(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.config, os.environ)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{exc.source}: {problem}")
        return 1
    print(f"ok ({settings.source})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.run import run

    settings = _settings(args)
    _can_create_database(settings)
    configure_logging(settings.log_level, settings.secrets, settings.log_format)
    asyncio.run(run(settings))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade_sync

    settings = _settings(args)
    _can_create_database(settings)
    upgrade_sync(settings.database_url)
    print("database is up to date")
    return 0


def _with_app(args: argparse.Namespace, body: Callable[[App], Awaitable[int]], clock: Clock | None = None, *,
              console_as_json: bool = False, outbox_workspace: str | None = None, reads_only: bool = False) -> int:
    """Run ``body`` with a migrated app on the configured database, closing it whatever happens.
    ``reads_only`` (verify, export, outbox): a database that does not exist, or holds no Quorum tables,
    is an error, never created."""
    from bot.app import build_app, command_line_platforms

    settings = _settings(args)
    configure_logging("WARNING", settings.secrets, settings.log_format)
    if reads_only:
        _refuse_missing_database(settings, args.command)
    else:
        _can_create_database(settings)

    async def main() -> int:
        app = build_app(settings, clock, platforms=command_line_platforms(settings),
                        console_as_json=console_as_json, outbox_workspace=outbox_workspace)
        try:
            if reads_only:
                await _refuse_empty_database(app, args.command)
            await app.migrate()
        except BaseException:
            await app.close()
            raise
        try:
            return await body(app)
        finally:
            await app.close()

    return asyncio.run(main())


def _refuse_missing_database(settings: Settings, command: str) -> None:
    from storage.problems import sqlite_cannot_open, sqlite_file

    path = sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        raise OperatorError(f"There is no database at {path}, so quorum {command} has nothing to read: check the "
                            f"path (QUORUM_DATABASE_URL, [database] url in {_config_name(settings)}, "
                            "QUORUM_DATA_DIR); quorum run or quorum db upgrade creates it.")
    problem = sqlite_cannot_open(settings.database_url)
    if problem is not None:
        raise OperatorError(problem)


def _config_name(settings: Settings) -> str:
    return "the config" if settings.source == "built-in defaults" else settings.source


async def _refuse_empty_database(app: App, command: str) -> None:
    from storage.db import safe_url
    from storage.problems import holds_quorum_tables

    if not await holds_quorum_tables(app.db.engine):
        raise OperatorError(f"The database {safe_url(app.settings.database_url)} holds no Quorum data (no tables), "
                            f"so quorum {command} has nothing to read: check QUORUM_DATABASE_URL or [database] url "
                            f"in {_config_name(app.settings)}.")


def cmd_console(args: argparse.Namespace) -> int:
    from bot.adapters.console import console_actor, run_console
    from bot.clock import ManualClock
    from bot.contracts.actor import platform_of

    if args.tick and platform_of(args.workspace) != "console":
        print(f"--tick runs only for console workspaces: the messages of {args.workspace} are sent by quorum run "
              "on its platform.", file=sys.stderr)
        return 2

    async def body(app: App) -> int:
        after_each = None
        if args.tick:
            # One scheduler tick for this console workspace only: deadline steps (the announcement with
            # the fixed host and note-taker, or "no meeting this week"), held meetings, due reminders,
            # printed as they would be sent; then after each command what it put in the outbox. The
            # app's outbox dispatcher sends only this workspace's messages (see below).
            outbox = app.services.outbox_dispatcher
            await app.services.reminders.run_due(workspace_id=args.workspace)
            await outbox.dispatch_due()
            after_each = outbox.dispatch_due
        # No ticker runs in the console: fix the host/note-taker of meetings past their agenda deadline
        # (and not about to be cancelled for an empty agenda) as the deadline step of `quorum run` would
        # have, so answers match what a running bot shows.
        await app.services.rotation.fix_due()
        actor = console_actor(app.settings, args.workspace, args.user, args.role or [], args.channel)
        await run_console(app.dispatcher, actor, sys.stdin, sys.stdout, as_json=args.json, after_each=after_each)
        return 0

    return _with_app(args, body, None if args.now is None else ManualClock(args.now), console_as_json=args.json,
                     outbox_workspace=args.workspace if args.tick else None)


def cmd_export(args: argparse.Namespace) -> int:
    from bot.errors import QuorumError

    async def body(app: App) -> int:
        exporter = app.services.export
        try:
            if args.format == "json":
                sys.stdout.write(await exporter.as_json(args.series))
            elif args.format == "markdown":
                sys.stdout.write(await exporter.as_markdown(args.series))
            else:
                # The same bytes the HTTP feed serves; bytes, so written to the binary stream (CRLF kept).
                feed = await app.services.calendar.export(args.series, args.tz)
                sys.stdout.flush()
                sys.stdout.buffer.write(feed)
                sys.stdout.buffer.flush()
        except QuorumError as exc:
            print(exc.message, file=sys.stderr)
            return 1
        return 0

    return _with_app(args, body, reads_only=True)


def cmd_import(args: argparse.Namespace) -> int:
    """Restore a full JSON export into an empty database (created and migrated if need be), then check
    every vote's log in it."""
    import json

    from bot.errors import QuorumError
    from storage.db import safe_url

    try:
        with open(args.file, encoding="utf-8") as handle:
            exported = json.load(handle)
        if not isinstance(exported, dict):
            raise ValueError("the top level is not an object")
    except (OSError, ValueError) as exc:
        print(f"{args.file}: not a Quorum JSON export ({exc}); make one with quorum export --format json.",
              file=sys.stderr)
        return 2

    async def body(app: App) -> int:
        try:
            restored = await app.services.backup.restore(exported)
        except QuorumError as exc:
            print(exc.message, file=sys.stderr)
            return 1
        report = await app.services.vote_audit.verify()
        print(f"imported {restored.total} records into {safe_url(app.settings.database_url)}")
        if report.problem is not None:
            print(f"FAILED: the imported vote log does not verify: {report.problem}", file=sys.stderr)
            return 1
        print(f"ok: {report.votes} votes and {report.events} events match their hash chains")
        return 0

    return _with_app(args, body)


def cmd_discord_invite_url(args: argparse.Namespace) -> int:
    from bot.adapters.discord.client import invite_url

    settings = _settings(args)
    app_id = args.app_id or settings.discord.application_id
    if app_id is None:
        print("Give the application id: --app-id ID, or application_id under [discord] in the config "
              "(Discord developer portal, your application, General Information).", file=sys.stderr)
        return 2
    print(invite_url(app_id))
    return 0


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not an instant: write it like 2022-03-02T16:30Z") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _held_digests(args: argparse.Namespace) -> list[HeldDigest] | str:
    """The digests given with --digest and --digests FILE; a sentence saying what is wrong otherwise."""
    from bot.rules.vote_log import parse_held_digest, parse_held_digests

    try:
        held = [parse_held_digest(text) for text in args.digest or []]
        for path in args.digests or []:
            try:
                with open(path, encoding="utf-8") as handle:
                    held.extend(parse_held_digests(handle))
            except OSError as exc:
                return f"{path}: cannot read it ({exc.strerror}); give a file of <vote>=<digest> lines."
    except ValueError as exc:
        return f"--digest: {exc}"
    return held


def cmd_verify(args: argparse.Namespace) -> int:
    """Replay every vote's log (from the database, or from a JSON export) and compare every field with
    it, then the digests held elsewhere; exit 1 naming the first vote, field and value that do not match."""
    held = _held_digests(args)
    if isinstance(held, str):
        print(held, file=sys.stderr)
        return 2
    checked = f" and {len(held)} held digest{'s' if len(held) != 1 else ''}" if held else ""
    if args.file:
        import json

        from bot.services.vote_audit import verify_export

        try:
            with open(args.file, encoding="utf-8") as handle:
                exported = json.load(handle)
            votes = exported["votes"]
            if not isinstance(votes, list):
                raise TypeError("votes is not a list")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"{args.file}: not a Quorum JSON export ({exc}); make one with quorum export --format json.",
                  file=sys.stderr)
            return 2
        events, problem = verify_export(votes, held)
        if problem is not None:
            print(f"FAILED: {problem}", file=sys.stderr)
            return 1
        if not votes:
            print(f"Nothing to verify: {args.file} holds no votes (is it the export you meant?).", file=sys.stderr)
            return 1
        print(f"ok: {len(votes)} votes and {events} events in {args.file} match their hash chains{checked}")
        return 0

    async def body(app: App) -> int:
        report = await app.services.vote_audit.verify(held)
        if report.problem is not None:
            print(f"FAILED: {report.problem}", file=sys.stderr)
            return 1
        if report.votes == 0:
            # "ok" would claim a check that did not happen (a wrong database looks just like this).
            print("Nothing to verify: the database holds no votes (is QUORUM_DATABASE_URL or [database] url the "
                  "database you meant?).", file=sys.stderr)
            return 1
        print(f"ok: {report.votes} votes and {report.events} events match their hash chains{checked}")
        return 0

    return _with_app(args, body, reads_only=True)


def cmd_outbox(args: argparse.Namespace) -> int:
    from bot.services.outbox import outbox_report

    async def body(app: App) -> int:
        sys.stdout.write(await outbox_report(app.db, args.limit))
        return 0

    return _with_app(args, body, reads_only=True)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port: give a number between 1 and 65535")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quorum", description="Meetings and binding votes for communities.")
    parser.add_argument("--config", help="config file (default: $QUORUM_CONFIG, else config/quorum.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the web server, scheduler and configured adapters")
    run.add_argument("--port", type=_port, help="listen on this port (default: $QUORUM_PORT, else [web] port, 8080)")
    run.add_argument("--host", help="listen on this address (default: $QUORUM_HOST, else [web] host, 127.0.0.1)")
    run.set_defaults(func=cmd_run)

    console = sub.add_parser("console", help="answer commands from standard input, one per line")
    console.add_argument("--workspace", required=True, help="a console workspace name, or a platform workspace id")
    console.add_argument("--user", required=True, help="the member's name")
    console.add_argument("--role", action="append", help="a role the member holds (repeatable)")
    console.add_argument("--channel", help="the channel the commands are typed in (picks that series' commands "
                         "when the workspace has several)")
    console.add_argument("--json", action="store_true", help="answer each command with one line of JSON")
    console.add_argument("--now", type=_instant, help="act as if it were this UTC instant, e.g. 2022-03-02T16:30Z "
                         "(rehearsals and end-to-end tests)")
    console.add_argument("--tick", action="store_true",
                         help="(console workspaces) first run one scheduler tick for this workspace and print what "
                         "is sent (announcements, reminders), then after each command what it sends (minutes, DMs)")
    console.set_defaults(func=cmd_console)

    export = sub.add_parser("export", help="write the records to standard output")
    export.add_argument("--format", choices=["json", "markdown", "ics"], default="json")
    export.add_argument("--series", help="only this series")
    export.add_argument("--tz", help="(ics) write every time in this zone")
    export.set_defaults(func=cmd_export)

    restore = sub.add_parser("import", help="restore a full JSON export into an empty database")
    restore.add_argument("file", help="a file written by quorum export --format json")
    restore.set_defaults(func=cmd_import)

    verify = sub.add_parser("verify", help="check every vote's tamper-evident log")
    verify.add_argument("--file", help="a JSON export to check instead of the database")
    verify.add_argument("--digest", action="append", metavar="VOTE=HEX",
                        help="a digest held elsewhere (a vote message's opened digest or a result's final "
                             "digest) that must be one of the votes' (repeatable)")
    verify.add_argument("--digests", action="append", metavar="FILE",
                        help="a file of VOTE=HEX lines, checked like --digest")
    verify.set_defaults(func=cmd_verify)
    outbox = sub.add_parser("outbox", help="messages by state, and the latest that failed or were missed")
    outbox.add_argument("--limit", type=int, default=20, help="how many failed or missed messages to list")
    outbox.set_defaults(func=cmd_outbox)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    discord_cmd = sub.add_parser("discord", help="Discord setup helpers")
    discord_sub = discord_cmd.add_subparsers(dest="discord_command", required=True)
    invite = discord_sub.add_parser("invite-url", help="print the URL that adds the bot to a server")
    invite.add_argument("--app-id", type=int, help="the application id (default: [discord] application_id)")
    invite.set_defaults(func=cmd_discord_invite_url)

    sub.add_parser("check-config", help="validate the config file").set_defaults(func=cmd_check_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The config's own problems are reported by check-config; other commands stop on them too.
    if args.func is cmd_check_config:
        return int(args.func(args) or 0)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{exc.source}: {problem}", file=sys.stderr)
        print("Fix the config (quorum check-config shows every problem) and try again.", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except OperatorError as exc:
        print(exc, file=sys.stderr)
        return 1
    except Exception as exc:
        # A database that cannot be reached or opened is the operator's to fix: one sentence, no traceback.
        # Anything else is a bug and keeps its traceback.
        from storage.problems import explain_database_error

        message = explain_database_error(exc, settings.database_url)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
