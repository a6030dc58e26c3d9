"""What a worker is asked and answers, wherever it runs (the local child process, `bot.jobs.worker`,
or a remote one, `bot.jobs.remote`): the job (`WorkRequest`), its progress and result, how a
run ended without one (`WorkFailure`), and the exceptions a worker's `run` raises for it.
Everything here pickles, and nothing here imports python-telegram-bot or TensorFlow.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Literal

from stylecore import ImageError, StyleParams


@dataclass(frozen=True)
class ClipSpec:
    """A clip job: painted frame by frame within these limits (`stylecore.ClipLimits`),
    into an MP4; `round_note`: square, to come back as a round video note."""

    max_seconds: float
    max_fps: int
    max_side: int
    round_note: bool = False


@dataclass
class WorkRequest:
    job_id: int
    content_path: str
    styles: list[tuple[str, float]]
    """Style image paths with their blend weights."""
    params: StyleParams
    output_path: str
    """Where the child writes the result; the format follows the suffix (use .png)."""
    preview_every: float = 0.25
    """Share of the work between preview images (and one after each coarse stage, the first
    look); 0 = no previews. A clip shows its first painted frame (unless 0)."""
    clip: ClipSpec | None = None
    """Set for a moving picture: `content_path` is the clip, `output_path` an .mp4."""
    mask_path: str | None = None
    """The studio's brush: a grey PNG the shape of the photo, white where the style goes and
    black where the photo stays (`stylecore.brush`); None: the style everywhere."""


PREVIEW_JPEG_QUALITY = 80
"""The previews' JPEG quality (`WorkProgress.preview_jpeg`)."""


@dataclass
class WorkProgress:
    job_id: int
    step: int
    """Optimiser iterations done, all stages together (a clip: frames painted)."""
    total: int
    fraction: float
    """Share of the job's work done, 0 to 1 (coarse iterations are cheap and count for less)."""
    elapsed: float
    eta: float | None
    preview_jpeg: bytes | None
    instant: bool = False
    """The preview is the instant painter's picture at the job's size (shown first; its
    requester may keep it as the result)."""

    @property
    def percent(self) -> int:
        return int(100 * self.fraction)


@dataclass
class WorkResult:
    job_id: int
    output_path: str
    size: tuple[int, int]
    """(width, height) of the result."""
    seconds: float
    steps: int
    """Optimiser iterations (a clip: the frames painted)."""
    cut_at_s: float | None = None
    """A clip longer than its limit: painted up to this many seconds (None: whole)."""


FailureKind = Literal["cancelled", "bad_input", "oom", "no_space", "error"]

NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""The errno values of a disk (or a quota, or the process' file-size limit) that is full."""


def out_of_room(error: BaseException | None) -> bool:
    """Whether `error`, or one it was raised from, is a write that found the disk full
    (an `OSError`, or a library's error that carries an errno, as PyAV's do)."""
    while error is not None:
        if getattr(error, "errno", None) in NO_ROOM:
            return True
        error = error.__cause__ or error.__context__
    return False


@dataclass(frozen=True)
class WorkFailure:
    """How a job ended without a result, wherever it ran."""

    kind: FailureKind
    message: str
    details: str = ""
    """The traceback, for "error"."""
    image_error: ImageError | None = None
    """The engine's refusal, for "bad_input"."""

    def exception(self) -> Exception:
        """The exception a worker's `run` raises for this failure."""
        match self.kind:
            case "cancelled":
                return JobCancelled(self.message)
            case "bad_input" if self.image_error is not None:
                return BadInput(self.image_error)
            case "oom":
                return OutOfMemory(self.message)
            case "no_space":
                return NoSpace(self.message)
        return WorkerError(self.message, self.details)


class WorkerCrashed(Exception):
    """The worker process died mid-job (killed, OOM-killed, segfault) or could not start.
    A fresh process is started for the next run."""

    def __init__(self, message: str, exitcode: int | None = None):
        super().__init__(message)
        self.exitcode = exitcode


class JobCancelled(Exception):
    """The job was cancelled with `StyleWorker.cancel` (or its `run` task was cancelled)."""


class OutOfMemory(Exception):
    """TensorFlow or NumPy ran out of memory inside the job; a smaller size may work."""


class NoSpace(Exception):
    """The disk was full when the job's files were written; there may be room later."""


class BadInput(Exception):
    """An input image the engine refuses: `error` is the engine's `ImageError` (its code and
    data), for the bot to word."""

    def __init__(self, error: ImageError):
        super().__init__(str(error))
        self.error = error


class WorkerError(Exception):
    """Any other failure of a job inside the worker (a bug): the child's traceback is in
    `details`. The worker itself is fine and takes the next job."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details
