"""The studio built from the running bot: its library, preview worker, careful jobs and words,
as `bot.app` starts it once the bot's services exist."""

from __future__ import annotations

from collections.abc import Callable

from telegram import Bot

from bot.config import Config
from bot.jobs.ports import Inputs
from bot.jobs.runner import Worker
from bot.studio.careful import CarefulJobs
from bot.studio.deps import StudioDeps
from bot.studio.init_data import StudioUser
from bot.studio.library import Library
from bot.studio.limits import PreviewLimits, SharedCpu
from bot.studio.previews import PreviewPainter
from bot.studio.server import StudioServer
from bot.telegram.context import Services
from bot.telegram.i18n import choose, translator
from bot.telegram.studio_texts import page_words


def words_in(tag: str | None) -> tuple[str, dict[str, str]]:
    """The page's words in the language of an IETF tag (English for one the bot lacks)."""
    code = choose(group_choice=None, user_choice=None, telegram_code=tag or None)
    return code, page_words(translator(code))


def studio_server(config: Config, svc: Services, bot: Bot, inputs: Inputs, previews: Worker,
                  jobs_running: Callable[[], bool]) -> StudioServer:
    """The studio's server on `config.studio_listen` (not started). `previews`: the worker
    that paints previews; `jobs_running`: whether a careful job is running on this machine
    (previews then keep to their share)."""

    async def language(user: StudioUser) -> str:
        _, user_choice = await svc.store.languages(user.id, user.id)
        return choose(group_choice=None, user_choice=user_choice,
                      telegram_code=user.language_code)

    deps = StudioDeps(
        token=config.token,
        max_age_s=config.studio_max_age,
        webapp_js=config.studio_webapp_js,
        library=Library(svc.store, inputs, svc.work),
        previews=PreviewPainter(previews, svc.work, SharedCpu(jobs_running)),
        careful=CarefulJobs(svc, bot),
        language=language,
        words=words_in,
        limits=PreviewLimits(),
    )
    return StudioServer(deps, config.studio_listen)
