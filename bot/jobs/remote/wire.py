"""What travels through Redis between the bot and the remote workers: the key names, the task's
payload, the events on a dispatch's stream and a worker's heartbeat record, each a typed
dataclass with its JSON form. Images are stored as plain keys (bytes) with a TTL.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.jobs.work import ClipSpec, WorkFailure, WorkProgress
from stylecore import ImageError, StyleParams

QUEUE = "stylebot"
"""The Celery queue the bot sends jobs to and the workers consume."""
TASK_NAME = "stylebot.stylize"
PREFIX = "stylebot"


def worker_key(name: str) -> str:
    return f"{PREFIX}:worker:{name}"


WORKER_PATTERN = f"{PREFIX}:worker:*"


def dispatch_of_job_key(job_id: int) -> str:
    """Holds the id of the job's current dispatch: any other dispatch of it is dropped."""
    return f"{PREFIX}:job:{job_id}:dispatch"


def events_key(dispatch: str) -> str:
    return f"{PREFIX}:dispatch:{dispatch}:events"


def cancel_key(dispatch: str) -> str:
    return f"{PREFIX}:dispatch:{dispatch}:cancel"


def finished_key(dispatch: str) -> str:
    """Set once a dispatch has ended: a redelivered copy of its message is dropped."""
    return f"{PREFIX}:dispatch:{dispatch}:finished"


def blob_key(dispatch: str, name: str) -> str:
    return f"{PREFIX}:dispatch:{dispatch}:blob:{name}"


# ---------------------------------------------------------------------- the task


@dataclass(frozen=True)
class TaskPayload:
    """The Celery task's one argument (as JSON): one dispatch of one job."""

    job_id: int
    dispatch: str
    content_key: str
    styles: list[tuple[str, float]]
    """Blob keys of the style images with their blend weights."""
    params: StyleParams
    preview_every: float
    clip: ClipSpec | None = None
    """A clip job's limits (the content blob is the clip; the result an MP4)."""
    mask_key: str | None = None
    """The blob key of the studio's brush mask (a grey PNG), if the job has one."""

    def to_json(self) -> str:
        data = asdict(self)
        data["params"] = asdict(self.params)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> TaskPayload:
        data = json.loads(text)
        return cls(
            job_id=int(data["job_id"]),
            dispatch=str(data["dispatch"]),
            content_key=str(data["content_key"]),
            styles=[(str(key), float(weight)) for key, weight in data["styles"]],
            params=params_from_dict(data["params"]),
            preview_every=float(data["preview_every"]),
            clip=ClipSpec(**data["clip"]) if data.get("clip") else None,
            mask_key=str(data["mask_key"]) if data.get("mask_key") else None,
        )


def params_from_dict(data: dict[str, Any]) -> StyleParams:
    """`StyleParams` back from `dataclasses.asdict` after a JSON round trip (lists become the
    tuples they were)."""
    data = dict(data)
    data["coarse_stages"] = tuple((float(scale), int(steps))
                                  for scale, steps in data.get("coarse_stages", ()))
    for name, value in data.items():  # the layer names (content, style, faces)
        if isinstance(value, list) and name != "coarse_stages":
            data[name] = tuple(value)
    return StyleParams(**data)


# ---------------------------------------------------------------------- a dispatch's events


@dataclass(frozen=True)
class Started:
    worker: str
    host: str


@dataclass(frozen=True)
class Finished:
    """The result is stored under `blob_key(dispatch, "result")` (PNG; a clip's MP4)."""

    size: tuple[int, int]
    seconds: float
    steps: int
    cut_at_s: float | None = None
    """A clip cut at the limit (see `WorkResult`)."""


Event = Started | WorkProgress | Finished | WorkFailure
"""Progress and failure travel as the bot's own `WorkProgress` (with its preview) and
`WorkFailure` (with the engine's refusal as its code and data)."""
_EVENT_NAMES: dict[type, str] = {Started: "started", WorkProgress: "progress",
                                 Finished: "finished", WorkFailure: "failed"}
_EVENT_TYPES = {name: kind for kind, name in _EVENT_NAMES.items()}


def encode_event(event: Event) -> dict[str, bytes | str]:
    """The fields of the stream entry for `event` (a preview rides as raw bytes)."""
    data = asdict(event)
    preview = data.pop("preview_jpeg", None)
    if isinstance(event, WorkFailure) and event.image_error is not None:
        data["image_error"] = {"code": event.image_error.code, "data": event.image_error.data}
    fields: dict[str, bytes | str] = {"event": _EVENT_NAMES[type(event)],
                                      "data": json.dumps(data)}
    if preview is not None:
        fields["preview"] = preview
    return fields


def decode_event(fields: dict[bytes, bytes]) -> Event:
    kind = _EVENT_TYPES[fields[b"event"].decode()]
    data = json.loads(fields[b"data"])
    if kind is WorkProgress:
        data["preview_jpeg"] = fields.get(b"preview")
    if kind is WorkFailure and data["image_error"] is not None:
        data["image_error"] = ImageError(data["image_error"]["code"], **data["image_error"]["data"])
    if kind is Finished:
        data["size"] = tuple(data["size"])
    return kind(**data)


# ---------------------------------------------------------------------- heartbeats


WorkerState = Literal["idle", "busy", "broken"]


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker says about itself in its heartbeat key."""

    name: str
    host: str
    pid: int
    gpu: str | None
    """Its `CUDA_VISIBLE_DEVICES` (None: no GPU)."""
    state: WorkerState
    job_id: int | None = None
    engine: dict[str, str] = field(default_factory=dict)
    """The device and precision its engine uses."""
    jobs_done: int = 0
    error: str | None = None
    """Why it is broken (its model did not load)."""
    seen_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkerInfo:
        return cls(**json.loads(text))
