"""Sending a computed result to its chat, exactly once where the platform allows.

A result stays on disk until the platform accepted it (`Presenter.send_result`); its message
id is recorded right after, and a job that has one is never sent again. The only window for a
duplicate is a crash between the platform accepting the picture and that record (or a send
that timed out after it arrived). A send that fails for a network reason is left for the
runner's redelivery; one the platform refuses fails the job with an apology; a user who
blocked the bot fails it quietly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.jobs.disk_full import write_when_room
from bot.jobs.model import Job, JobQueue, JobStatus
from bot.jobs.ports import Failure, Presenter, RecipientGone, Refused, StatusDisplay, Unreachable
from bot.jobs.work_area import WorkArea

log = logging.getLogger("stylebot.runner")


class Delivery:
    """Sends results through the `presenter`. `status_for(job)` gives a job's status display
    when the caller has none; `requeued()` is called after a job whose result file vanished
    went back to the queue; `holds(job)`, when given, says a result is sent by someone else
    (a style battle's album, `bot.jobs.battles`)."""

    def __init__(self, queue: JobQueue, work: WorkArea, presenter: Presenter, *,
                 status_for: Callable[[Job], StatusDisplay],
                 requeued: Callable[[], None],
                 holds: Callable[[Job], Awaitable[bool]] | None = None) -> None:
        self.queue = queue
        self.work = work
        self.presenter = presenter
        self._status_for = status_for
        self._requeued = requeued
        self._holds = holds

    async def deliver(self, job_id: int, *, status: StatusDisplay | None = None,
                      seconds: float | None = None) -> None:
        """Sends a computed result unless it was sent (or cancelled) already."""
        job = await self.queue.get(job_id)
        if job is None:  # forgotten (/forget) meanwhile
            self.work.remove_job(job_id)
            return
        if job.status != JobStatus.RUNNING or job.delivered_message_id is not None:
            discard_files(self.work, job)
            return
        path = Path(job.result_path) if job.result_path else None
        if path is None or not path.is_file():
            log.warning("job %d: result file missing; computing it again", job.id)
            await write_when_room(lambda: self.queue.retry_later(job.id), f"job {job.id}")
            self._requeued()
            return
        if self._holds is not None and await self._holds(job):
            return
        status = status or self._status_for(job)
        try:
            message_id = await self.presenter.send_result(job, path, seconds)
        except RecipientGone:
            await status.stop()  # first: not one more status update to a chat that is gone
            await write_when_room(lambda: self.queue.fail(job.id, "the user blocked the bot"),
                                  f"job {job.id}")
            discard_files(self.work, job)
            return
        except Refused as exc:
            log.warning("job %d: result could not be sent: %s", job.id, exc)
            reason = f"delivery failed: {exc}"
            await write_when_room(lambda: self.queue.fail(job.id, reason), f"job {job.id}")
            await status.stop()
            await status.show_failure(Failure.INTERNAL)
            discard_files(self.work, job)
            return
        except Unreachable as exc:  # network still down: redelivery tries again later
            log.warning("job %d: delivery failed for now: %s", job.id, exc)
            return
        # Telegram has the picture: its record must go in, or a redelivery would send it again.
        await write_when_room(lambda: self.queue.mark_delivered(job.id, message_id),
                              f"job {job.id}'s delivery")
        log.info("job %d delivered as message %d", job.id, message_id)
        discard_files(self.work, job)
        await status.stop()
        await status.delete()


def discard_files(work: WorkArea, job: Job) -> None:
    """Removes a finished job's files: its result and the inputs it downloaded."""
    work.remove_job(job.id)
    work.remove_inputs(job.user_id, job.content_file_id, job.style_file_id)
