"""Writing painted frames as Telegram plays them, with PyAV's bundled encoders.

- `mp4`: silent H.264 (libx264, yuv420p, the index at the front: "faststart") that Telegram's
  `sendAnimation` loops like a GIF; a square one is a round video note (`sendVideoNote`, at most
  640 px);
- `webm`: silent VP9 (libvpx) for a video sticker, at a given bit rate.

Frames go to the encoder one at a time; the file appears at its path only once it is complete
(written beside it under a temporary name, then renamed), and nothing is left behind on error.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np

from stylecore.images import resize_to, to_uint8

Container = Literal["mp4", "webm"]

VIDEO_NOTE_MAX_SIDE = 640


@dataclass(frozen=True)
class Written:
    path: str
    width: int
    height: int
    frames: int
    duration_s: float
    bytes: int


class ClipWriter:
    """Frames in, a clip file out. `write(image, slot)` puts a float (H, W, 3) [0, 1] or uint8
    frame at `slot / fps` seconds (slots rise; a skipped slot holds the previous frame);
    `finish()` completes the file. A context manager: leaving it by an error removes the file."""

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float,
                 kind: Container = "mp4", *, bit_rate: int | None = None,
                 crf: int = 23) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"frame sides must be even, got {width}x{height}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                   suffix=f".{kind}")
        os.close(fd)
        self._tmp = Path(tmp)
        self.width, self.height, self.kind = width, height, kind
        self._rate = Fraction(fps).limit_denominator(1001)
        self._frames = 0
        self._last_slot = -1
        try:
            self._container = av.open(
                tmp, "w", format=kind,
                container_options={"movflags": "+faststart"} if kind == "mp4" else {})
            self._stream = self._add_stream(bit_rate, crf)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise

    def _add_stream(self, bit_rate: int | None, crf: int):
        if self.kind == "mp4":
            stream = self._container.add_stream("libx264", rate=self._rate)
            stream.options = {"crf": str(crf), "preset": "veryfast", "tune": "animation",
                              "profile": "high"}
        else:
            stream = self._container.add_stream("libvpx-vp9", rate=self._rate)
            stream.options = {"deadline": "good", "cpu-used": "4", "row-mt": "1",
                              "auto-alt-ref": "0"}
            if bit_rate:
                stream.bit_rate = bit_rate
                stream.options = {**stream.options, "minrate": str(bit_rate // 4),
                                  "maxrate": str(bit_rate), "bufsize": str(bit_rate)}
        stream.width, stream.height = self.width, self.height
        stream.pix_fmt = "yuv420p"
        return stream

    def write(self, image: np.ndarray, slot: int | None = None) -> None:
        slot = self._last_slot + 1 if slot is None else slot
        if slot <= self._last_slot:
            raise ValueError(f"slot {slot} is not after {self._last_slot}")
        pixels = image if image.dtype == np.uint8 else to_uint8(image)
        if pixels.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {pixels.shape[1]}x{pixels.shape[0]}, "
                             f"the clip {self.width}x{self.height}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels[..., :3]), format="rgb24")
        frame.pts = slot
        frame.time_base = 1 / self._rate  # the muxer picks the stream's own time base
        self._container.mux(self._stream.encode(frame))
        self._frames += 1
        self._last_slot = slot

    def finish(self) -> Written:
        """Flushes the encoder, closes the file and moves it to its path."""
        if self._frames == 0:
            raise ValueError("a clip needs at least one frame")
        self._container.mux(self._stream.encode(None))
        self._container.close()
        os.replace(self._tmp, self.path)
        return Written(str(self.path), self.width, self.height, self._frames,
                       float((self._last_slot + 1) / self._rate), self.path.stat().st_size)

    def abandon(self) -> None:
        """Stops writing and removes the partial file."""
        with contextlib.suppress(av.FFmpegError):
            self._container.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ClipWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self.abandon()


def square_crop(image: np.ndarray, side: int | None = None) -> np.ndarray:
    """The centre square of `image`, its side even (at most `side`): a round video note's
    frame (Telegram shows the circle inscribed in it)."""
    height, width = image.shape[:2]
    square = min(height, width) // 2 * 2
    top, left = (height - square) // 2, (width - square) // 2
    cropped = image[top:top + square, left:left + square]
    if side is not None and square > side:
        cropped = resize_to(cropped, side, side)
    return cropped


def note_side(width: int, height: int) -> int:
    """The side of the round video note made from `width` x `height` frames."""
    return min(min(width, height) // 2 * 2, VIDEO_NOTE_MAX_SIDE)
