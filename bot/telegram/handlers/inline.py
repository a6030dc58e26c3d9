"""Inline mode: typing the bot's name in any chat lists the user's recent paintings (with a
style's name after it, only that style's) to send there with one tap; "Share" under a result
opens the same list. The answer is personal (Telegram must not show one user's paintings to
another) and short-lived; a button offers to paint another photo in the bot's chat."""

from __future__ import annotations

from telegram import InlineQueryResultCachedPhoto, InlineQueryResultsButton, Update
from telegram.error import TelegramError

from bot.telegram import texts
from bot.telegram.context import Context, Sender, services
from bot.telegram.handlers.common import log
from bot.telegram.shared_paintings import SharedPaintings

CACHE_S = 10
"""How long Telegram may answer the same query from its cache (new paintings show soon)."""
START_PARAMETER = "inline"
MAX_QUERY = 32


async def inline_query(update: Update, context: Context) -> None:
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    user = query.from_user
    t = await svc.translator(Sender(user.id, user.id, "private", user.language_code))
    style = query.query.strip()[:MAX_QUERY] or None
    found = await SharedPaintings(svc.store).recent(user.id, style)
    results = [InlineQueryResultCachedPhoto(id=str(painting.job_id),
                                            photo_file_id=painting.file_id,
                                            title=painting.style or None)
               for painting in found]
    button = InlineQueryResultsButton(
        t(texts.INLINE_PAINT_MORE if results else texts.INLINE_NOTHING),
        start_parameter=START_PARAMETER)
    try:
        await query.answer(results, cache_time=CACHE_S, is_personal=True, button=button)
    except TelegramError as exc:  # the query expired (a slow network): nothing to do
        log.info("inline query not answered: %s", exc)
