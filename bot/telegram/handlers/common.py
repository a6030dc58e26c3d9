"""What the handlers share: sessions, answering, parsing /stylize, receiving images and
starting jobs. (What each handler is given, the services and the sender, is in
`bot.telegram.context`.)"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from telegram import Bot, Message, ReplyParameters
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.config import Config
from bot.jobs.model import Job, JobRequest, QueueFull, UserLimitReached
from bot.settings import ContentKind, JobSettings, Media, Settings
from bot.store import Session
from bot.telegram import kind_texts, texts
from bot.telegram.context import Asker, Services
from bot.telegram.decoding import check_clip_file, on_decoding_thread
from bot.telegram.files import (
    MAX_DOWNLOAD_BYTES,
    FileTooBig,
    FileUnavailable,
    ImageRef,
    NotAStillImage,
    download,
    image_in,
)
from bot.telegram.i18n import Translator
from bot.telegram.retries import with_retries
from bot.telegram.status import queued_text
from stylecore import ClipError, ImageError, UnknownPreset, decode_image, get_preset

log = logging.getLogger("stylebot.handlers")

CHECK_SIDE = 64
"""The long side a download is decoded at to check it (damage shows at any size); the worker
decodes it again at the job's size. A full-size decode of a 50-megapixel image would take
hundreds of megabytes for nothing."""
REPLY_ATTEMPTS = 3
"""Tries of an answer to the user when the network fails (1 s, then 2 s apart)."""


async def get_session(svc: Services, chat_id: int, user_id: int) -> Session:
    session = await svc.store.get_session(chat_id, user_id)
    if _is_untouched(session):
        session.settings = session.settings.with_(quality=svc.config.default_quality)
    return session


def _is_untouched(session: Session) -> bool:
    """A session that was never saved (or equals one): it gets the operator's default quality."""
    return (session.pending is None and session.content_file_id is None
            and session.default_preset is None and session.settings == Settings())


async def reply(message: Message, text: str, **kwargs) -> Message | None:
    """Replies to `message`, retrying network errors a few times; a user who blocked the bot,
    a vanished chat or a network that stays down is logged, not raised."""
    reply_to = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    try:
        return await with_retries(
            lambda: message.reply_text(text, reply_parameters=reply_to, **kwargs),
            attempts=REPLY_ATTEMPTS,
        )
    except Forbidden:
        log.info("chat %s blocked the bot", message.chat_id)
    except TelegramError as exc:
        log.warning("reply in chat %s failed: %s", message.chat_id, exc)
    return None


# ---------------------------------------------------------------------- commands in text

