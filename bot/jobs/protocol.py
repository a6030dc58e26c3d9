"""What the bot and its worker process exchange: the job (`WorkRequest`), its progress and
result, the messages on the pipe between them, and the exceptions `StyleWorker.run` raises.

The child starts with `Ready` (or `StartFailed`); the parent sends `Run` or `Stop`; the child
answers each run with `Progressed`* then `Done` or `Failed`. `Exited` is posted by the parent's
pipe reader when the child's end closes. `seq` numbers the runs: a cancel names the run it
stops, and late messages from an abandoned run are recognised and dropped. Everything here
pickles, and nothing here imports python-telegram-bot or TensorFlow.
"""

from __future__ import annotations

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


@dataclass
class Progress:
    job_id: int
    step: int
    """Optimiser iterations done, all stages together (a clip: frames painted)."""
    total: int
    fraction: float
    """Share of the job's work done, 0 to 1 (coarse iterations are cheap and count for less)."""
    elapsed: float
    eta: float | None
    preview_jpeg: bytes | None

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


# ---------------------------------------------------------------------- the pipe's messages


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
    progress: Progress


@dataclass(frozen=True)
class Done:
    seq: int
    result: WorkResult


FailureKind = Literal["cancelled", "bad_input", "oom", "error"]


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
        return WorkerError(self.message, self.details)


@dataclass(frozen=True)
class Failed:
    """Child to parent: run `seq` ended without a result."""

    seq: int
    failure: WorkFailure


@dataclass(frozen=True)
class Exited:
    """Posted by the pipe reader when the child's end closes: the process is gone."""


FromChild = Ready | StartFailed | Progressed | Done | Failed | Exited


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
