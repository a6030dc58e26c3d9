"""Builds and runs the python-telegram-bot Application, the same way in production and tests.

`build_application(config)` wires the handlers; its `post_init` checks the work folder, opens
the database (migrating it), recovers the job queue, asks whoever sent a picture that a killed
process never answered to send it again (`bot.telegram.inbox`), registers the commands (in each
language: `bot.telegram.i18n`) and starts
the workers (one per GPU, or `STYLEBOT_WORKERS`) with a job runner each. `running(app)` is the whole
lifecycle as an async context manager (what `run_polling` / `run_webhook` do, minus the event
loop and signal handling), used by `serve` in production and by the tests. Updates come by long
polling, or by webhook when `STYLEBOT_WEBHOOK_URL` is set; `STYLEBOT_METRICS_LISTEN` adds the
health and metrics endpoint (`bot.ops.health`).

Whatever fails at start-up, everything opened so far is closed again: an open database alone,
with its non-daemon thread, would keep the process from ever exiting. An unusable work folder,
database or listening address raises `StartupError`, whose message is one line for the operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from telegram import BotCommand, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from bot import logs
from bot.broker import BrokerUnusable, RemoteSettings
from bot.config import Config
from bot.jobs.battles import Battles
from bot.jobs.gpus import visible_gpus, worker_environments
from bot.jobs.pool import RunnerPool
from bot.jobs.remote.backend import RemoteBackend
from bot.jobs.remote.fleet import Fleet
from bot.jobs.runner import JobRunner, Worker
from bot.jobs.work_area import WorkArea
from bot.jobs.worker import StyleWorker
from bot.ops.health import StatusServer
from bot.ops.metrics import MeteredJobQueue, MeteredRateLimiter, count_polling_error
from bot.store import SchemaTooNew, Store
from bot.telegram import texts
from bot.telegram.battle_stage import TelegramBattleStage
from bot.telegram.context import CONTEXT_TYPES, BotData, Context, Services
from bot.telegram.files import TelegramInputs
from bot.telegram.handlers import register
from bot.telegram.handlers.update_errors import on_error
from bot.telegram.i18n import LANGUAGES, translator
from bot.telegram.inbox import Inbox
from bot.telegram.presenter import TelegramPresenter
from bot.telegram.retries import with_retries
from bot.telegram.shared_paintings import SharedPaintings
from bot.telegram.sticker_packs import StickerPacks

log = logging.getLogger("stylebot.app")

RATE_LIMIT_RETRIES = 3
"""How often AIORateLimiter repeats a request Telegram answered with RetryAfter."""
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]


class StartupError(Exception):
    """Something the bot needs cannot be used; the message says what and where, in one line."""


def build_application(config: Config, *, worker: StyleWorker | None = None) -> Application:
    """The bot, ready to run. Pass `worker` to share an already started worker (tests): it is
    then the only worker, and the application leaves stopping it to the caller."""
    builder = (
        ApplicationBuilder()
        .token(config.token)
        .rate_limiter(MeteredRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(True)
        .get_updates_read_timeout(config.poll_timeout + 10)
        .read_timeout(20)
        .write_timeout(60)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .context_types(CONTEXT_TYPES)
    )
    if config.api_base_url:
        builder = builder.base_url(config.api_base_url)
    if config.api_file_url:
        builder = builder.base_file_url(config.api_file_url)
    app = builder.build()
    app.bot_data.config = config
    app.bot_data.shared_worker = worker
    register(app)
    app.add_handler(TypeHandler(Update, _bind_log_fields), group=-2)  # before everything
    app.add_error_handler(on_error)
    return app


async def _post_init(app: Application) -> None:
    data: BotData = app.bot_data
    config = _config(app)
    work = _open_work_area(config.work_dir)
    store = await _open_store(config.db_path)
    data.store = store  # from here on, `_post_shutdown` closes it whatever fails
    queue = MeteredJobQueue(store, max_queued_per_user=config.max_queued_per_user,
                            max_queue=config.max_queue)
    capacity: Fleet | None = None
    if config.remote is not None:
        data.remote = await _open_remote(config.remote)
        capacity = data.remote.fleet
        workers: list[Worker] = list(data.remote.workers())
    elif data.shared_worker is not None:
        workers = [data.shared_worker]
    else:
        gpus = await asyncio.to_thread(visible_gpus)
        local = [StyleWorker(warm_up=config.warm_up, env=env)
                 for env in worker_environments(config.workers, gpus)]
        data.owned_workers = local
        workers = list(local)
        # Loading TensorFlow takes a while: answer users meanwhile; the first job waits for it.
        data.worker_start = asyncio.create_task(_start_workers(local))
    claim_lock = asyncio.Lock()
    in_flight: set[int] = set()
    battles = Battles(TelegramBattleStage(app.bot), store, queue, work,
                      vote_seconds=config.battle_seconds)
    inputs = TelegramInputs(app.bot, work)
    presenter = TelegramPresenter(app.bot, previews=config.previews,
                                  studio_url=config.studio_url, shared=SharedPaintings(store))
    runner = RunnerPool([
        JobRunner(store, queue, worker, work, config, claim_lock, inputs=inputs,
                  presenter=presenter, primary=index == 0, in_flight=in_flight,
                  holds=battles.holds, capacity=capacity)
        for index, worker in enumerate(workers)
    ])
    if capacity is not None:
        capacity.on_more_capacity = runner.wake
    inbox = Inbox(store)
    data.services = Services(config=config, store=store, queue=queue, work=work,
                                        runner=runner, inbox=inbox, enqueue_lock=claim_lock,
                                        battles=battles, fleet=capacity,
                                        packs=StickerPacks(store))
    # Read before any update arrives: later rows are this process' own.
    unanswered = await inbox.left_over()
    if unanswered:
        log.info("%d picture(s) received before a restart were never answered",
                 len(unanswered))
        data.inbox_answers = asyncio.create_task(
            inbox.ask_to_send_again(app.bot, unanswered))
    await _set_commands(app)
    await runner.start()
    battles.start()  # votes whose deadline passed while the bot was down end now
    if config.studio_url:
        await _start_studio(app, config, inputs)
    log.info("stylebot @%s started", app.bot.username)


async def _start_studio(app: Application, config: Config, inputs: TelegramInputs) -> None:
    """The studio's preview worker (started in the background, like the job workers) and its
    web server. Previews keep to their share of the machine while a local job runs."""
    from bot.studio.wiring import studio_server

    data: BotData = app.bot_data
    worker = StyleWorker(warm_up="instant")
    data.studio_worker = worker
    data.studio_start = asyncio.create_task(_start_preview_worker(worker))
    local = [*data.owned_workers, *([data.shared_worker] if data.shared_worker else [])]
    assert data.services is not None
    server = studio_server(config, data.services, app.bot, inputs, worker,
                           jobs_running=lambda: any(w.busy for w in local))
    with _listening(config.studio_listen, "STYLEBOT_STUDIO_LISTEN"):
        await server.start()
    data.studio = server
    host, port = config.studio_listen
    log.info("the studio listens on %s:%d for %s", host, port, config.studio_url)


async def _set_commands(app: Application) -> None:
    """The command menu in each language (Telegram shows a user the one for their app's
    language), then the default, English, for every other language."""
    for code in (*LANGUAGES, None):
        t = translator(code)
        commands = [BotCommand(name, t(description)) for name, description in texts.COMMANDS]
        try:
            await with_retries(lambda c=commands, lang=code: app.bot.set_my_commands(
                c, language_code=lang))
        except TelegramError as exc:  # the bot works without the command menu
            log.warning("setMyCommands (%s) failed: %s", code or "default", exc)


def _open_work_area(path: Path) -> WorkArea:
    try:
        return WorkArea(path)
    except OSError as exc:
        raise StartupError(f"cannot use the work folder {path} (STYLEBOT_WORK_DIR): "
                           f"{_os_reason(exc)}") from exc


async def _open_store(path: Path) -> Store:
    try:
        return await Store.open(path)
    except (OSError, sqlite3.Error, SchemaTooNew) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else str(exc)
        raise StartupError(f"cannot open the database {path} (STYLEBOT_DB): {reason}") from exc


def _os_reason(exc: OSError) -> str:
    """'/data/x is a file, not a folder' or 'Permission denied: /data/work', rather than
    Python's "[Errno 13] Permission denied: '/data/work'"."""
    if exc.filename is None:
        return exc.strerror or str(exc)
    for path in (Path(exc.filename), *Path(exc.filename).parents):
        if path.exists():
            if not path.is_dir():
                return f"{path} is a file, not a folder"
            break
    return f"{exc.strerror}: {exc.filename}"


