"""The composition root: the one place that builds the database, the services and the hooks between
them, the dispatcher, the ticker, the web routes and the platform adapters, and connects them (notifiers,
role listings, listeners). Everything else receives what it needs from here; nothing registers itself.
The only module that imports every layer."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from aiohttp import web

from bot.adapters.console_notifier import ConsoleNotifier
from bot.clock import Clock, SystemClock
from bot.commands import catalog  # noqa: F401  (registers every command)
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.contracts.outbound import Notifier, RoleDirectory
from bot.scheduler import Ticker
from bot.services import Services
from bot.services.agenda import AgendaService
from bot.services.backup import BackupService
from bot.services.calendar import CalendarService
from bot.services.event_mirror import EventMirrorService
from bot.services.export import ExportService
from bot.services.forum import ForumRecord
from bot.services.github import GitHubService
from bot.services.github_minutes import GitHubMinutes
from bot.services.meeting_status import MeetingStatusNotices
from bot.services.meetings import MeetingService
from bot.services.members import MemberService
from bot.services.notes import NotesService
from bot.services.outbox import Outbox, OutboxDispatcher, refresh_outbox_metrics
from bot.services.reminders import DeadlineHook, DuePlanner, ReminderService, due_tick
from bot.services.requests import RequestLog
from bot.services.rotation import RotationService
from bot.services.rotation_requests import RotationRequests
from bot.services.vote_audit import VoteAudit
from bot.services.vote_notices import VoteNotices
from bot.services.votes import VoteService
from bot.web import routes as web_routes
from bot.web.routes import build_web_app, ready, slack_http_mode
from storage.db import Database, safe_url

if TYPE_CHECKING:  # a platform's SDK is imported only when that platform is built
    from bot.adapters.discord.client import DiscordAdapter
    from bot.adapters.github.client import GitHubClient
    from bot.adapters.slack import SlackAdapter

log = logging.getLogger("quorum")

Platform = Literal["discord", "slack"]
# However the platforms behave, a stop (SIGTERM) ends within this: orchestrators kill after 30 s or less.
STOP_BUDGET = timedelta(seconds=10)
# A readiness probe that waits longer than this for the database reports it unreachable: probes time out too.
READY_CHECK_SECONDS = 3.0

# The module of each platform's adapter (and its SDK), imported only when the platform is built.
ADAPTER_MODULES: dict[Platform, str] = {"discord": "bot.adapters.discord.client", "slack": "bot.adapters.slack"}


def build_services(db: Database, clock: Clock, settings: Settings, *,
                   outbox_workspace: str | None = None) -> Services:
    """Every service, with the hooks between them; no platform yet (``build_app`` adds the adapters'
    notifiers and role listings to the dicts made here). ``outbox_workspace``: the outbox dispatcher
    sends only that workspace's messages (``quorum console --tick``)."""
    members = MemberService(db, clock, settings)
    meetings = MeetingService(db, clock, settings)
    # The calendar caches feeds and the listing page; every series change drops what it touched.
    calendar = CalendarService(db, clock, settings, meetings)
    meetings.on_series_changed(calendar.invalidate)
    # Built before the services that write messages (rotation's DMs, published minutes). Other services
    # write messages with ``outbox.enqueue(session, ...)`` in their own transaction (docs/reminders.md).
    outbox = Outbox(clock)
    backup = BackupService(db)  # every table, for full exports and `quorum import`
    rotation = RotationService(db, clock, settings, meetings)
    # Meeting views show the provisional host and note-taker from the rotation's plan.
    meetings.set_assignment_provider(rotation.provisional)
    notifiers: dict[str, Notifier] = {}
    role_directories: dict[str, RoleDirectory] = {}
    votes = VoteService(db, clock, settings, members, role_directories)
    # Votes and the outbox (docs/votes.md): the reminder before the close, the close at the deadline
    # and its [RESULT][VOTE] post, each in the transaction of the change that causes it.
    vote_notices = VoteNotices(settings, votes, outbox)
    votes.close_hooks.append(vote_notices.on_close)
    votes.cast_hooks.append(vote_notices.on_cast)
    # ``deadline_hooks`` run at a meeting's agenda deadline before it is announced: rotation fixes host
    # and note-taker in the deadline step's transaction, so the announcement names them; the step calls
    # hooks only for meetings that will be held (no turn for cancelled ones). ``due_planners`` run on
    # every tick (votes: reminders before the close, the automatic close).
    deadline_hooks: list[DeadlineHook] = [rotation.fix_assignment]
    due_planners: list[DuePlanner] = [vote_notices.plan]
    # The forum record (docs/forum.md): each meeting's topic follows the reminder planner (opened, edited,
    # finalised beside the chat announcement); minutes and votes add replies and topics in their own
    # transactions. All of it through the outbox, delivered by the "forum" notifier (build_app).
    forum = ForumRecord(settings, meetings, outbox)
    reminders = ReminderService(db, clock, settings, meetings, outbox, deadline_hooks, due_planners)
    reminders.occurrence_planners.append(forum.plan_meeting)
    reminders.extra_lookahead = forum.lookahead()
    # A cancel or restore after the announcement is told to the channel, in its own transaction.
    status_notices = MeetingStatusNotices(reminders, outbox)
    meetings.status_hooks.append(status_notices.on_status_changed)
    meetings.on_series_changed(status_notices.on_series_changed)
    # GitHub (docs/github.md): a linked issue's real title when an item is added, and the minutes of each
    # GitHub-linked item commented on it when the minutes are published. Its reader comes with the token.
    github = GitHubService(db, clock, settings, meetings)
    agenda = AgendaService(db, clock, settings, meetings)
    agenda.late_removal_hooks.append(status_notices.on_late_removal)
    agenda.title_lookups.append(github.title_of)
    notes = NotesService(db, clock, settings, meetings, rotation, outbox)
    notes.publish_hooks.append(GitHubMinutes(settings, outbox).on_publish)
    notes.publish_hooks.append(forum.on_minutes)
    votes.open_hooks.append(forum.on_vote_open)
    votes.close_hooks.append(forum.on_vote_close)
    return Services(
        db=db, clock=clock, settings=settings,
        members=members,
        meetings=meetings,
        agenda=agenda,
        export=ExportService(db, clock, settings, backup),
        backup=backup,
        requests=RequestLog(db, clock, settings.replica),
        calendar=calendar,
        event_mirror=EventMirrorService(db, clock, settings, meetings),
        outbox=outbox,
        rotation=rotation,
        rotation_requests=RotationRequests(db, clock, settings, meetings, rotation, outbox),
        notes=notes,
        votes=votes,
        vote_audit=VoteAudit(db),
        vote_notices=vote_notices,
        reminders=reminders,
        outbox_dispatcher=OutboxDispatcher(db, clock, settings, notifiers, workspace_id=outbox_workspace,
                                           outbox=outbox, concurrency=settings.outbox.concurrency,
                                           lease=settings.outbox.lease),
        notifiers=notifiers,
        role_directories=role_directories,
        deadline_hooks=deadline_hooks,
        due_planners=due_planners,
        github=github,
        forum=forum,
    )


