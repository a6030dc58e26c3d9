"""What becomes of a job that did not produce a result: a small family of outcomes, and the one
function (`outcome_of`) that maps whatever went wrong to one of them.

- `UserCancelled`: the user cancelled the job;
- `Retry`: the worker crashed, Telegram's network failed while the inputs were fetched, or the
  disk was full (a job is run at most `STYLEBOT_MAX_ATTEMPTS` times);
- `ShrinkAndRetry`: out of memory, the first time (then at `SHRINK_SCALE` times the size);
- `Fail` with the reason to tell the user (`bot.jobs.ports.Failure`, or the engine's own
  `StyleError`): out of memory again, bad input, a preset that can't be had, a file too big or
  gone, a bug; `Fail` quietly (no reason to tell) when the user blocked the bot.

The runner (`bot.jobs.runner`) carries the outcome out; the presenter words the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.jobs.disk_full import disk_full
from bot.jobs.model import Job
from bot.jobs.ports import Failure, InputGone, InputTooBig, RecipientGone, Unreachable
from bot.jobs.work import (
    BadInput,
    JobCancelled,
    NoSpace,
    OutOfMemory,
    WorkerCrashed,
    WorkerError,
)
from stylecore import StyleError

log = logging.getLogger("stylebot.runner")

SHRINK_SCALE = 0.7
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class Retry:
    """Queue the job again (a fresh worker, a network or disk space that may be back); it
    fails once it has had its attempts, telling the user `why`."""

    error: str
    backoff: float = 0.0
    """Seconds to wait before queueing it again."""
    why: Failure = Failure.TOO_MANY_ATTEMPTS


@dataclass(frozen=True)
class ShrinkAndRetry:
    """Queue the job again at a smaller size; the result's caption says so."""

    error: str
    scale: float = SHRINK_SCALE


@dataclass(frozen=True)
class Fail:
    """Give up: `why` is what the user is told (None: say nothing, e.g. they blocked the bot);
    `error` is recorded with the job."""

    why: Failure | StyleError | None
    error: str


@dataclass(frozen=True)
class UserCancelled:
    """The user cancelled the job."""


Outcome = Retry | ShrinkAndRetry | Fail | UserCancelled


def outcome_of(error: BaseException, job: Job) -> Outcome:
    """The outcome of a job whose run raised `error`."""
    match error:
        case JobCancelled():
            return UserCancelled()
        case WorkerCrashed():
            log.warning("job %d: worker crashed (%s)", job.id, error)
            return Retry(f"worker crashed: {error}")
        case OutOfMemory() if job.settings.shrunk:
            return Fail(Failure.OUT_OF_MEMORY, "out of memory")
        case OutOfMemory():
            return ShrinkAndRetry("out of memory")
        case NoSpace():
            return _no_room(error, job)
        case BadInput():
            return Fail(error.error, str(error.error))
        case StyleError():  # a preset that can't be had
            return Fail(error, str(error))
        case WorkerError():  # a bug in the engine; the worker itself is fine
            log.error("job %d failed in the worker: %s\n%s", job.id, error, error.details)
            return Fail(Failure.INTERNAL, str(error))
        case InputTooBig():
            return Fail(Failure.TOO_BIG, "file too big")
        case InputGone():
            return Fail(Failure.INPUT_GONE, str(error))
        case RecipientGone():
            return Fail(None, "the user blocked the bot")
        case Unreachable():  # fetching the inputs failed: network trouble
            log.warning("job %d: Telegram error while preparing: %s", job.id, error)
            return Retry(f"Telegram: {error}", backoff=min(2.0**job.attempts, MAX_BACKOFF_S))
        case _ if disk_full(error):  # the work folder (a download, a preset) or the database
            return _no_room(error, job)
        case _:  # a bug here must not leave the job running forever
            log.error("job %d failed unexpectedly", job.id, exc_info=error)
            return Fail(Failure.INTERNAL, f"{type(error).__name__}: {error}")


def _no_room(error: BaseException, job: Job) -> Retry:
    """The disk was full: try again after a pause (someone may make room, the housekeeping
    may), and if it stays full, say "try again later"."""
    log.warning("job %d: no room on the disk: %s", job.id, error)
    return Retry(f"no room on the disk: {error}", backoff=min(2.0**job.attempts, MAX_BACKOFF_S),
                 why=Failure.NO_SPACE)
