"""A style battle in a Telegram chat: the job system's `BattleStage` (`bot.jobs.ports`).

The paintings go out as one album (photos; a clip's battle as videos, since albums hold no
GIFs) replying to the battled photo, then the vote message with a button per painting and
"End vote", whose counts are edited as votes come in and which finally shows the result. All of
it in the battle's language: the one its caller was answered in, i.e. the group's where its
admins chose one (`bot.telegram.i18n`), like any job's later messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from pathlib import Path

from telegram import Bot, InputMediaPhoto, InputMediaVideo, ReplyParameters
from telegram.error import Forbidden, TelegramError

from bot.jobs.battle_records import Battle
from bot.jobs.model import Job
from bot.jobs.ports import RecipientGone, Unreachable
from bot.telegram import texts
from bot.telegram.decoding import on_decoding_thread, probe_clip_file
from bot.telegram.i18n import ENGLISH, Translator, translator
from bot.telegram.keyboards import battle_keyboard
from bot.telegram.photo_limits import fit_for_telegram_photo
from bot.telegram.presenter import result_caption
from bot.telegram.retries import with_retries
from stylecore import decode_image

log = logging.getLogger("stylebot.battles")


class TelegramBattleStage:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def post_album(self, battle: Battle, jobs: list[Job]) -> list[int]:
        media = [await _album_item(job) for job in jobs]
        reply_to = (ReplyParameters(battle.reply_to_message_id,
                                    allow_sending_without_reply=True)
                    if battle.reply_to_message_id else None)
        try:
            messages = await with_retries(lambda: self.bot.send_media_group(
                battle.chat_id, media, reply_parameters=reply_to))
        except Forbidden as exc:
            raise RecipientGone(str(exc)) from exc
        except TelegramError as exc:
            raise Unreachable(str(exc)) from exc
        return [message.message_id for message in messages]

    async def post_vote(self, battle: Battle, styles: list[str], seconds: float) -> int:
        t = translator(battle.language)
        reply_to = ReplyParameters(battle.album_message_id or 0,
                                   allow_sending_without_reply=True)
        try:
            message = await with_retries(lambda: self.bot.send_message(
                battle.chat_id, vote_text(styles, {}, seconds, t), reply_parameters=reply_to,
                reply_markup=battle_keyboard(battle.id, styles, {}, t)))
        except Forbidden as exc:
            raise RecipientGone(str(exc)) from exc
        except TelegramError as exc:
            raise Unreachable(str(exc)) from exc
        return message.message_id

    async def show_counts(self, battle: Battle, styles: list[str], counts: dict[str, int],
                          seconds_left: float) -> None:
        t = translator(battle.language)
        try:
            await self.bot.edit_message_text(
                vote_text(styles, counts, seconds_left, t), chat_id=battle.chat_id,
                message_id=battle.vote_message_id,
                reply_markup=battle_keyboard(battle.id, styles, counts, t))
        except TelegramError as exc:
            log.info("battle %d: counts not shown: %s", battle.id, exc)

    async def show_result(self, battle: Battle, styles: list[str],
                          counts: dict[str, int]) -> None:
        try:
            await self.bot.edit_message_text(
                result_text(styles, counts, translator(battle.language)),
                chat_id=battle.chat_id, message_id=battle.vote_message_id)
        except TelegramError as exc:
            log.info("battle %d: result not shown: %s", battle.id, exc)

    async def tell_failed(self, battle: Battle) -> None:
        """"Not enough paintings": in the battle's status message, or a new one."""
        failed = translator(battle.language)(texts.BATTLE_FAILED)
        if battle.status_message_id is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.edit_message_text(failed, chat_id=battle.chat_id,
                                                 message_id=battle.status_message_id)
                return
        with contextlib.suppress(TelegramError):
            await self.bot.send_message(battle.chat_id, failed)

    async def remove_status(self, battle: Battle) -> None:
        if battle.status_message_id is None:
            return
        try:
            await self.bot.delete_message(battle.chat_id, battle.status_message_id)
        except TelegramError as exc:
            log.debug("battle status message not deleted: %s", exc)


async def _album_item(job: Job) -> InputMediaPhoto | InputMediaVideo:
    """One painting of the album, captioned with its style and size."""
    path = Path(job.result_path or "")
    if job.media != "photo":
        info = await probe_clip_file(path)
        return InputMediaVideo(
            path.read_bytes(), filename=f"{job.id}.mp4",
            caption=result_caption(job, info.width, info.height, None),
            width=info.width, height=info.height,
            duration=max(1, round(info.duration_s or 1)), supports_streaming=True)
    image = await on_decoding_thread(decode_image, path, min_side=1, max_aspect=math.inf)
    height, width = image.shape[:2]
    photo = await asyncio.to_thread(fit_for_telegram_photo, image)
    return InputMediaPhoto(photo, caption=result_caption(job, width, height, None))


def _lines(styles: list[str], counts: dict[str, int], t: Translator) -> str:
    return "\n".join(t.n(texts.BATTLE_LINE, counts.get(style, 0), name=style,
                         votes=counts.get(style, 0))
                     for style in styles)


def vote_text(styles: list[str], counts: dict[str, int], seconds_left: float,
              t: Translator = ENGLISH) -> str:
    return (t(texts.BATTLE_VOTE, lines=_lines(styles, counts, t)) + "\n"
            + t(texts.BATTLE_ENDS, time=texts.seconds_text(seconds_left, t)))


def result_text(styles: list[str], counts: dict[str, int], t: Translator = ENGLISH) -> str:
    lines = _lines(styles, counts, t)
    best = max((counts.get(style, 0) for style in styles), default=0)
    if best == 0:
        return t(texts.BATTLE_NO_VOTES, lines=lines)
    winners = [style for style in styles if counts.get(style, 0) == best]
    if len(winners) > 1:
        return t(texts.BATTLE_TIE, names=t(texts.AND).join(winners), lines=lines)
    return t.n(texts.BATTLE_WON, best, name=winners[0], votes=best, lines=lines)