@dataclass(eq=False)
class App:
    """One process's parts, as ``build_app`` connected them."""

    settings: Settings
    clock: Clock
    db: Database
    services: Services
    dispatcher: Dispatcher
    ticker: Ticker
    web_app: web.Application
    slack: SlackAdapter | None = None
    discord: DiscordAdapter | None = None
    github: GitHubClient | None = None
    # Called by ``close``, in order: what outside services hold (GitHub's poll and session, the forum's).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def wake_soon(self) -> None:
        self.ticker.wake_at(self.clock.now() + timedelta(seconds=1))

    async def reminders_tick(self) -> None:
        """Plan and send what is due, then ask for a wake-up at the nearest due time. The first tick at
        start handles everything that became due while the process was down."""
        wake = await due_tick(self.services.reminders, self.services.outbox_dispatcher)
        if wake is not None:
            # Never sooner than a second from now: a time already past must not make the ticker spin.
            self.ticker.wake_at(max(wake, self.clock.now() + timedelta(seconds=1)))

    async def migrate(self) -> None:
        await migrate(self.settings)

    async def readiness(self) -> list[str]:
        """What keeps this process from serving (``GET /health/ready``), each in words an operator can act
        on; empty when it is ready."""
        from storage.migrate import unapplied_heads

        problems = []
        try:
            if await asyncio.wait_for(unapplied_heads(self.db), READY_CHECK_SECONDS):
                problems.append("the database is not migrated to this release: run `quorum db upgrade`")
        except Exception as exc:  # timeouts, refused connections, driver errors: all mean "not reachable"
            problems.append(f"the database does not answer ({type(exc).__name__}); "
                            f"check {safe_url(self.settings.database_url)}")
        if self.discord is not None:
            problems.extend(self.discord.problems())
        if self.slack is not None and not await self.slack.connected():
            problems.append("Slack Socket Mode is not connected (see the log for why)")
        return problems

    async def refresh_metrics(self) -> None:
        """The outbox gauges, from the database; when it does not answer (in time), the last values stay and
        /metrics still answers: the process metrics matter most exactly then."""
        try:
            await asyncio.wait_for(refresh_outbox_metrics(self.db, self.clock), READY_CHECK_SECONDS)
        except Exception as exc:
            log.warning("metrics: the outbox gauges could not be read (%s); serving the last values",
                        type(exc).__name__)

    async def close(self) -> None:
        if self.slack is not None:
            await self.slack.close()
        for closer in self.closers:
            await closer()
        await self.db.dispose()


