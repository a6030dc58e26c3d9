"""Admin-only commands (`STYLEBOT_ADMINS`): /stats, /queue, /addstyle NAME."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Awaitable, Callable

from bot.jobs.remote.fleet import FleetSnapshot
from bot.telegram import texts
from bot.telegram.context import Handler, Request, handler
from bot.telegram.decoding import on_decoding_thread
from bot.telegram.files import (
    MAX_DOWNLOAD_BYTES,
    FileTooBig,
    FileUnavailable,
    NotAStillImage,
    download,
    image_in,
)
from bot.telegram.handlers.common import reply
from bot.telegram.i18n import Translator
from stylecore import ImageError, PresetNameError, add_preset

log = logging.getLogger("stylebot.handlers")

MAX_QUEUE_LINES = 30


def admin_only(func: Callable[[Request], Awaitable[None]]) -> Handler:
    """A handler only admins may use; others are told so in private chats and ignored in
    groups (the command was not for them)."""

    @handler()
    @functools.wraps(func)
    async def checked(req: Request) -> None:
        if req.svc.config.is_admin(req.sender.user_id):
            await func(req)
        elif req.sender.private:
            await reply(req.message, req.t(texts.ADMIN_ONLY))

    return checked


@admin_only
async def stats(req: Request) -> None:
    midnight = dt.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    data = await req.svc.queue.stats(since=midnight.timestamp())
    by_status = data["by_status"]
    mean = data.get("mean_seconds")
    text = req.t(
        texts.STATS,
        jobs=data["total"],
        done=by_status.get("done", 0),
        failed=by_status.get("failed", 0),
        cancelled=by_status.get("cancelled", 0),
        mean=texts.seconds_text(mean, req.t) if mean is not None else "–",
        queued=data["queue_depth"],
        running=data["running"],
    )
    text = "\n".join([text, req.t(texts.STATS_CLIPS, clips=data.get("clips", 0)),
                      req.t(texts.STATS_KEPT_INSTANT, kept=data.get("kept_instant", 0))])
    if req.svc.fleet is not None:
        text = "\n".join([text, *fleet_lines(req.svc.fleet.snapshot, req.t)])
    await reply(req.message, text)


def fleet_lines(snapshot: FleetSnapshot, t: Translator) -> list[str]:
    """/stats' lines about the remote workers and the broker."""
    if not snapshot.broker_up:
        return [t(texts.STATS_BROKER_DOWN, error=snapshot.broker_error or "?")]
    busy = sum(worker.state == "busy" for worker in snapshot.workers)
    lines = [t(texts.STATS_REMOTE, live=len(snapshot.live), busy=busy,
               broken=len(snapshot.broken), waiting=snapshot.broker_queue)]
    lines += [t(texts.STATS_REMOTE_WORKER, name=worker.name, host=worker.host,
                gpu=worker.gpu or "–", state=worker.state, jobs=worker.jobs_done)
              for worker in snapshot.workers[:MAX_QUEUE_LINES]]
    lines += [worker.error for worker in snapshot.broken[:3] if worker.error]
    return lines


@admin_only
async def queue(req: Request) -> None:
    jobs = await req.svc.queue.queue_snapshot()
    if not jobs:
        await reply(req.message, req.t(texts.QUEUE_EMPTY))
        return
    now = time.time()
    lines = [
        req.t(texts.QUEUE_LINE, id=job.id, status=job.status.value, user_id=job.user_id,
              chat_id=job.chat_id, age=texts.seconds_text(now - job.created_at, req.t))
        for job in jobs[:MAX_QUEUE_LINES]
    ]
    if len(jobs) > MAX_QUEUE_LINES:
        more = len(jobs) - MAX_QUEUE_LINES
        lines.append(req.t.n(texts.QUEUE_MORE, more, count=more))
    await reply(req.message, "\n".join(lines))


@admin_only
async def addstyle(req: Request) -> None:
    """/addstyle NAME in reply to a picture stores it as a new preset."""
    message = req.message
    try:
        ref = image_in(message.reply_to_message)
    except NotAStillImage:
        ref = None
    if ref is None or ref.moving or not req.args:  # a style is a still picture
        await reply(message, req.t(texts.ADDSTYLE_USAGE))
        return
    try:
        data = await download(req.bot, ref.file_id, ref.file_size)
        preset = await on_decoding_thread(add_preset, req.args[0], data)
    except FileTooBig:
        await reply(message, req.t(texts.TOO_BIG, limit=MAX_DOWNLOAD_BYTES // 2**20))
        return
    except FileUnavailable:
        await reply(message, req.t(texts.DOWNLOAD_FAILED))
        return
    except (PresetNameError, ImageError) as exc:
        await reply(message, texts.error_text(exc, req.t))
        return
    req.svc.gallery.clear()
    log.info("admin %s added preset %s", req.sender.user_id, preset.name)
    await reply(message, req.t(texts.ADDSTYLE_DONE, name=preset.name))
