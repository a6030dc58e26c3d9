"""Helpers for the end-to-end tests: the fake Telegram (`FakeTelegram`, in
`tests/fake_bot_api.py`: the playground's local Bot API, `bot.playground.bot_api`, plus waits
and fault hooks; its names and the server's are re-exported here), running the bot against it
in the test's process or as a subprocess, and test pictures."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from PIL import Image

# Re-exported: the tests import the server's names from here.
from bot.playground.bot_api import (  # noqa: F401
    BOT_USER,
    MAX_CAPTION,
    MAX_DOWNLOAD,
    MAX_TEXT,
    TOKEN,
    Call,
    Chat,
    User,
    buttons_of,
    free_port,
    group_chat,
    private_chat,
)
from tests.fake_bot_api import (  # noqa: F401
    FakeTelegram,
    Held,
    is_result_upload,
    preview_for,
    replies_to,
    result_for,
)

if TYPE_CHECKING:
    from bot.config import Config
    from bot.jobs.worker import StyleWorker


# ---------------------------------------------------------------------- a job's status message

STATUS_METHODS = frozenset({"sendMessage", "editMessageText", "sendPhoto", "editMessageCaption",
                            "editMessageMedia"})
"""How a job's status message changes: a text sent or edited, or, once a preview shows (the
instant picture is every job's first), a photo sent or its caption or picture edited."""


def status_text(call: Call) -> str:
    """What a status call shows: its text, or its caption (inside `media` for editMessageMedia)."""
    media = call.params.get("media")
    if call.method == "editMessageMedia" and isinstance(media, dict):
        return str(media.get("caption") or "")
    return call.text


def status_says(prefix: str, chat_id: int | None = None, *, exactly: bool = False
                ) -> Callable[[Call], bool]:
    """Matches the status message of a job (in `chat_id`) showing `prefix` (all of it with
    `exactly`), as text or as a preview's caption; never a result."""
    def matches(call: Call) -> bool:
        if call.method not in STATUS_METHODS or is_result_upload(call.params):
            return False
        if chat_id is not None and call.chat_id != chat_id:
            return False
        text = status_text(call)
        return text == prefix if exactly else text.startswith(prefix)
    return matches



# ---------------------------------------------------------------------- running the bot

ADMIN_ID = 999

ALICE = User(101, "Alice")
BOB = User(202, "Bob")
CAROL = User(303, "Carol")
"""The tests' usual chat members (no Telegram app language)."""
TEST_SIZE = 64


def bot_env(fake: FakeTelegram, root: Path, **overrides: str) -> dict[str, str]:
    """Environment of a bot with tiny fast jobs, its database, work area and presets folder
    under `root`; its workers skip the warm-up (tests/test_bot_process.py runs one with it)."""
    return {
        **fake.env(),
        "STYLEBOT_DB": str(root / "stylebot.db"),
        "STYLEBOT_WORK_DIR": str(root / "work"),
        "STYLEBOT_PRESETS_DIR": str(root / "presets"),
        "STYLEBOT_SIZE": str(TEST_SIZE),
        "STYLEBOT_STEPS": "2",
        "STYLEBOT_POLL_TIMEOUT": "1",
        "STYLEBOT_ADMINS": str(ADMIN_ID),
        "STYLEBOT_WARM_UP": "off",
        **overrides,
    }


@dataclass(frozen=True)
class RemoteEngine:
    """Tells `run_bot` to send jobs through this broker to the workers listening there
    (`tests.remote_servers` starts both)."""

    broker_url: str


@contextlib.asynccontextmanager
async def run_bot(fake: FakeTelegram, root: Path, worker: StyleWorker | RemoteEngine,
                  **overrides: str) -> AsyncIterator[Config]:
    """The bot polling the fake server inside the block, sharing the already started worker,
    or sending its jobs to remote workers through the broker of a `RemoteEngine`."""
    from bot.app import build_application, running
    from bot.config import Config

    if isinstance(worker, RemoteEngine):
        overrides = {"STYLEBOT_BROKER_URL": worker.broker_url, "STYLEBOT_HEARTBEAT_S": "0.5",
                     **overrides}
    config = Config.from_env(bot_env(fake, root, **overrides))
    app = build_application(config, worker=None if isinstance(worker, RemoteEngine) else worker)
    watchdog: asyncio.Task | None = None
    try:
        async with running(app):
            try:
                yield config
            finally:  # the shutdown is watched: a stuck one prints what every task waits for
                watchdog = asyncio.create_task(_report_stuck_tasks(SHUTDOWN_WATCH_S))
    finally:
        if watchdog is not None:
            watchdog.cancel()


