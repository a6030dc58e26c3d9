"""What the job system asks of the application around it, and the errors that come back.

The job system knows nothing of Telegram. It fetches a job's pictures (`Inputs`), shows where
a job stands and sends its result (`Presenter`, with a `StatusDisplay` per job) and posts a
style battle's album and vote (`BattleStage`) through these protocols, which `bot.telegram`
implements and `bot.app` wires in, as `Worker` and `Capacity` (`bot.jobs.runner`) are for what
runs the jobs. The job system says what happened (`Failure`, the engine's `StyleError`); the
words are the implementer's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.jobs.battle_records import Battle
    from bot.jobs.model import Job
    from bot.jobs.work import WorkProgress
    from stylecore import StyleError


class Failure(StrEnum):
    """Why a job ended without a result, when it was not the engine refusing its input (that
    is the engine's own `StyleError`, with its code and data)."""

    OUT_OF_MEMORY = "out_of_memory"
    """Out of memory even at the smaller size."""
    TOO_BIG = "too_big"
    """An input over the download limit."""
    INPUT_GONE = "input_gone"
    """The platform no longer has an input (an expired file id)."""
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    """The worker crashed on every attempt."""
    NO_SPACE = "no_space"
    """The disk was full on every attempt: worth trying again later."""
    INTERNAL = "internal"
    """A bug, in the engine or here; also a result the platform refused."""


# ---------------------------------------------------------------------- errors coming back


class RecipientGone(Exception):
    """The user blocked the bot or the chat is gone: nobody to tell, nothing to retry."""


class Unreachable(Exception):
    """A failure that may pass: the platform's servers or the network."""


class Refused(Exception):
    """The platform refused what was sent (or it could not be made into a message):
    sending it again cannot help."""


class InputTooBig(Exception):
    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"file of {size} bytes is over the download limit of {limit}")
        self.size = size
        self.limit = limit


class InputGone(Exception):
    """The platform no longer has the file (an expired or invalid file id)."""


# ---------------------------------------------------------------------- the protocols


class Inputs(Protocol):
    async def fetch(self, user_id: int, file_id: str) -> Path:
        """The file, from the work area or fetched into it. Raises `InputTooBig`,
        `InputGone`, `RecipientGone` or `Unreachable`."""


class StatusDisplay(Protocol):
    """One job's status where its requester sees it, kept up to date: the `show_*` of a live
    state is applied when allowed (`start` runs that), the others at once."""

    def start(self) -> None: ...
    async def stop(self) -> None: ...
    def show_starting(self) -> None: ...
    def show_progress(self, progress: WorkProgress, *, clip: bool) -> None: ...
    async def show_queued(self, ahead: int, eta: float | None, *,
                          workers_online: bool) -> None: ...
    async def show_retrying(self) -> None: ...
    async def show_cancelled(self) -> None: ...
    async def show_failure(self, why: Failure | StyleError) -> None: ...
    async def delete(self) -> None: ...


class Presenter(Protocol):
    """Presents jobs to their requesters."""

    def status(self, job: Job, remember: Callable[[int], Awaitable[None]]) -> StatusDisplay:
        """The job's status display; `remember(message_id)` records a new status message."""

    def busy(self, job: Job) -> AbstractAsyncContextManager[None]:
        """Shows that the job is being worked on while the block runs."""

    async def send_result(self, job: Job, path: Path, seconds: float | None) -> int:
        """Sends the job's result (`seconds`: the time it took, if known); returns the id of
        the message. Raises `RecipientGone`, `Refused` or `Unreachable`."""


class BattleStage(Protocol):
    """Where a style battle is shown: its album of paintings, the vote and its result."""

    async def post_album(self, battle: Battle, jobs: list[Job]) -> list[int]:
        """Posts the paintings as one album; returns their message ids, in order. Raises
        `RecipientGone` or `Unreachable` (the battle tries again later)."""

    async def post_vote(self, battle: Battle, styles: list[str], seconds: float) -> int:
        """Posts the vote on `styles`, open for `seconds`; returns its message id. Raises
        `RecipientGone` or `Unreachable`."""

    async def show_counts(self, battle: Battle, styles: list[str], counts: dict[str, int],
                          seconds_left: float) -> None: ...
    async def show_result(self, battle: Battle, styles: list[str],
                          counts: dict[str, int]) -> None: ...
    async def tell_failed(self, battle: Battle) -> None: ...
    async def remove_status(self, battle: Battle) -> None: ...
