"""/battle: the photo replied to, painted in two or three presets (random distinct ones, or the
ones named), posted as one album with vote buttons (see `bot.jobs.battles`).

A battle counts as its jobs: all of them are queued in one transaction or none (the queue's
per-user and global caps), then one status message says what is being painted. The battle
and its jobs are in the language the caller is answered in (the group's, where its admins
chose one), so its album, vote and result speak that language."""

from __future__ import annotations

import logging
import random

from telegram import ReplyParameters
from telegram.error import TelegramError

from bot.jobs.model import JobRequest, QueueFull, UserLimitReached
from bot.settings import JobSettings
from bot.telegram import texts
from bot.telegram.context import Request, handler
from bot.telegram.handlers.common import (
    get_session,
    image_to_paint,
    preset_name,
    receive_image,
    reply,
)
from bot.telegram.handlers.fun import random_preset
from stylecore import UnknownPreset

log = logging.getLogger("stylebot.handlers")

MIN_STYLES, MAX_STYLES = 2, 3


@handler()
async def battle(req: Request) -> None:
    message, svc = req.message, req.svc
    target = message.reply_to_message
    async with req.receiving():
        ref = await image_to_paint(message, target, texts.BATTLE_USAGE, req.t,
                                   can_start=svc.battles is not None)
        if ref is None or target is None:
            return
        styles = await _styles(req)
        if styles is None:
            return
        ref = await receive_image(req.asker, message, ref)
        if ref is None:
            return
        session = await get_session(svc, req.sender.chat_id, req.sender.user_id)
        # One status message for the battle; live previews would be one message per job.
        settings = JobSettings.of(session.settings.with_(previews=False, as_file=False))
        requests = [JobRequest(
            chat_id=req.sender.chat_id, user_id=req.sender.user_id,
            chat_type=req.sender.chat_type, reply_to_message_id=target.message_id,
            content_file_id=ref.file_id, style_file_id=None, preset=style, settings=settings,
            language=req.t.code, media=ref.media,
            frames=ref.frames(svc.config.clip_max_seconds, svc.config.clip_max_fps),
            content_kind=ref.content_kind,
        ) for style in styles]
        reply_to = ReplyParameters(target.message_id, allow_sending_without_reply=True)
        async with svc.enqueue_lock:
            try:
                jobs = await svc.queue.enqueue_many(requests)
            except UserLimitReached as exc:
                svc.work.remove_inputs(req.sender.user_id, ref.file_id)  # no job will read it
                if len(requests) > exc.limit:  # waiting would not help: the battle is too big
                    text = req.t.n(texts.BATTLE_OVER_LIMIT, len(requests), count=len(requests),
                                   limit=exc.limit)
                else:
                    text = req.t.n(texts.USER_LIMIT, exc.waiting, count=exc.waiting)
                await reply(message, text)
                return
            except QueueFull:
                svc.work.remove_inputs(req.sender.user_id, ref.file_id)
                await reply(message, req.t(texts.QUEUE_FULL))
                return
            status = None
            try:
                status = await req.bot.send_message(
                    req.sender.chat_id, req.t(texts.BATTLE_QUEUED, styles=", ".join(styles)),
                    reply_parameters=reply_to)
            except TelegramError as exc:
                log.warning("battle status not sent: %s", exc)
            status_id = status.message_id if status is not None else None
            for job in jobs:
                if status_id is not None:
                    await svc.queue.set_status_message(job.id, status_id)
            await svc.battles.create(req.sender.chat_id, req.sender.user_id, target.message_id,
                                     jobs, styles, status_id, language=req.t.code)
        svc.runner.wake()


async def _styles(req: Request) -> list[str] | None:
    """The named styles (2 or 3, distinct), or random ones; None after telling the user."""
    if not req.args:
        rng = random.Random()
        styles: list[str] = []
        for _ in range(MAX_STYLES):
            name = random_preset(rng, exclude=set(styles))
            if name is not None and name not in styles:
                styles.append(name)
        if len(styles) < MIN_STYLES:
            await reply(req.message, req.t(texts.BATTLE_USAGE))
            return None
        return styles
    if not MIN_STYLES <= len(req.args) <= MAX_STYLES:
        await reply(req.message, req.t(texts.BATTLE_USAGE))
        return None
    styles = []
    for word in req.args:
        try:
            styles.append(preset_name(word))
        except UnknownPreset as exc:
            await reply(req.message, texts.error_text(exc, req.t))
            return None
    if len(set(styles)) != len(styles):
        await reply(req.message, req.t(texts.BATTLE_SAME_STYLE))
        return None
    return styles
