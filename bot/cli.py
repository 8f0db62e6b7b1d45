"""The ``quorum`` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from bot.logs import configure_logging


def _settings(args: argparse.Namespace) -> Settings:
    path = resolve_config_path(args.config, os.environ)
    return load_settings(path)


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
    from bot.app import App, run_forever

    settings = _settings(args)
    configure_logging(settings.log_level, settings.secrets)
    asyncio.run(run_forever(App(settings)))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade_sync

    settings = _settings(args)
    upgrade_sync(settings.database_url)
    print("database is up to date")
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.adapters.console import console_actor, run_console
    from bot.app import App

    settings = _settings(args)
    configure_logging("WARNING", settings.secrets)

    async def main() -> int:
        app = App(settings)
        await app.migrate()
        try:
            actor = console_actor(settings, args.workspace, args.user, args.role or [])
            await run_console(app.dispatcher, actor, sys.stdin, sys.stdout, as_json=args.json)
        finally:
            await app.close()
        return 0

    return asyncio.run(main())


def cmd_export(args: argparse.Namespace) -> int:
    from bot.app import App
    from bot.errors import QuorumError

    settings = _settings(args)
    configure_logging("WARNING", settings.secrets)

    async def main() -> int:
        app = App(settings)
        await app.migrate()
        try:
            exporter = app.services.export
            if args.format == "json":
                text = await exporter.as_json(args.series)
            elif args.format == "markdown":
                text = await exporter.as_markdown(args.series)
            else:
                print("ics export is not available yet", file=sys.stderr)
                return 2
        except QuorumError as exc:
            print(exc.message, file=sys.stderr)
            return 1
        finally:
            await app.close()
        sys.stdout.write(text)
        return 0

    return asyncio.run(main())


def cmd_outbox(args: argparse.Namespace) -> int:
    from bot.app import App
    from bot.services.outbox import outbox_report

    settings = _settings(args)
    configure_logging("WARNING", settings.secrets)

    async def main() -> int:
        app = App(settings)
        await app.migrate()
        try:
            sys.stdout.write(await outbox_report(app.db, args.limit))
        finally:
            await app.close()
        return 0

    return asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quorum", description="Meetings and binding votes for communities.")
    parser.add_argument("--config", help="config file (default: $QUORUM_CONFIG, else config/quorum.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the web server, scheduler and configured adapters").set_defaults(func=cmd_run)

    console = sub.add_parser("console", help="answer commands from standard input, one per line")
    console.add_argument("--workspace", required=True, help="a console workspace name, or a platform workspace id")
    console.add_argument("--user", required=True, help="the member's name")
    console.add_argument("--role", action="append", help="a role the member holds (repeatable)")
    console.add_argument("--json", action="store_true", help="answer each command with one line of JSON")
    console.set_defaults(func=cmd_console)

    export = sub.add_parser("export", help="write the records to standard output")
    export.add_argument("--format", choices=["json", "markdown", "ics"], default="json")
    export.add_argument("--series", help="only this series")
    export.add_argument("--tz", help="(ics) write every time in this zone")
    export.set_defaults(func=cmd_export)

    outbox = sub.add_parser("outbox", help="messages by state, and the latest that failed or were missed")
    outbox.add_argument("--limit", type=int, default=20, help="how many failed or missed messages to list")
    outbox.set_defaults(func=cmd_outbox)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    sub.add_parser("check-config", help="validate the config file").set_defaults(func=cmd_check_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The config's own problems are reported by check-config; other commands stop on them too.
    if args.func is not cmd_check_config:
        try:
            _settings(args)
        except ConfigError as exc:
            for problem in exc.problems:
                print(f"{exc.source}: {problem}", file=sys.stderr)
            print("Fix the config (quorum check-config shows every problem) and try again.", file=sys.stderr)
            return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
