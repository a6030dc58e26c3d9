"""The job as the bot sees it: what a user asked for (`JobRequest`), the stored job (`Job`) and
its states, the queue's refusals, and the `JobQueue` protocol every caller types against
(`bot.jobs.queue.SqliteJobQueue` is the one implementation today)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bot.settings import ContentKind, JobSettings, Media


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class JobRequest:
    """What a user asked for, as the handlers hand it to the queue."""

    chat_id: int
    user_id: int
    chat_type: str
    reply_to_message_id: int | None
    content_file_id: str
    style_file_id: str | None
    preset: str | None
    settings: JobSettings
    language: str = field(default="en", kw_only=True)
    """What the bot says about the job later (status, caption, failures) is in this language:
    the requester's, as chosen when the job was asked for (`bot.telegram.i18n.choose`)."""
    media: Media = field(default="photo", kw_only=True)
    frames: int = field(default=1, kw_only=True)
    """Frames a clip job paints at most (1 for a picture): the queue's estimates count them.
    Once computed, the frames it painted (what later estimates learn from)."""
    content_kind: ContentKind = field(default="photo", kw_only=True)
    """What the user sent, as they would name it (for what is said about the job)."""


@dataclass
class Job(JobRequest):
    id: int
    status: JobStatus
    attempts: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None
    status_message_id: int | None
    result_path: str | None
    delivered_message_id: int | None
    cut_at_s: float | None = None
    """A clip longer than the limit: painted up to this many seconds (None: painted whole)."""

    @property
    def active(self) -> bool:
        """Queued or running (a computed but undelivered job is still running)."""
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)


class QueueFull(Exception):
    """The global cap on waiting jobs is reached."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"{limit} jobs are waiting already")


class UserLimitReached(Exception):
    """This user already has the most waiting jobs allowed."""

    def __init__(self, waiting: int, limit: int):
        self.waiting = waiting
        self.limit = limit
        super().__init__(f"the user has {waiting} jobs waiting (at most {limit})")


class JobQueue(Protocol):
    """The queue as the handlers and the runner use it."""

    async def enqueue(self, request: JobRequest) -> Job: ...
    async def enqueue_many(self, requests: list[JobRequest]) -> list[Job]: ...
    async def claim(self) -> Job | None: ...
    async def set_status_message(self, job_id: int, message_id: int) -> None: ...
    async def complete(self, job_id: int, result_path: str, *, seconds: float,
                       frames: int | None = None, cut_at_s: float | None = None,
                       kept_instant: bool = False) -> None:
        """The job's result is at `result_path`, computed in `seconds` of worker time; a clip
        with the `frames` it painted, cut at `cut_at_s` seconds if it was longer
        (`kept_instant`: its requester kept the instant picture instead of waiting)."""
    async def mark_delivered(self, job_id: int, message_id: int) -> None: ...
    async def fail(self, job_id: int, error: str) -> None: ...
    async def retry_later(self, job_id: int, settings: JobSettings | None = None) -> None: ...
    async def cancel(self, chat_id: int, user_id: int) -> list[Job]: ...
    async def get(self, job_id: int) -> Job | None: ...
    async def position(self, job_id: int) -> tuple[int, float | None]: ...
    async def recover(self, max_attempts: int) -> tuple[list[Job], list[Job]]: ...
    async def pending_delivery(self) -> list[Job]: ...
    async def stats(self, since: float) -> dict: ...
    async def queue_snapshot(self) -> list[Job]: ...
