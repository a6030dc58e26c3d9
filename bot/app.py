"""Builds and runs the python-telegram-bot Application, the same way in production and tests.

`build_application(config)` wires the handlers; its `post_init` opens the database (migrating
it), recovers the job queue, registers the commands and starts the worker and the job runner.
`running(app)` is the whole lifecycle as an async context manager (what `run_polling` does,
minus the event loop and signal handling), used by `serve` in production and by the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator

from telegram import BotCommand, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot import texts
from bot.config import Config
from bot.handlers import Services, register
from bot.jobs import SqliteJobQueue
from bot.runner import JobRunner, with_retries
from bot.store import Store
from bot.telegram_files import WorkArea
from bot.worker import StyleWorker

log = logging.getLogger("stylebot.app")

RATE_LIMIT_RETRIES = 3
"""How often AIORateLimiter repeats a request Telegram answered with RetryAfter."""
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


def build_application(config: Config, *, worker: StyleWorker | None = None) -> Application:
    """The bot, ready to run. Pass `worker` to share an already started worker (tests); the
    application then leaves stopping it to the caller."""
    builder = (
        ApplicationBuilder()
        .token(config.token)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(True)
        .get_updates_read_timeout(config.poll_timeout + 10)
        .read_timeout(20)
        .write_timeout(60)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if config.api_base_url:
        builder = builder.base_url(config.api_base_url)
    if config.api_file_url:
        builder = builder.base_file_url(config.api_file_url)
    app = builder.build()
    app.bot_data["config"] = config
    app.bot_data["shared_worker"] = worker
    register(app)
    app.add_error_handler(_log_error)
    return app


async def _post_init(app: Application) -> None:
    config: Config = app.bot_data["config"]
    store = await Store.open(config.db_path)
    queue = SqliteJobQueue(store, max_queued_per_user=config.max_queued_per_user,
                           max_queue=config.max_queue)
    work = WorkArea(config.work_dir)
    worker = app.bot_data["shared_worker"]
    if worker is None:
        worker = StyleWorker(warm_up=True)
        app.bot_data["owned_worker"] = worker
        # Loading TensorFlow takes a while: answer users meanwhile; the first job waits for it.
        app.bot_data["worker_start"] = asyncio.create_task(_start_worker(worker))
    claim_lock = asyncio.Lock()
    runner = JobRunner(app.bot, store, queue, worker, work, config, claim_lock)
    app.bot_data["services"] = Services(config=config, store=store, queue=queue, work=work,
                                        runner=runner, enqueue_lock=claim_lock)
    try:
        await with_retries(lambda: app.bot.set_my_commands(
            [BotCommand(name, description) for name, description in texts.COMMANDS]))
    except TelegramError as exc:  # the bot works without the command menu
        log.warning("setMyCommands failed: %s", exc)
    await runner.start()
    log.info("stylebot @%s started", app.bot.username)


async def _start_worker(worker: StyleWorker) -> None:
    try:
        await worker.start()
    except Exception:
        log.exception("the worker did not start; jobs will try again")


async def _post_stop(app: Application) -> None:
    svc: Services | None = app.bot_data.get("services")
    if svc is not None:
        await svc.runner.stop()


async def _post_shutdown(app: Application) -> None:
    svc: Services | None = app.bot_data.pop("services", None)
    if svc is not None:
        await svc.runner.stop()
    start = app.bot_data.pop("worker_start", None)
    if start is not None and not start.done():
        start.cancel()
    worker: StyleWorker | None = app.bot_data.pop("owned_worker", None)
    if worker is not None:
        await worker.stop()
    if svc is not None:
        await svc.store.close()


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling an update", exc_info=context.error)


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Initialises, polls and handles updates inside the block; stops and cleans up after."""
    config: Config = app.bot_data["config"]
    await _initialize(app)
    try:
        if app.post_init:
            await app.post_init(app)
        await app.updater.start_polling(
            timeout=dt.timedelta(seconds=config.poll_timeout),
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=-1,
        )
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