async def _open_remote(settings: RemoteSettings) -> RemoteBackend:
    try:
        backend = await RemoteBackend.open(settings)
    except BrokerUnusable as exc:
        raise StartupError(str(exc)) from None
    snapshot = backend.fleet.snapshot
    log.info("jobs go to remote workers through %s; %d worker(s) alive now",
             settings.safe_url, len(snapshot.live))
    return backend


async def _start_workers(workers: list[StyleWorker]) -> None:
    """Starts the workers in parallel, then reports the engine in one line."""
    outcomes = await asyncio.gather(*(worker.start() for worker in workers),
                                    return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            log.error("a worker did not start (%s); jobs will try again", outcome)
    engines = [worker.engine for worker in workers if worker.engine]
    if engines:
        log.info("engine ready", extra={
            "workers": len(workers),
            "device": " | ".join(dict.fromkeys(engine["device"] for engine in engines)),
            "precision": " | ".join(dict.fromkeys(engine["precision"] for engine in engines)),
        })


async def _start_preview_worker(worker: StyleWorker) -> None:
    try:
        await worker.start()
    except Exception as exc:  # the first preview tries again
        log.error("the studio's preview worker did not start (%s)", exc)
    else:
        log.info("the studio's preview worker is ready")


async def _post_stop(app: Application) -> None:
    await _stop_services(app.bot_data.services)


async def _stop_services(svc: Services | None) -> None:
    """Stops the runners, the battles' deadlines and the album collector (again is harmless)."""
    if svc is None:
        return
    await svc.runner.stop()
    if svc.battles is not None:
        await svc.battles.stop()
    if svc.albums is not None:
        await svc.albums.close()


async def _post_shutdown(app: Application) -> None:
    data: BotData = app.bot_data
    svc, data.services = data.services, None
    await _stop_services(svc)
    for task in (data.worker_start, data.inbox_answers):
        if task is not None and not task.done():
            task.cancel()
    data.worker_start = data.inbox_answers = None
    workers, data.owned_workers = data.owned_workers, []
    await asyncio.gather(*(worker.stop() for worker in workers))
    remote, data.remote = data.remote, None
    if remote is not None:
        await remote.close()
    studio, data.studio = data.studio, None
    if studio is not None:
        await studio.stop()
    if data.studio_start is not None and not data.studio_start.done():
        data.studio_start.cancel()
    studio_worker, data.studio_worker = data.studio_worker, None
    if studio_worker is not None:
        await studio_worker.stop()
    store, data.store = data.store, None
    if store is not None:
        await store.close()


def _config(app: Application) -> Config:
    config = app.bot_data.config
    if config is None:
        raise RuntimeError("the application was not made by build_application")
    return config


async def _bind_log_fields(update: Update, context: Context) -> None:
    """Every line logged while handling this update names its chat and user."""
    chat, user = update.effective_chat, update.effective_user
    logs.bind(chat_id=chat.id if chat else None, user_id=user.id if user else None)


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Initialises, receives and handles updates inside the block; stops and cleans up after.
    The health endpoint (if configured) answers from the start, while Telegram is reached."""
    config = _config(app)
    async with contextlib.AsyncExitStack() as stack:
        if config.metrics_listen:
            status = StatusServer(app, config.metrics_listen)
            with _listening(config.metrics_listen, "STYLEBOT_METRICS_LISTEN"):
                await status.start()
            stack.push_async_callback(status.stop)
        async with _running(app, config):
            yield app


@contextlib.asynccontextmanager
async def _running(app: Application, config: Config) -> AsyncIterator[Application]:
    await _initialize(app)
    try:
        if app.post_init:
            await app.post_init(app)
        await _receive_updates(app, config)
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


async def _receive_updates(app: Application, config: Config) -> None:
    """Long polling, or the webhook server (which calls setWebhook with the secret token)."""
    if not config.webhook_url:
        await app.updater.start_polling(
            timeout=dt.timedelta(seconds=config.poll_timeout),
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=-1,
            error_callback=count_polling_error,
        )
        return
    host, port = config.webhook_listen
    with _listening(config.webhook_listen, "STYLEBOT_WEBHOOK_LISTEN"):
        await app.updater.start_webhook(
            listen=host,
            port=port,
            url_path=urllib.parse.urlsplit(config.webhook_url).path.rstrip("/"),
            webhook_url=config.webhook_url,
            secret_token=config.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=-1,
        )
    log.info("receiving updates by webhook", extra={
        "webhook_url": config.webhook_url,
        "listen": f"{host}:{port}",
        # Never the value: whoever knows it can post updates as Telegram.
        "secret_token": ("generated (set STYLEBOT_WEBHOOK_SECRET to keep one across restarts)"
                         if config.webhook_secret_generated else "STYLEBOT_WEBHOOK_SECRET"),
    })


@contextlib.contextmanager
def _listening(listen: tuple[str, int], setting: str) -> Iterator[None]:
    """Turns a failure to listen (the port taken, an address not of this machine) into a
    `StartupError` that names the address and the setting."""
    host, port = listen
    try:
        yield
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port} ({setting}): "
                           f"{exc.strerror or exc}") from exc


async def _initialize(app: Application) -> None:
    """`app.initialize()` (which asks Telegram who the bot is), retried while the network is
    down; a refused token (`InvalidToken`) is raised at once."""
    delay = 1.0
    while True:
        try:
            await app.initialize()
            return
        except NetworkError as exc:  # includes TimedOut
            log.warning("Telegram is not reachable (%s); trying again in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def serve(config: Config, stop: asyncio.Event) -> None:
    """Runs the bot until `stop` is set."""
    app = build_application(config)
    async with running(app):
        await stop.wait()
