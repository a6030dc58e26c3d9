"""Decoding images in the bot process: on one thread of its own, one image at a time.

A 160 KB PNG can promise 50 megapixels. Even decoded reduced (`stylecore.images`), such an
image needs the decoder's full frame for a moment: 200 MB. One at a time bounds that to one
frame whatever arrives at once; one *thread* also lets the next decode reuse that memory, as
glibc gives every thread its own malloc arena and keeps what is freed there: ten decodes on the
default pool's threads kept 1.2 GB although only one frame at a time was live.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from stylecore import ClipInfo

P = ParamSpec("P")
R = TypeVar("R")

_decoding_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stylebot-decode")


async def on_decoding_thread(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`func(*args, **kwargs)`, which decodes an image, run on the decoding thread once the
    images before it are done."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_decoding_thread, functools.partial(func, *args, **kwargs))


async def probe_clip_file(path: str | os.PathLike) -> ClipInfo:
    """A clip's duration, frames and size (`stylecore.probe_clip`), on the decoding
    thread. The engine's clip module is imported on first use, inside the call."""
    def probe() -> ClipInfo:
        from stylecore import probe_clip

        return probe_clip(path)

    return await on_decoding_thread(probe)


async def check_clip_file(path: str | os.PathLike, max_seconds: float, max_fps: int,
                          max_side: int) -> int | None:
    """Whether the clip can be painted within these limits, on the decoding thread: its
    headers read (`stylecore.probe_clip`) and its first two frames decode. Returns about how
    many frames a job paints of it (None where its headers don't tell); raises the engine's
    `ClipError`: "not_video" or "no_video" (no picture in it), "corrupt" (frames that don't
    decode: a file cut short, an index without its data), "too_few_frames" (one frame)."""
    def check() -> int | None:
        from itertools import islice

        from stylecore import ClipError, ClipLimits, open_clip

        limits = ClipLimits(max_fps=max_fps, max_side=max_side, max_seconds=max_seconds)
        try:
            with open_clip(path, limits) as clip:
                for _ in islice(clip, 2):  # decoded and dropped: only whether they decode counts
                    pass
                return clip.info.painted_frames(limits)
        except ClipError:
            raise
        except Exception as error:  # the decoder's own failure on a broken file
            raise ClipError("corrupt", detail=str(error)) from error

    return await on_decoding_thread(check)