def configured_platforms(settings: Settings) -> frozenset[Platform]:
    """The platforms whose tokens are set: what ``quorum run`` builds."""
    chosen: set[Platform] = set()
    if settings.secrets.discord_enabled:
        chosen.add("discord")
    if settings.secrets.slack_enabled:
        chosen.add("slack")
    return frozenset(chosen)


def command_line_platforms(settings: Settings) -> frozenset[Platform]:
    """The platforms a one-shot command (console, export, verify, outbox) builds. Slack's Web API answers
    without a connection (a vote opened from the console lists its electorate there); Discord's needs
    the gateway, which only ``quorum run`` opens."""
    return configured_platforms(settings) - {"discord"}


def import_adapters(settings: Settings) -> None:
    """Import the adapter (and SDK) of each platform ``quorum run`` builds, and no other: bot/run.py does
    it in a worker thread while the event loop answers ``/health/live``."""
    for platform in sorted(configured_platforms(settings)):
        importlib.import_module(ADAPTER_MODULES[platform])


def build_app(
    settings: Settings, clock: Clock | None = None, *, platforms: Collection[Platform] | None = None,
    serve_on: web.Application | None = None, console_as_json: bool = False, outbox_workspace: str | None = None,
) -> App:
    """Everything one process runs, connected. ``platforms``: the adapters to build (default: those whose
    tokens are set). ``serve_on``: the web app to serve from (``quorum run`` passes the one that has
    listened since start-up, its routes answering 503 until now); otherwise one is built.
    ``console_as_json`` and ``outbox_workspace``: ``quorum console --json --tick``."""
    clock = clock if clock is not None else SystemClock()
    chosen = configured_platforms(settings) if platforms is None else frozenset(platforms)
    db = Database(settings.database_url)
    services = build_services(db, clock, settings, outbox_workspace=outbox_workspace)
    dispatcher = Dispatcher(services)
    web_app = serve_on if serve_on is not None else build_web_app(slack_http=slack_http_mode(settings))
    app = App(settings, clock, db, services, dispatcher, Ticker(settings.tick_seconds), web_app)
    # Console workspaces' reminders, announcements and vote results are printed (and logged).
    services.notifiers["console"] = ConsoleNotifier(as_json=console_as_json)
    # Rotation has no job of its own (its deadline hook runs inside the reminders tick's deadline step,
    # docs/rotation.md), and votes close in the same tick (a due planner): one job does all of it.
    app.ticker.add("reminders", app.reminders_tick)
    # A message written by a command (minutes, swap DMs) is sent within a second, not at the next tick.
    services.outbox.on_enqueued(app.wake_soon)
    if "slack" in chosen:
        app.slack = _build_slack(app)
    if "discord" in chosen:
        app.discord = _build_discord(app)
    github_webhook = _build_github(app) if settings.secrets.github_enabled else None
    if settings.forum_enabled:
        _build_forum(app)
    slack_http = app.slack.handle_http if app.slack is not None and slack_http_mode(settings) else None
    ready(web_app, services, slack_http, github_webhook, readiness=app.readiness,
          refresh_metrics=app.refresh_metrics)
    return app


