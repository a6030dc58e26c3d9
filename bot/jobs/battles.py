"""Style battles (/battle): one photo painted in two or three presets, posted as one album, then
voted on in the chat.

A battle is a row in `battles` (with its jobs in `battle_jobs` and the votes in
`battle_votes`, read and written by `bot.jobs.battle_records`), so it survives a restart. Its
jobs are ordinary jobs (the queue's fairness and caps apply), except that `Delivery` holds
their results back (`holds`): the battle's own loop (every `TICK_S` and whenever a result is
in) posts the album once every job has a result or has ended, then the vote message; it closes
the vote at its deadline. States: painting -> posted (the album is out) -> voting (the vote
message is out) -> over. The caller may end the vote early.

What a battle shows (the album, the vote message and its "End vote" button, the counts, the
result) goes through a `BattleStage` (`bot.jobs.ports`; Telegram's is
`bot.telegram.battle_stage`), in the battle's language, stored with it. A vote's answer is in
the voter's own language (the handler's business).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.jobs.battle_records import Battle, BattleRecords
from bot.jobs.delivery import discard_files
from bot.jobs.model import Job, JobQueue, JobStatus
from bot.jobs.ports import BattleStage, RecipientGone, Unreachable
from bot.jobs.work_area import WorkArea
from bot.store import Store

log = logging.getLogger("stylebot.battles")

TICK_S = 2.0
"""How often the loop looks at open battles without being woken."""


class Battles:
    """The running battles: their loop, their messages and their votes."""

    def __init__(self, stage: BattleStage, store: Store, queue: JobQueue, work: WorkArea, *,
                 vote_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.stage = stage
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
        """Once every job has a result or has ended: the album of those with a result (at
        least two, else the battle is given up), then the vote."""
        jobs = [job for job in [await self.queue.get(job_id) for job_id in battle.job_ids]
                if job is not None]
        if any(_still_painting(job) for job in jobs):
            return
        ready = [job for job in jobs if _has_result(job)]
        if len(ready) < 2:
            await self._give_up(battle, jobs)
            return
        try:
            message_ids = await self.stage.post_album(battle, ready)
        except RecipientGone:
            await self._give_up(battle, jobs, quiet=True)
            return
        except Unreachable as exc:  # the next tick tries again
            log.warning("battle %d: album not sent: %s", battle.id, exc)
            return
        await self._record_album(battle, jobs, ready, message_ids)
        log.info("battle %d posted as an album of %d", battle.id, len(ready))
        await self._post_vote(await self.get(battle.id))

    async def _record_album(self, battle: Battle, jobs: list[Job], ready: list[Job],
                            message_ids: list[int]) -> None:
        """The posted paintings are delivered, a result that vanished meanwhile failed (the
        album went without it); the battle is posted and its jobs' files go."""
        for job, message_id in zip(ready, message_ids, strict=False):
            await self.queue.mark_delivered(job.id, message_id)
        posted = {job.id for job in ready}
        for job in jobs:
            if job.status == JobStatus.RUNNING and job.id not in posted:
                await self.queue.fail(job.id, "battle: result missing when the album went")
        await self.records.set(battle.id, state="posted", album_message_id=message_ids[0])
        await self.stage.remove_status(battle)
        for job in jobs:
            discard_files(self.work, job)

    async def _post_vote(self, battle: Battle | None) -> None:
        if battle is None:
            return
        styles = await self._posted_styles(battle)
        deadline = self._clock() + self.vote_seconds
        try:
            message_id = await self.stage.post_vote(battle, styles, self.vote_seconds)
        except RecipientGone:
            await self.records.set(battle.id, state="over")
            return
        except Unreachable as exc:
            log.warning("battle %d: vote message not sent: %s", battle.id, exc)
            return
        await self.records.set(battle.id, state="voting", vote_message_id=message_id,
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
        if not (cancelled or quiet):  # a cancel was answered already
            await self.stage.tell_failed(battle)

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
                await self.stage.show_counts(battle, styles, counts, left)

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
            await self.stage.show_result(battle, styles, counts)
        log.info("battle %d over: %s", battle.id, counts)



def _still_painting(job: Job) -> bool:
    return job.status == JobStatus.QUEUED or (job.status == JobStatus.RUNNING
                                              and not job.result_path)


def _has_result(job: Job) -> bool:
    return (job.status == JobStatus.RUNNING and bool(job.result_path)
            and Path(job.result_path).is_file())
