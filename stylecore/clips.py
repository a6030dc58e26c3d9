"""STAND-IN for the clips-engine branch's stylecore/clips.py (drop this file at merge).

Same names and signatures as that branch's brief, frame by frame without temporal care, so
the bot's half of issue 20 can be built and tested before the engine is merged. PyAV decodes
and encodes (codecs inside its wheel).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from stylecore.errors import ImageError
from stylecore.images import from_uint8, to_uint8

FramePainter = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ClipLimits:
    max_seconds: float = 10.0
    max_fps: int = 15
    max_side: int = 480


@dataclass(frozen=True)
class ClipInfo:
    duration_s: float
    fps: float
    frames: int
    width: int
    height: int
    has_video: bool


@dataclass(frozen=True)
class ClipResult:
    output_path: str
    width: int
    height: int
    duration_s: float
    frames: int
    seconds: float


@dataclass
class ClipProgress:
    frame: int
    frames: int
    _latest: np.ndarray

    def preview(self) -> np.ndarray:
        return self._latest


@dataclass(frozen=True)
class StickerResult:
    output_path: str
    width: int
    height: int
    duration_s: float
    bytes: int


def probe_clip(path: str | os.PathLike) -> ClipInfo:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return ClipInfo(0.0, 0.0, 0, 0, 0, False)
            stream = container.streams.video[0]
            times = [float(f.time or 0.0) for f in container.decode(stream)]
            width, height = stream.codec_context.width, stream.codec_context.height
    except (av.FFmpegError, OSError, ValueError) as error:
        raise ImageError("corrupt") from error
    frames = len(times)
    step = (times[-1] - times[0]) / (frames - 1) if frames > 1 else 0.1
    duration = (times[-1] - times[0]) + step if frames else 0.0
    fps = (frames / duration) if duration > 0 else 0.0
    return ClipInfo(duration, fps, frames, width, height, True)


def _frames(path: str, limits: ClipLimits) -> Iterator[tuple[float, np.ndarray]]:
    """(time, RGB uint8 frame), resampled to at most max_fps, up to max_seconds."""
    next_at = 0.0
    with av.open(path) as container:
        if not container.streams.video:
            raise ImageError("not_image")
        stream = container.streams.video[0]
        start = None
        for frame in container.decode(stream):
            at = float(frame.time or 0.0)
            start = at if start is None else start
            at -= start
            if at >= limits.max_seconds:
                break
            if at + 1e-6 < next_at:
                continue
            next_at = at + 1.0 / limits.max_fps
            yield at, frame.to_ndarray(format="rgb24")


def _fit(frame: np.ndarray, max_side: int, square: bool) -> np.ndarray:
    img = Image.fromarray(frame)
    if square:
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side))
    scale = min(1.0, max_side / max(img.size))
    width = max(2, int(img.width * scale) // 2 * 2)
    height = max(2, int(img.height * scale) // 2 * 2)
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR))


def stylize_clip(input_path: str | os.PathLike, output_path: str | os.PathLike,
                 painter: FramePainter, limits: ClipLimits, *, round_note: bool = False,
                 on_progress: Callable[[ClipProgress], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> ClipResult:
    from stylecore.transfer import Cancelled

    started = time.perf_counter()
    try:
        info = probe_clip(input_path)
        if not info.has_video or info.frames == 0:
            raise ImageError("not_image")
        expected = max(1, min(info.frames, int(min(info.duration_s, limits.max_seconds)
                                               * limits.max_fps + 0.999)))
        fps = min(float(limits.max_fps), info.fps or limits.max_fps)
        output = Path(output_path)
        done = 0
        width = height = 0
        with av.open(str(output), "w", format="mp4") as out:
            stream = None
            for _, frame in _frames(str(input_path), limits):
                if should_stop is not None and should_stop():
                    raise Cancelled()
                fitted = _fit(frame, limits.max_side, round_note)
                painted = np.asarray(painter(from_uint8(fitted)), dtype=np.float32)
                if stream is None:
                    height, width = painted.shape[:2]
                    stream = out.add_stream("libx264", rate=Fraction(round(fps * 1000), 1000))
                    stream.width, stream.height = width, height
                    stream.pix_fmt = "yuv420p"
                video = av.VideoFrame.from_ndarray(to_uint8(painted), format="rgb24")
                for packet in stream.encode(video):
                    out.mux(packet)
                done += 1
                if on_progress is not None:
                    on_progress(ClipProgress(done, max(expected, done), painted))
            if stream is None:
                raise ImageError("not_image")
            for packet in stream.encode():
                out.mux(packet)
    except av.FFmpegError as error:
        Path(output_path).unlink(missing_ok=True)
        raise ImageError("corrupt") from error
    except BaseException:
        Path(output_path).unlink(missing_ok=True)
        raise
    return ClipResult(str(output_path), width, height, done / fps, done,
                      time.perf_counter() - started)


def make_sticker(image_path: str | os.PathLike, output_path: str | os.PathLike) -> StickerResult:
    with Image.open(image_path) as img:
        img = img.convert("RGBA")
        scale = 512 / max(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))
        buffer = io.BytesIO()
        img.save(buffer, "WEBP", quality=90)
    Path(output_path).write_bytes(buffer.getvalue())
    return StickerResult(str(output_path), img.width, img.height, 0.0, len(buffer.getvalue()))


def make_video_sticker(clip_path: str | os.PathLike,
                       output_path: str | os.PathLike) -> StickerResult:
    limits = ClipLimits(max_seconds=2.9, max_fps=15, max_side=512)
    frames = [frame for _, frame in _frames(str(clip_path), limits)]
    if not frames:
        raise ImageError("not_image")
    with av.open(str(output_path), "w", format="webm") as out:
        first = Image.fromarray(frames[0])
        scale = 512 / max(first.size)
        width = max(2, round(first.width * scale) // 2 * 2)
        height = max(2, round(first.height * scale) // 2 * 2)
        stream = out.add_stream("libvpx-vp9", rate=15)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"b": "200k"}
        for frame in frames:
            resized = np.asarray(Image.fromarray(frame).resize((width, height)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(resized, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    size = Path(output_path).stat().st_size
    return StickerResult(str(output_path), width, height, len(frames) / 15, size)
