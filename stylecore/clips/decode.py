"""Reading moving pictures (MP4, MOV, WEBM with or without alpha, GIF) frame by frame with PyAV.

`probe_clip` reads only the headers and the first frame, so a caller can refuse a clip early.
`open_clip` yields the frames lazily as float32 RGB within `ClipLimits`: at most `max_fps`
(frames are picked by their timestamps, so a variable frame rate comes out even), the long side
at most `max_side` (never scaled up; both sides even, as H.264 needs), stopped after
`max_seconds` (`Clip.cut` says so). A 10 s clip therefore never holds more than one decoded
frame at a time.
Anything PyAV cannot read becomes a `ClipError` with a code (stylecore/errors.py).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from stylecore.errors import ClipError

MIN_FRAMES = 2
"""Fewer frames than this is a still picture, not a clip."""


@dataclass(frozen=True)
class ClipLimits:
    """How much of a clip is painted."""

    max_fps: float = 15.0
    max_side: int = 480
    """Long side of the painted frames in pixels (smaller clips are not scaled up)."""
    max_seconds: float = 10.0


@dataclass(frozen=True)
class ClipInfo:
    """What a clip's headers say. Numbers are None where they are silent."""

    has_video: bool
    width: int
    """Displayed width: a portrait phone video stored sideways counts as portrait."""
    height: int
    duration_s: float | None
    fps: float | None
    frames: int | None
    """Frames in the file, from the header or duration x fps."""
    has_audio: bool
    has_alpha: bool
    codec: str | None

    def painted_frames(self, limits: ClipLimits) -> int | None:
        """About how many frames `open_clip` yields under `limits` (for ETAs and refusals)."""
        if self.frames is None:
            return None
        frames = self.frames
        if self.fps and self.fps > limits.max_fps:
            frames = math.ceil(frames * limits.max_fps / self.fps)
        if self.duration_s:
            frames = min(frames, math.ceil(limits.max_seconds * min(limits.max_fps,
                                                                    self.fps or limits.max_fps)))
        return max(frames, 0)


@dataclass(frozen=True)
class ClipFrame:
    image: np.ndarray
    """float32 (H, W, 3) in [0, 1]; transparent parts (a video sticker's) are on white."""
    slot: int
    """Position on the output's even time grid (1 / fps apart); a slot a variable-rate clip
    skips is a held frame, so slots may jump."""


def probe_clip(path: str | os.PathLike) -> ClipInfo:
    """The headers of the clip at `path` (and its first frame, for the rotation). Raises
    `ClipError` (`missing`, `empty`, `not_video`); an audio-only file is a `ClipInfo` with
    `has_video=False`."""
    with _open_container(path) as container:
        has_audio = bool(container.streams.audio)
        if not container.streams.video:
            return ClipInfo(False, 0, 0, _container_seconds(container), None, None,
                            has_audio, False, None)
        stream = container.streams.video[0]
        context = stream.codec_context
        if context is None or not context.width or not context.height:
            raise ClipError("not_video", detail="no decoder for its picture, or no size")
        # A variable rate's average undercounts its busy parts; the guessed ("real base")
        # rate is the one that keeps every timestamp.
        rates = [float(rate) for rate in (stream.average_rate, stream.guessed_rate) if rate]
        fps = max(rates) if rates else None
        duration = _stream_seconds(stream) or _container_seconds(container)
        frames = stream.frames or (round(duration * fps) if duration and fps else None)
        width, height = context.width, context.height
        if _first_frame_rotation(container, stream) % 180 == 90:
            width, height = height, width
        return ClipInfo(True, width, height, duration, fps, frames, has_audio,
                        _has_alpha(stream), context.name)