_STYLIZE = re.compile(r"/stylize(?:@(\w+))?(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)


def parse_stylize(text: str | None, bot_username: str | None) -> tuple[bool, str | None]:
    """(True, argument or None) for "/stylize [NAME]" or "/stylize@thisbot [NAME]";
    (False, None) for anything else, including commands addressed to other bots."""
    match = _STYLIZE.fullmatch((text or "").strip())
    if match is None:
        return False, None
    addressee = match[1]
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return False, None
    argument = (match[2] or "").strip()
    return True, argument.split()[0] if argument else None


def preset_name(name: str) -> str:
    """The canonical name of a preset; raises `UnknownPreset` (its `message` suggests names)."""
    return get_preset(name).name


def caption_preset(caption: str | None) -> str | None:
    """A caption that is exactly a preset's name ("wave") names that preset."""
    words = (caption or "").split()
    if len(words) != 1:
        return None
    try:
        return preset_name(words[0])
    except UnknownPreset:
        return None


# ---------------------------------------------------------------------- receiving images


async def image_to_paint(message: Message, target: Message | None, usage: str, t: Translator,
                         *, can_start: bool = True) -> ImageRef | None:
    """The picture or clip in `target` (what a command replies to, or what it is the caption
    of), or None once the user has been answered: a line for an animated (TGS) sticker,
    `usage` when there is no picture or the command cannot start anyway."""
    try:
        ref = image_in(target)
    except NotAStillImage:
        await reply(message, t(texts.ANIMATED_STICKER))
        return None
    if ref is None or target is None or not can_start:
        await reply(message, t(usage))
        return None
    return ref


async def receive_image(asker: Asker, message: Message, ref: ImageRef) -> ImageRef | None:
    """Downloads and decodes the picture `asker` sent in `message` right away, so bad input is
    answered at once; keeps the download in the work area for the runner. Returns `ref` (a
    clip's with the frames its headers promise), or None (after telling the user) if it is
    unusable. A file over the download limit is refused before downloading; a clip longer
    than the limit is taken whatever its length (its first seconds are painted)."""
    svc, user_id, t = asker.svc, asker.sender.user_id, asker.t
    too_big = texts.CLIP_TOO_BIG if ref.moving else texts.TOO_BIG
    if ref.file_size is not None and ref.file_size > MAX_DOWNLOAD_BYTES:
        await reply(message, t(too_big, limit=MAX_DOWNLOAD_BYTES // 2**20))
        return None
    if svc.work.cached_input(user_id, ref.file_id) is not None:
        return ref
    try:
        data = await download(asker.bot, ref.file_id, ref.file_size)
        if ref.moving:
            return await _checked_clip(asker, message, ref, data)
        await on_decoding_thread(decode_image, data, needed_side=CHECK_SIDE)
    except FileTooBig:
        await reply(message, t(too_big, limit=MAX_DOWNLOAD_BYTES // 2**20))
        return None
    except ImageError as exc:
        log.info("image from user %s refused: %s", user_id, exc.reason)
        await reply(message, kind_texts.error_text(exc, ref.content_kind, t))
        return None
    except (FileUnavailable, NetworkError) as exc:
        log.warning("download of %s failed: %s", ref.file_id, exc)
        await reply(message, t(texts.DOWNLOAD_FAILED))
        return None
    svc.work.save_input(user_id, ref.file_id, data)
    return ref


async def _checked_clip(asker: Asker, message: Message, ref: ImageRef,
                        data: bytes) -> ImageRef | None:
    """The download of a moving picture, kept in the work area if its first frames decode
    (with the frames its headers promise within the limits); else removed, and the user told
    the closest true line: no picture in it (audio only, not a video), damaged frames, or a
    single frame."""
    svc, user_id, config = asker.svc, asker.sender.user_id, asker.svc.config
    path = svc.work.save_input(user_id, ref.file_id, data)
    try:
        frames = await check_clip_file(path, config.clip_max_seconds, config.clip_max_fps,
                                       config.clip_max_side)
    except ClipError as exc:
        log.info("clip from user %s refused: %s", user_id, exc)
        svc.work.remove_inputs(user_id, ref.file_id)
        await reply(message, kind_texts.error_text(exc, ref.content_kind, asker.t))
        return None
    return replace(ref, probed_frames=frames)


# ---------------------------------------------------------------------- starting jobs


@dataclass(frozen=True)
class JobInputs:
    """The pictures of a job: the content photo (the message results reply to) and a preset
    or a style photo."""

    content_file_id: str
    content_message_id: int | None
    preset: str | None = None
    style_file_id: str | None = None
    media: Media = "photo"
    frames: int = 1
    """A moving picture's frames at most (see `ImageRef.frames`)."""
    content_kind: ContentKind = "photo"
    """What the user would call the content (a GIF, a sticker...)."""

    @classmethod
    def waiting(cls, session: Session, *, preset: str | None = None,
                style_file_id: str | None = None) -> JobInputs:
        """The photo (or clip) waiting in `session` for a style, with this style."""
        assert session.content_file_id is not None
        return cls(session.content_file_id, session.content_message_id, preset, style_file_id,
                   session.content_media, session.content_frames, session.content_kind)

    @classmethod
    def of(cls, ref: ImageRef, content_message_id: int | None, config: Config, *,
           preset: str | None = None, style_file_id: str | None = None) -> JobInputs:
        """The picture or clip `ref` as a job's content, with this style."""
        return cls(ref.file_id, content_message_id, preset, style_file_id, ref.media,
                   ref.frames(config.clip_max_seconds, config.clip_max_fps),
                   ref.content_kind)


async def start_job(asker: Asker, inputs: JobInputs,
                    settings: Settings | JobSettings) -> Job | None:
    """Enqueues `asker`'s job, tells them where it stands and clears the half-finished
    conversation. None if the queue refused it (they have been told why). Everything said
    about the job, now and later, is in `asker.t`'s language. `settings`: the user's, or a
    job's own (the studio's, with its blend, exact strength and brush)."""
    svc, bot, sender, t = asker.svc, asker.bot, asker.sender, asker.t
    request = JobRequest(
        chat_id=sender.chat_id,
        user_id=sender.user_id,
        chat_type=sender.chat_type,
        reply_to_message_id=inputs.content_message_id,
        content_file_id=inputs.content_file_id,
        style_file_id=inputs.style_file_id,
        preset=inputs.preset,
        settings=settings if isinstance(settings, JobSettings) else JobSettings.of(settings),
        language=t.code,
        media=inputs.media,
        frames=inputs.frames,
        content_kind=inputs.content_kind,
    )
    chat_id = sender.chat_id
    reply_to = (ReplyParameters(inputs.content_message_id, allow_sending_without_reply=True)
                if inputs.content_message_id else None)
    async with svc.enqueue_lock:
        try:
            job = await svc.queue.enqueue(request)
        except UserLimitReached as exc:
            _drop_downloads(svc, sender.user_id, inputs)
            await _say(bot, chat_id, t.n(texts.USER_LIMIT, exc.waiting, count=exc.waiting),
                       reply_to)
            return None
        except QueueFull:
            _drop_downloads(svc, sender.user_id, inputs)
            await _say(bot, chat_id, t(texts.QUEUE_FULL), reply_to)
            return None
        ahead, eta = await svc.queue.position(job.id)
        online = svc.fleet is None or bool(svc.fleet.snapshot.live)
        text = queued_text(ahead, eta, t, workers_online=online)
        status = await _say(bot, chat_id, text, reply_to)
        if status is not None:
            await svc.queue.set_status_message(job.id, status.message_id)
    dropped = await svc.store.clear_pending(chat_id, sender.user_id)
    if dropped is not None and dropped.file_id not in (inputs.content_file_id,
                                                       inputs.style_file_id):
        svc.work.remove_inputs(sender.user_id, dropped.file_id)  # replaced by this job
    svc.runner.wake()
    return job



def _drop_downloads(svc: Services, user_id: int, inputs: JobInputs) -> None:
    """A refused request's pictures leave the work folder (the soak test found them there
    for good). Should another waiting job need one of them, the runner fetches it again."""
    svc.work.remove_inputs(user_id, inputs.content_file_id, inputs.style_file_id)


async def _say(bot: Bot, chat_id: int, text: str,
               reply_to: ReplyParameters | None) -> Message | None:
    try:
        return await bot.send_message(chat_id, text, reply_parameters=reply_to)
    except TelegramError as exc:
        log.warning("message to chat %s failed: %s", chat_id, exc)
        return None
