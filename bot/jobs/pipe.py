"""The messages on the pipe between the bot and its worker process (`bot.jobs.worker` in the
bot, `bot.jobs.child` in the process).

The child starts with `Ready` (or `StartFailed`); the parent sends `Run` or `Stop`; the child
answers each run with `Progressed`* then `Done` or `Failed`. `Exited` is posted by the parent's
pipe reader when the child's end closes. `seq` numbers the runs: a cancel names the run it
stops, and late messages from an abandoned run are recognised and dropped. Everything here
pickles, and nothing here imports python-telegram-bot or TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.jobs.work import WorkFailure, WorkProgress, WorkRequest, WorkResult


@dataclass(frozen=True)
class Run:
    """Parent to child: run this job."""

    seq: int
    request: WorkRequest


@dataclass(frozen=True)
class Stop:
    """Parent to child: exit."""


@dataclass(frozen=True)
class Ready:
    """Child to parent: the engine is loaded."""

    pid: int
    telegram_loaded: bool
    """Whether python-telegram-bot got imported into the child (it must not be)."""
    engine: dict[str, str]
    """The device and precision the engine uses."""


@dataclass(frozen=True)
class StartFailed:
    """Child to parent: the engine could not be loaded."""

    error: str
    traceback: str


@dataclass(frozen=True)
class Progressed:
    seq: int
    progress: WorkProgress


@dataclass(frozen=True)
class Done:
    seq: int
    result: WorkResult


@dataclass(frozen=True)
class Failed:
    """Child to parent: run `seq` ended without a result."""

    seq: int
    failure: WorkFailure


@dataclass(frozen=True)
class Exited:
    """Posted by the pipe reader when the child's end closes: the process is gone."""


FromChild = Ready | StartFailed | Progressed | Done | Failed | Exited
