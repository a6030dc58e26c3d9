"""Group fun (issue #13): albums of two photos, /surprise, /me and the style battle's command.

- An album (a media group: separate updates sharing `media_group_id`, possibly out of order)
  is collected for `ALBUM_WAIT_S` after its last part, then its first two photos by message id
  are content and style. In groups only an album with a part captioned /stylize counts; where
  the bot sees only that part (privacy mode), it is an ordinary photo captioned /stylize.
- /surprise (replying to a photo, or as a photo's caption) paints it in a random preset.
- /me paints the sender's own profile photo (the biggest size) in the named or default style.
- /battle is in `bot.telegram.handlers.battle`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import filters

from bot.telegram import kind_texts, texts
from bot.telegram.context import Asker, Context, Request, Sender, Services, handler, services
from bot.telegram.files import ImageRef, NotAStillImage, image_in
from bot.telegram.handlers import photos
from bot.telegram.handlers.common import (
    JobInputs,
    get_session,
    image_to_paint,
    parse_stylize,
    preset_name,
    receive_image,
    reply,
    start_job,
)
from bot.telegram.i18n import Translator
from stylecore import UnknownPreset, is_available_offline, list_presets, recent_failure

log = logging.getLogger("stylebot.handlers")

ALBUM_WAIT_S = 1.0
"""How long after an album's last part the bot waits for more parts."""
SURPRISE_CAPTION = filters.CaptionRegex(r"^/surprise(@\w+)?(\s|$)")


class InAlbum(filters.MessageFilter):
    """Messages that are part of a media group."""

    def filter(self, message: Message) -> bool:
        return bool(message.media_group_id)


IN_ALBUM = InAlbum()


# ---------------------------------------------------------------------- albums


@dataclass
class _Album:
    parts: list[Message] = field(default_factory=list)
    timer: asyncio.Task | None = None


class Albums:
    """Albums being collected, by (chat id, media group id); each is handled once, by
    `on_complete`, `ALBUM_WAIT_S` after its last part arrived."""

    def __init__(self, wait_s: float = ALBUM_WAIT_S) -> None:
        self.wait_s = wait_s
        self._open: dict[tuple[int, str], _Album] = {}
        self._tasks: set[asyncio.Task] = set()

    def add(self, message: Message, on_complete) -> None:
        key = (message.chat_id, str(message.media_group_id))
        album = self._open.setdefault(key, _Album())
        album.parts.append(message)
        if album.timer is not None:
            album.timer.cancel()
        album.timer = asyncio.create_task(self._close_later(key, on_complete))
        self._tasks.add(album.timer)
        album.timer.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Drops the albums still being collected (the bot is stopping)."""
        tasks = list(self._tasks)
        self._open.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _close_later(self, key: tuple[int, str], on_complete) -> None:
        await asyncio.sleep(self.wait_s)
        album = self._open.pop(key, None)
        if album is None:
            return
        album.timer = None  # the work below must not be cancelled by a late part
        parts = sorted(album.parts, key=lambda m: m.message_id)
        try:
            await on_complete(parts)
        except Exception:
            log.exception("album %s in chat %s failed", key[1], key[0])


async def album_part(update: Update, context: Context) -> None:
    """One part of an album: kept until the album is complete."""
    message, sender = update.effective_message, Sender.of(update)
    if message is None or sender is None:
        return
    svc = services(context)
    if svc.albums is None:
        svc.albums = Albums()

    async def complete(parts: list[Message]) -> None:
        await _album(svc, context, sender, parts, await svc.translator(sender))

    svc.albums.add(message, complete)


async def _album(svc: Services, context: Context, sender: Sender, parts: list[Message],
                 t: Translator) -> None:
    """A complete album, answered in `t`'s language (the sender's, or the group's)."""
    bot = context.bot
    first = parts[0]
    if not sender.private:
        addressed = [parse_stylize(p.caption, bot.username) for p in parts]
        if not any(is_command for is_command, _ in addressed):
            return  # not for us: quiet in groups
    try:
        refs = [image_in(part) for part in parts]
    except NotAStillImage:
        await reply(first, t(texts.ANIMATED_STICKER))
        return
    pictures = [(part, ref) for part, ref in zip(parts, refs, strict=True) if ref is not None]
    if len(pictures) == 1 and not sender.private:
        # With privacy mode on, a group's bot sees only the part captioned /stylize: that
        # part alone is an ordinary captioned photo.
        await photos.group_captioned_image.__wrapped__(
            Request(pictures[0][0], sender, svc, context, t))
        return
    if len(pictures) != 2:
        await reply(first, t(texts.ALBUM_NEEDS_TWO))
        return
    (content_msg, content), (_, style) = pictures
    if style.moving:
        await reply(first, kind_texts.not_a_style_text(style.content_kind, t))
        return
    asker = Asker(svc, bot, sender, t)
    async with svc.inbox.receiving(content_msg, sender.user_id, t.code), \
            svc.user_lock(sender.chat_id, sender.user_id):
        content = await receive_image(asker, content_msg, content)
        if content is None or await receive_image(asker, content_msg, style) is None:
            return
        session = await get_session(svc, sender.chat_id, sender.user_id)
        inputs = JobInputs.of(content, content_msg.message_id, svc.config,
                              style_file_id=style.file_id)
        await start_job(asker, inputs, session.settings)


