"""Style battles (/battle): one photo painted in two or three presets, posted as one album, then
voted on in the chat.

A battle is a row in `battles` (with its jobs in `battle_jobs` and the votes in
`battle_votes`, read and written by `bot.jobs.battle_records`), so it survives a restart. Its
jobs are ordinary jobs (the queue's fairness and caps apply), except that `Delivery` holds
their results back (`holds`): the battle's own loop (every `TICK_S` and whenever a result is
in) posts the album once every job has a result or has ended, then the vote message; it closes
the vote at its deadline. States: painting -> posted (the album is out) -> voting (the vote
message is out) -> over. The caller may end the vote early.

Everything a battle says to the chat (the status, the album's captions, the vote message and
its "End vote" button, the result) is in the battle's language, stored with it: the language
its caller was answered in, i.e. the group's where its admins chose one (`bot.telegram.i18n`),
like any job's later messages. A vote's answer is in the voter's own language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

from telegram import Bot, InputMediaPhoto, InputMediaVideo, ReplyParameters
from telegram.error import Forbidden, TelegramError

from bot.jobs.battle_records import Battle, BattleRecords
from bot.jobs.delivery import discard_files, result_caption
from bot.jobs.model import Job, JobQueue, JobStatus
from bot.store import Store
from bot.telegram import texts
from bot.telegram.decoding import on_decoding_thread, probe_clip_file
from bot.telegram.files import WorkArea
from bot.telegram.i18n import ENGLISH, Translator, translator
from bot.telegram.keyboards import battle_keyboard
from bot.telegram.photos import fit_for_telegram_photo
from bot.telegram.retries import with_retries
from stylecore import decode_image

log = logging.getLogger("stylebot.battles")

TICK_S = 2.0
"""How often the loop looks at open battles without being woken."""


class Battles:
    """The running battles: their loop, their messages and their votes."""

    def __init__(self, bot: Bot, store: Store, queue: JobQueue, work: WorkArea, *,
                 vote_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.bot = bot
        self.records = BattleRecords(store, clock)
        self.queue = queue
        self.work = work
        self.vote_seconds = vote_seconds
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._edit_locks: dict[int, asyncio.Lock] = {}
        """One edit of a vote message at a time, so the counts never overwrite the result;
        held during the request, which `_locks` (votes wait on those) never are for counts."""
        self._dirty: set[int] = set()
        self._refreshers: dict[int, asyncio.Task] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="battles")

    async def stop(self) -> None:
        for task in self._refreshers.values():
            task.cancel()
        self._refreshers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("battle loop error; carrying on")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)

    # ------------------------------------------------------------------ records

    async def create(self, chat_id: int, caller_id: int, reply_to_message_id: int | None,
                     jobs: list[Job], styles: list[str], status_message_id: int | None,
                     language: str = "en") -> int:
        """Stores a new battle, painting `jobs` (one per style); returns its id."""
        return await self.records.create(chat_id, caller_id, reply_to_message_id, jobs, styles,
                                         status_message_id, language)

    async def holds(self, job: Job) -> bool:
        """True for a job of a battle: its result waits for the album (and wakes the loop)."""
        held = await self.records.has_job(job.id)
        if held:
            self.wake()
        return held

    async def get(self, battle_id: int) -> Battle | None:
        return await self.records.get(battle_id)

    def _lock(self, battle_id: int) -> asyncio.Lock:
        return self._locks.setdefault(battle_id, asyncio.Lock())

    def _edit_lock(self, battle_id: int) -> asyncio.Lock:
        return self._edit_locks.setdefault(battle_id, asyncio.Lock())

    # ------------------------------------------------------------------ the loop's work

    async def tick(self) -> None:
        rows = await self.records.open_battles()
        now = self._clock()
        for battle_id, state, deadline in rows:
            async with self._lock(battle_id):
                battle = await self.get(battle_id)
                if battle is None or battle.state != state:
                    continue
                if state == "painting":
                    await self._post_album(battle)
                elif state == "posted":
                    await self._post_vote(battle)
                elif state == "voting" and deadline is not None and deadline <= now:
                    await self._finish(battle)
        open_ids = {row[0] for row in rows}
        for locks in (self._locks, self._edit_locks):
            for battle_id in [b for b, lock in locks.items()
                              if b not in open_ids and not lock.locked()]:
                del locks[battle_id]

    async def _post_album(self, battle: Battle) -> None:
        jobs = [await self.queue.get(job_id) for job_id in battle.job_ids]
        if any(job is not None and job.status == JobStatus.QUEUED for job in jobs):
            return
        if any(job is not None and job.status == JobStatus.RUNNING and not job.result_path
               for job in jobs):
            return  # still computing
        ready = [(job, style) for job, style in zip(jobs, battle.styles, strict=True)
                 if job is not None and job.status == JobStatus.RUNNING
                 and job.result_path and Path(job.result_path).is_file()]
        if len(ready) < 2:
            await self._give_up(battle, [job for job in jobs if job is not None])
            return
        media: list[InputMediaPhoto | InputMediaVideo] = []
        for job, _ in ready:
            if job.media != "photo":  # a clip's battle: an album of videos (no GIFs in albums)
                info = await probe_clip_file(Path(job.result_path))
                media.append(InputMediaVideo(
                    Path(job.result_path).read_bytes(), filename=f"{job.id}.mp4",
                    caption=result_caption(job, info.width, info.height, None),
                    width=info.width, height=info.height,
                    duration=max(1, round(info.duration_s or 1)), supports_streaming=True))
                continue
            image = await on_decoding_thread(decode_image, Path(job.result_path), min_side=1,
                                             max_aspect=math.inf)
            height, width = image.shape[:2]
            photo = await asyncio.to_thread(fit_for_telegram_photo, image)
            media.append(InputMediaPhoto(photo, caption=result_caption(job, width, height,
                                                                        None)))
        reply_to = (ReplyParameters(battle.reply_to_message_id,
                                    allow_sending_without_reply=True)
                    if battle.reply_to_message_id else None)
        try:
            messages = await with_retries(lambda: self.bot.send_media_group(
                battle.chat_id, media, reply_parameters=reply_to))
        except Forbidden:
            await self._give_up(battle, [job for job in jobs if job is not None], quiet=True)
            return
        except TelegramError as exc:  # the next tick tries again
            log.warning("battle %d: album not sent: %s", battle.id, exc)
            return
        for (job, _), message in zip(ready, messages, strict=False):
            await self.queue.mark_delivered(job.id, message.message_id)
        posted = {job.id for job, _ in ready}
        for job in jobs:  # a result that vanished: the album went without it
            if job is not None and job.status == JobStatus.RUNNING and job.id not in posted:
                await self.queue.fail(job.id, "battle: result missing when the album went")
        await self.records.set(battle.id, state="posted", album_message_id=messages[0].message_id)
        await self._delete_status(battle)
        for job in jobs:
            if job is not None:
                discard_files(self.work, job)
        log.info("battle %d posted as an album of %d", battle.id, len(ready))
        await self._post_vote(await self.get(battle.id))

    async def _post_vote(self, battle: Battle | None) -> None:
        if battle is None:
            return
        styles = await self._posted_styles(battle)
        deadline = self._clock() + self.vote_seconds
        t = translator(battle.language)
        text = vote_text(styles, {}, self.vote_seconds, t)
        reply_to = ReplyParameters(battle.album_message_id or 0,
                                   allow_sending_without_reply=True)
        try:
            message = await with_retries(lambda: self.bot.send_message(
                battle.chat_id, text, reply_parameters=reply_to,
                reply_markup=battle_keyboard(battle.id, styles, {}, t)))
        except Forbidden:
            await self.records.set(battle.id, state="over")
            return
        except TelegramError as exc:
            log.warning("battle %d: vote message not sent: %s", battle.id, exc)
            return
        await self.records.set(battle.id, state="voting", vote_message_id=message.message_id,
                        deadline=deadline)

    async def _posted_styles(self, battle: Battle) -> list[str]:
        """The styles whose paintings made it into the album."""
        styles = []
        for job_id, style in zip(battle.job_ids, battle.styles, strict=True):
            job = await self.queue.get(job_id)
            if job is not None and job.status == JobStatus.DONE:
                styles.append(style)
        return styles

    async def _give_up(self, battle: Battle, jobs: list[Job], quiet: bool = False) -> None:
        await self.records.set(battle.id, state="over")
        for job in jobs:
            if job.status == JobStatus.RUNNING:
                await self.queue.fail(job.id, "battle: too few paintings")
            discard_files(self.work, job)
        cancelled = all(job.status == JobStatus.CANCELLED for job in jobs)
        if cancelled or quiet:
            return  # /cancel answered already
        failed = translator(battle.language)(texts.BATTLE_FAILED)
        if battle.status_message_id is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.edit_message_text(failed, chat_id=battle.chat_id,
                                                 message_id=battle.status_message_id)
                return
        with contextlib.suppress(TelegramError):
            await self.bot.send_message(battle.chat_id, failed)

    async def _delete_status(self, battle: Battle) -> None:
        if battle.status_message_id is None:
            return
        try:
            await self.bot.delete_message(battle.chat_id, battle.status_message_id)
        except TelegramError as exc:
            log.debug("battle status message not deleted: %s", exc)

    # ------------------------------------------------------------------ votes

    async def vote(self, battle_id: int, user_id: int, position: int) -> tuple[str, str | None]:
        """Records a vote: ("voted" | "unchanged" | "over", the style). A new vote, or a changed
        one, updates the counts in the vote message."""
        async with self._lock(battle_id):
            battle = await self.get(battle_id)
            if battle is None or battle.state != "voting":
                return "over", None
            styles = await self._posted_styles(battle)
            if not 0 <= position < len(styles):
                return "over", None
            style = styles[position]
            if not await self.records.vote(battle_id, user_id, style):
                return "unchanged", style
        self._show_counts(battle_id)
        return "voted", style

    def _show_counts(self, battle_id: int) -> None:
        """Edits the vote message to the current counts, soon: a burst of votes is one edit
        (each edit counts against a group's 20 messages a minute), and the voter's answer
        does not wait for it."""
        self._dirty.add(battle_id)
        task = self._refreshers.get(battle_id)
        if task is None or task.done():
            self._refreshers[battle_id] = asyncio.create_task(self._refresh(battle_id))

    async def _refresh(self, battle_id: int) -> None:
        while battle_id in self._dirty:
            self._dirty.discard(battle_id)
            async with self._edit_lock(battle_id):
                battle = await self.get(battle_id)
                if battle is None or battle.state != "voting":
                    return
                styles = await self._posted_styles(battle)
                counts = await self.records.counts(battle_id)
                left = max(0.0, (battle.deadline or 0) - self._clock())
                t = translator(battle.language)
                try:
                    await self.bot.edit_message_text(
                        vote_text(styles, counts, left, t), chat_id=battle.chat_id,
                        message_id=battle.vote_message_id,
                        reply_markup=battle_keyboard(battle_id, styles, counts, t))
                except TelegramError as exc:
                    log.info("battle %d: counts not shown: %s", battle_id, exc)

    async def end(self, battle_id: int) -> bool:
        """Ends the vote now (the caller's button); False if it was over already."""
        async with self._lock(battle_id):
            battle = await self.get(battle_id)
            if battle is None or battle.state != "voting":
                return False
            await self._finish(battle)
            return True

    async def _finish(self, battle: Battle) -> None:
        styles = await self._posted_styles(battle)
        counts = await self.records.counts(battle.id)
        await self.records.set(battle.id, state="over")
        async with self._edit_lock(battle.id):  # after any edit of the counts in flight
            try:
                await self.bot.edit_message_text(result_text(styles, counts,
                                                             translator(battle.language)),
                                                 chat_id=battle.chat_id,
                                                 message_id=battle.vote_message_id)
            except TelegramError as exc:
                log.info("battle %d: result not shown: %s", battle.id, exc)
        log.info("battle %d over: %s", battle.id, counts)


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