def _build_slack(app: App) -> SlackAdapter:
    from bot.adapters.slack import SlackAdapter

    adapter = SlackAdapter(app.dispatcher, app.settings)
    app.services.notifiers["slack"] = adapter.notifier
    app.services.role_directories["slack"] = adapter.directory
    # Commands acknowledged by a process that died before running them are run on a tick (any replica's).
    app.ticker.add("slack-replay", adapter.replay_interrupted)
    return adapter


def _build_forum(app: App) -> None:
    """The Discourse forum: the outbox's "forum" notifier, and topic lookups for agenda links."""
    from bot.adapters.discourse.client import DiscourseClient
    from bot.adapters.discourse.notifier import ForumNotifier
    from bot.adapters.discourse.topics import DiscourseTopics

    forum = app.settings.forum
    assert forum.url is not None and app.settings.secrets.discourse_api_key is not None
    client = DiscourseClient(forum.url, forum.username, app.settings.secrets.discourse_api_key)
    app.services.notifiers["forum"] = ForumNotifier(client, forum.category, app.clock)
    app.services.agenda.forum_topics = DiscourseTopics(client, forum.lookup_timeout)
    app.closers.append(client.close)


def _build_discord(app: App) -> DiscordAdapter:
    """Built, not connected: ``serve_until`` starts it. Its scheduled-event sync follows series changes
    and runs on every tick."""
    from bot.adapters.discord.client import DiscordAdapter

    adapter = DiscordAdapter(app.dispatcher)
    app.services.notifiers["discord"] = adapter.notifier
    app.services.role_directories["discord"] = adapter.directory
    app.services.meetings.on_series_changed(adapter.series_changed)
    app.ticker.add("discord-events", adapter.tick)
    return adapter


def _build_github(app: App) -> web_routes.Handler | None:
    """GitHub's client as the GitHub service's reader and the notifier of ``github_comment`` rows; its
    labels are read on every tick (each ``[github] poll_seconds``); returns the webhook's handler when
    GITHUB_WEBHOOK_SECRET is set."""
    from bot.adapters.github.client import GitHubClient
    from bot.adapters.github.notifier import GitHubNotifier
    from bot.adapters.github.webhook import GitHubWebhook

    secrets = app.settings.secrets
    assert secrets.github_token is not None
    client = GitHubClient(secrets.github_token, app.settings.github_api_url, app.clock)
    app.github = client
    app.closers += [app.services.github.stop_poll, client.close]  # the poll first, then its HTTP session
    app.services.github.reader = client
    app.services.notifiers["github"] = GitHubNotifier(client)
    app.ticker.add("github", app.services.github.start_poll)
    if secrets.github_webhook_secret:
        return GitHubWebhook(secrets.github_webhook_secret, app.services).handle
    return None


async def migrate(settings: Settings) -> None:
    from storage.migrate import upgrade  # Alembic: only the commands that migrate pay for importing it

    await upgrade(settings.database_url)


def adapter_status(settings: Settings) -> list[str]:
    """One line per platform saying whether it is on, and how to turn it on if not."""
    lines = []
    if settings.secrets.discord_enabled:
        lines.append("Discord: on (DISCORD_TOKEN is set).")
    else:
        lines.append("Discord: off. Set DISCORD_TOKEN to the bot token of your Discord application "
                     "(see docs/discord.md).")
    if settings.secrets.slack_enabled:
        mode = "Socket Mode" if settings.secrets.slack_app_token else "HTTP mode at POST /slack/events"
        lines.append(f"Slack: on ({mode}).")
    else:
        lines.append("Slack: off. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (and SLACK_APP_TOKEN for Socket "
                     "Mode) from your Slack app (see docs/slack.md).")
    github = settings.github
    if settings.secrets.github_enabled:
        webhook = ("webhook at POST /github/webhook" if settings.secrets.github_webhook_secret
                   else "no webhook: set GITHUB_WEBHOOK_SECRET to read changes at once")
        lines.append(f"GitHub: on ({len(github.repositories)} repositories, {len(github.labels)} series labels, "
                     f"read every {github.poll_seconds} s; {webhook}).")
        if not github.repositories or not github.labels:
            lines.append("GitHub: list repositories and each series' label in [github] (docs/github.md), or "
                         "no issue becomes an agenda item.")
    else:
        lines.append("GitHub: off. Set GITHUB_TOKEN to a fine-grained token (Issues read/write, Pull requests "
                     "read) and list repositories and labels in [github] (see docs/github.md).")
    lines.append(forum_status(settings))
    return lines