SHUTDOWN_WATCH_S = 60.0


async def _report_stuck_tasks(after_s: float) -> None:
    await asyncio.sleep(after_s)
    print(f"the bot has not stopped after {after_s:.0f} s; its tasks:", file=sys.stderr)
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.print_stack(file=sys.stderr)


REPO = Path(__file__).resolve().parents[1]


def start_bot_process(env: dict[str, str], cwd: Path, *, wrapper: tuple[str, ...] = (),
                      **popen: Any) -> subprocess.Popen:
    """`python -m bot` with `env` on top of this environment minus its TELEGRAM*/STYLEBOT*
    variables; stdout and stderr piped as text unless `popen` redirects them. `wrapper`: a
    command that runs it (e.g. setpriv with its options)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "STYLEBOT"))}
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    return subprocess.Popen([*wrapper, sys.executable, "-m", "bot"], cwd=cwd,
                            env={**clean, "PYTHONPATH": str(REPO), **env}, **popen)


@contextlib.contextmanager
def piped_bot_process(env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen]:
    """`start_bot_process` inside the block; killed on leaving if it is still running (a
    failed assertion must not leave a bot behind)."""
    process = start_bot_process(env, cwd)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stop_with_sigterm(process: subprocess.Popen) -> str:
    """Sends SIGTERM, as `docker stop` does, and returns the bot's stderr once it exited."""
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    return stderr


@contextlib.contextmanager
def bot_process(fake: FakeTelegram, root: Path, **overrides: str
                ) -> Iterator[subprocess.Popen]:
    """`python -m bot` as an operator runs it, with `bot_env`, its output appended to
    root/bot.log; inside the block once it has registered its commands. Stopped with SIGTERM
    on leaving unless it has already died (or been killed inside the block)."""
    mark = fake.mark()
    with open(root / "bot.log", "ab") as log:
        process = start_bot_process(bot_env(fake, root, **overrides), root,
                                    stdout=log, stderr=subprocess.STDOUT)
    try:
        fake.wait_for_blocking("setMyCommands", after=mark, timeout=60)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---------------------------------------------------------------------- test pictures


def jpeg(array: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def content_photo(width: int = 64, height: int = 48, tint: tuple[int, int, int] = (0, 0, 0)
                  ) -> bytes:
    """A smooth gradient with a disc: something the style visibly changes."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 140)], axis=-1)
    disc = (x - width * 0.6) ** 2 + (y - height * 0.5) ** 2 < (height * 0.3) ** 2
    img[disc] = (250, 240, 60)
    img = np.clip(img + np.array(tint), 0, 255)
    return jpeg(img)


def style_photo(size: int = 64, seed: int = 1) -> bytes:
    """Bold random stripes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    stripes = ((x + y) // 6) % 2
    colours = rng.integers(0, 256, (2, 3))
    return jpeg(colours[stripes])


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32)


def assert_stylised(result: bytes, content: bytes, size: tuple[int, int]) -> np.ndarray:
    """The result decodes, has the expected (width, height) and differs from the content
    (scaled to the result's size when it has another)."""
    image = decode(result)
    assert (image.shape[1], image.shape[0]) == size
    with Image.open(io.BytesIO(content)) as photo:
        original = np.asarray(photo.convert("RGB").resize(size, Image.Resampling.LANCZOS),
                              dtype=np.float32)
    # Scaling and JPEG noise stay under 3 levels; even two steps of painting move ~50.
    assert np.abs(image - original).mean() > 8.0, "the result looks like the content"
    return image


def tiny_clip(container: str = "mp4", codec: str = "libx264", *, frames: int = 8,
              width: int = 64, height: int = 48, fps: int = 8) -> bytes:
    """A bar sliding across a gradient, `frames` frames at `fps`."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
        y, x = np.mgrid[0:height, 0:width]
        for index in range(frames):
            frame = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 120)], -1)
            frame[:, (index * 6) % width:(index * 6) % width + 10] = (240, 220, 40)
            video = av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="rgb24")
            for packet in stream.encode(video):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()
