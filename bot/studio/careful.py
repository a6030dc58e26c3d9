""""Paint carefully": the studio's choice as a job in the same queue as every other, asked for
in the user's private chat, where its status message and result come as usual."""

from __future__ import annotations

from telegram import Bot

from bot.settings import JobSettings
from bot.studio.choices import Choice
from bot.studio.init_data import StudioUser
from bot.studio.library import Picture, PresetStyle, Style
from bot.telegram.context import Asker, Sender, Services
from bot.telegram.handlers.common import JobInputs, get_session, start_job

MIN_STRENGTH = 0.01
"""A job's exact strength of 0 means "the named one": the slider's 0 is painted as this."""


def job_settings(base: JobSettings, choice: Choice,
                 styles: list[tuple[Style, float]]) -> JobSettings:
    """The user's settings (quality, delivery, previews) with the studio's choice."""
    second = styles[1][0] if len(styles) > 1 else None
    return base.with_(
        style_strength=max(choice.strength, MIN_STRENGTH),
        preserve_colors=choice.keep_colors,
        keep_faces=choice.keep_faces,
        second_style=_style_name(second) if second is not None else "",
        blend=styles[1][1] if second is not None else 0.0,
        mask=choice.mask or "",
    )


def _style_name(style: Style) -> str:
    return f"preset:{style.name}" if isinstance(style, PresetStyle) else f"file:{style.file_id}"


class CarefulJobs:
    """Starts studio jobs through the bot's own `start_job` (limits, status message, queue)."""

    def __init__(self, svc: Services, bot: Bot) -> None:
        self.svc = svc
        self.bot = bot

    async def start(self, user: StudioUser, choice: Choice, photo: Picture,
                    styles: list[tuple[Style, float]]) -> None:
        svc = self.svc
        sender = Sender(user.id, user.id, "private", user.language_code)
        t = await svc.translator(sender)
        session = await get_session(svc, user.id, user.id)
        settings = job_settings(JobSettings.of(session.settings), choice, styles)
        first = styles[0][0]
        inputs = JobInputs(
            photo.file_id, photo.message_id,
            preset=first.name if isinstance(first, PresetStyle) else None,
            style_file_id=first.file_id if isinstance(first, Picture) else None)
        await start_job(Asker(svc, self.bot, sender, t), inputs, settings)