class Clip:
    """An open clip: its output `fps` and frame `size` (width, height), and its frames, read
    lazily by iterating. A context manager; iterating to the end closes it too."""

    def __init__(self, path: str | os.PathLike, limits: ClipLimits,
                 long_side: int | None = None) -> None:
        self.info = probe_clip(path)
        if not self.info.has_video:
            raise ClipError("no_video")
        if self.info.frames is not None and self.info.frames < MIN_FRAMES:
            raise ClipError("too_few_frames", frames=self.info.frames)
        self.limits = limits
        self.fps = min(limits.max_fps, self.info.fps or limits.max_fps)
        self.size = frame_size(self.info.width, self.info.height,
                               long_side or limits.max_side, upscale=long_side is not None)
        self._path = path
        self._container: av.container.InputContainer | None = None
        self.cut = False
        """Set once iterating stopped at `max_seconds` with more of the clip left."""

    @property
    def expected_frames(self) -> int:
        """About how many frames iterating yields (at least 2)."""
        return max(self.info.painted_frames(self.limits) or MIN_FRAMES, MIN_FRAMES)

    def __iter__(self) -> Iterator[ClipFrame]:
        yielded = 0
        try:
            for frame in self._picked():
                yielded += 1
                yield frame
        finally:
            self.close()
        if yielded < MIN_FRAMES:
            raise ClipError("too_few_frames", frames=yielded)

    def _picked(self) -> Iterator[ClipFrame]:
        """Decoded frames on the even time grid: each slot takes the first frame at (or just
        before) its time; frames between slots are dropped."""
        step = 1.0 / self.fps
        start: float | None = None
        next_slot = 0
        for index, (time, frame) in enumerate(self._decoded()):
            seconds = index * step if time is None else time
            start = seconds if start is None else start
            elapsed = seconds - start
            if elapsed >= self.limits.max_seconds:
                self.cut = True
                return
            # The last slot this frame has reached, give or take a tenth of a slot: containers
            # round times (WEBM to the millisecond: 83 ms for 1/12 s).
            slot = math.floor(elapsed / step + 0.1)
            if slot < next_slot:
                continue
            yield ClipFrame(self._to_rgb(frame), slot)
            next_slot = slot + 1

    def _decoded(self) -> Iterator[tuple[float | None, av.VideoFrame]]:
        self._container = container = _open_container(self._path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        # FFmpeg's own VP9 decoder drops a WEBM's alpha plane; libvpx's keeps it.
        decoder = (av.CodecContext.create("libvpx-vp9", "r")
                   if self.info.has_alpha and stream.codec_context.name == "vp9" else None)
        decoded = 0
        try:
            for packet in container.demux(stream):
                frames = decoder.decode(packet) if decoder else packet.decode()
                for frame in frames:
                    decoded += 1
                    yield _seconds(frame.pts, stream.time_base), frame
            for frame in (decoder.decode(None) if decoder else stream.decode(None)):
                yield _seconds(frame.pts, stream.time_base), frame
        except av.FFmpegError as error:
            if decoded < MIN_FRAMES:  # a truncated clip keeps the frames it has
                raise ClipError("corrupt", detail=str(error)) from None

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        width, height = self.size
        rotation = round(frame.rotation / 90) % 4
        if rotation % 2:
            width, height = height, width
        alpha = frame.format.name.startswith(("yuva", "rgba", "bgra", "argb", "abgr", "pal8"))
        pixels = frame.reformat(width=width, height=height, format="rgba" if alpha else "rgb24",
                                interpolation="AREA").to_ndarray()
        image = pixels.astype(np.float32) / 255.0
        if alpha:
            opacity = image[..., 3:]
            image = image[..., :3] * opacity + (1.0 - opacity)
        if rotation:
            image = np.ascontiguousarray(np.rot90(image, k=rotation))
        return image

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> Clip:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_clip(path: str | os.PathLike, limits: ClipLimits = ClipLimits(),
              long_side: int | None = None) -> Clip:
    """The clip at `path`, to iterate frame by frame. `long_side` scales to exactly that long
    side instead (up too: a sticker's 512 px). Raises `ClipError` for a file that is not a
    clip, has no picture or has fewer than two frames (also when iterating shows it)."""
    return Clip(path, limits, long_side)


def frame_size(width: int, height: int, long_side: int, *,
               upscale: bool = False) -> tuple[int, int]:
    """(width, height) with the long side at most `long_side` (exactly, with `upscale`), the
    aspect kept and both sides even and at least 2."""
    scale = long_side / max(width, height, 1)
    if not upscale:
        scale = min(scale, 1.0)
    return _even(width * scale), _even(height * scale)


def _even(side: float) -> int:
    return max(2, int(side) // 2 * 2)


def _open_container(path: str | os.PathLike) -> av.container.InputContainer:
    file = Path(path)
    if not file.is_file():
        raise ClipError("missing")
    if file.stat().st_size == 0:
        raise ClipError("empty")
    try:
        return av.open(str(file), "r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise ClipError("not_video", detail=str(error)) from None


def _seconds(pts: int | None, time_base) -> float | None:
    return None if pts is None or time_base is None else float(pts * time_base)


def _stream_seconds(stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _container_seconds(container) -> float | None:
    return container.duration / av.time_base if container.duration else None


def _first_frame_rotation(container, stream) -> int:
    """The display rotation (degrees counter-clockwise) a phone stores beside a sideways
    picture; it is only readable from a decoded frame, so this decodes the first one (0 when
    none decodes: iterating reports that)."""
    try:
        for frame in container.decode(stream):
            return round(frame.rotation / 90) % 4 * 90
    except av.FFmpegError:
        pass
    return 0


def _has_alpha(stream) -> bool:
    """A WEBM's VP9 alpha plane is marked in the stream's metadata (`alpha_mode`); other
    codecs say it in their pixel format."""
    if stream.metadata.get("alpha_mode") == "1" or stream.metadata.get("ALPHA_MODE") == "1":
        return True
    pix_fmt = stream.codec_context.pix_fmt or ""
    return pix_fmt.startswith(("yuva", "rgba", "bgra", "argb", "abgr"))