# ---------------------------------------------------------------------- /surprise


def random_preset(rng: random.Random | None = None, exclude: set[str] | None = None) -> str | None:
    """A random preset that can be used now (procedural, cached or in a folder; not one whose
    download failed lately); any preset if none is."""
    rng = rng or random.Random()
    exclude = exclude or set()
    names = [p.name for p in list_presets() if p.name not in exclude]
    usable = [n for n in names if is_available_offline(n) and not recent_failure(n)]
    pool = usable or names
    return rng.choice(pool) if pool else None


@handler()
async def surprise(req: Request) -> None:
    """/surprise replying to a photo, or a photo captioned /surprise: a random preset."""
    message = req.message
    target = message.reply_to_message if not message.caption else message
    await _paint(req, target, random_preset(), usage=texts.SURPRISE_USAGE)


async def _paint(req: Request, target: Message | None, preset: str | None, *,
                 usage: str) -> None:
    message = req.message
    async with req.receiving():
        ref = await image_to_paint(message, target, usage, req.t, can_start=preset is not None)
        if ref is None or target is None or preset is None:
            return
        ref = await receive_image(req.asker, message, ref)
        if ref is None:
            return
        session = await get_session(req.svc, req.sender.chat_id, req.sender.user_id)
        inputs = JobInputs.of(ref, target.message_id, req.svc.config, preset=preset)
        await start_job(req.asker, inputs, session.settings)


# ---------------------------------------------------------------------- /me


@handler()
async def me(req: Request) -> None:
    """/me [NAME]: the sender's own profile photo, in the named or their default style."""
    message = req.message
    async with req.receiving():
        session = await get_session(req.svc, req.sender.chat_id, req.sender.user_id)
        preset = session.default_preset
        if req.args:
            try:
                preset = preset_name(req.args[0])
            except UnknownPreset as exc:
                await reply(message, texts.error_text(exc, req.t))
                return
        if preset is None:
            await reply(message, req.t(texts.ME_NEEDS_STYLE))
            return
        ref = await _profile_photo(req)
        if ref is None:
            await reply(message, req.t(texts.ME_NO_PHOTO))
            return
        if await receive_image(req.asker, message, ref) is None:
            return
        inputs = JobInputs(ref.file_id, message.message_id, preset=preset)
        await start_job(req.asker, inputs, session.settings)


async def _profile_photo(req: Request) -> ImageRef | None:
    """The biggest size of the sender's current profile photo; None if they have none or
    their privacy settings hide it from the bot."""
    try:
        photos = await req.bot.get_user_profile_photos(req.sender.user_id, limit=1)
    except TelegramError as exc:
        log.info("profile photos of user %s not readable: %s", req.sender.user_id, exc)
        return None
    if not photos.photos or not photos.photos[0]:
        return None
    best = max(photos.photos[0], key=lambda size: size.width * size.height)
    return ImageRef(best.file_id, best.file_unique_id, best.file_size, "photo")