def forum_status(settings: Settings) -> str:
    """Whether meeting and vote topics go to a Discourse forum, and what is missing if not."""
    forum = settings.forum
    if settings.forum_enabled:
        return f"Forum: on ({forum.url} as {forum.username}; default category {forum.category or 'none'})."
    if forum.url:
        return (f"Forum: off. [forum] url is {forum.url}, but DISCOURSE_API_KEY is not set: create an API key "
                "for the forum user (see docs/forum.md) and set it.")
    return ("Forum: off. To announce meetings and votes on a Discourse forum, add [forum] url, username and "
            "category to the config and set DISCOURSE_API_KEY (see docs/forum.md).")


async def serve_until(settings: Settings, runner: web.AppRunner, stop: asyncio.Event) -> None:
    """The second half of ``quorum run`` (bot/run.py), once the web server listens: migrate, build the
    app, let the routes answer, start the adapters and the ticker; run until ``stop``, then shut down
    cleanly (the web server too)."""
    try:
        for line in adapter_status(settings):
            log.info(line)
        await migrate(settings)
        app = build_app(settings, platforms=configured_platforms(settings), serve_on=runner.app)
    except BaseException:
        await runner.cleanup()
        raise
    log.info("Quorum is serving http://%s:%s (public URL %s); database %s", settings.web.host,
             settings.web.port, settings.web.public_url, safe_url(settings.database_url))
    app.ticker.start()
    # The platforms connect in the background: a stop must not wait for a connection that hangs or
    # retries (a refused Slack app token keeps Socket Mode retrying).
    starting = asyncio.create_task(_start_platforms(app), name="quorum-start-platforms")
    try:
        settle_heap()
        await stop.wait()
        log.info("Shutting down.")
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await shut_down(app, runner)


async def _start_platforms(app: App) -> None:
    """Both at once: a slow Discord login (retried by discord.py) never holds up Slack, nor Slack Discord."""
    starts: list[Awaitable[object]] = []
    if app.discord is not None:
        starts.append(app.discord.start())
    app_token = app.settings.secrets.slack_app_token
    if app.slack is not None and app_token:
        starts.append(app.slack.start_socket_mode(app_token))
    await asyncio.gather(*starts)


async def shut_down(app: App, runner: web.AppRunner) -> None:
    """Stop within ``STOP_BUDGET`` whatever the platforms are doing, losing nothing acknowledged: stop
    accepting requests and starting ticks, let the Slack requests already acknowledged and the messages
    being sent finish (what does not finish in time stays recorded, to be run or sent after the restart
    or by another replica), then disconnect."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_BUDGET.total_seconds()

    def left() -> timedelta:
        return timedelta(seconds=max(0.0, deadline - loop.time()))

    async def step(name: str, work: Awaitable[object]) -> None:
        try:
            async with asyncio.timeout(left().total_seconds()):
                await work
        except TimeoutError:
            log.warning("Stopping: %s did not finish in time; going on", name)
        except Exception:
            log.exception("Stopping: %s failed; going on", name)

    app.ticker.shutdown()
    # A third of the time at most: a request still open (a webhook reading GitHub) must not use it all.
    web_share = left() / 3
    await step("the web server", asyncio.wait_for(runner.cleanup(), web_share.total_seconds()))
    if app.slack is not None:
        unfinished = await app.slack.drain(left() / 2)
        if unfinished:
            log.warning("Stopping with %d Slack request(s) still running: they run again after the restart "
                        "(or on another replica) once their lease runs out", unfinished)
        else:
            log.info("Stopping: every acknowledged Slack request has run")
    await step("the outbox", app.services.outbox_dispatcher.stop(left() / 2))
    if app.discord is not None:
        await step("Discord", app.discord.stop())
    await step("closing", app.close())


def settle_heap() -> None:
    """Take what starting up allocated (modules, engines, routes: objects that live as long as the
    process) out of the cyclic garbage collector's sight. Otherwise every full collection walks all of
    them, a pause of 70-90 ms here that lands on whichever commands are waiting (bench/commands.py's
    paced p99 went from about 6 to 16-20 ms in runs where one struck). Objects created later are
    collected as usual."""
    gc.collect()
    gc.freeze()
