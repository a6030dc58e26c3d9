"""How soon `stylebot demo` is usable: starts it as a user does (with this environment's
settings), then prints when the page answered, when the bot was online, and when a photo sent
through the page's own HTTP API with the caption "mosaic" came back painted. Stops it with
Ctrl-C (SIGINT) and prints its exit status.

    .venv/bin/python benchmarks/playground.py
    STYLEBOT_SIZE=256 STYLEBOT_STEPS=10 .venv/bin/python benchmarks/playground.py

The photo is ../shared/images/photos/tubingen.jpg when there is one, else a drawn 640x480 one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fake_telegram import content_photo, free_port  # noqa: E402

PHOTO = next((p for p in (REPO.parent / "shared" / "images" / "photos" / "tubingen.jpg",
                          REPO.parents[1] / "shared" / "images" / "photos" / "tubingen.jpg")
              if p.is_file()), None)


def main() -> int:
    port = free_port()
    env = {**os.environ, "STYLEBOT_DEMO_LISTEN": f"127.0.0.1:{port}",
           "PYTHONPATH": str(REPO)}
    chat = f"http://127.0.0.1:{port}/api/chats/private"
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "demo.log", "w") as log:
        started = time.monotonic()
        demo = subprocess.Popen([sys.executable, "-m", "bot", "demo"], env=env, cwd=folder,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            page = _until(lambda: _state(chat), started)
            online = _until(lambda: _state(chat)["bot"]["online"], started)
            photo = PHOTO.read_bytes() if PHOTO else content_photo(640, 480)
            sent = time.monotonic()
            _send_photo(chat, photo, "mosaic")
            result = _until(lambda: _result(_state(chat)), started, timeout=3600)
            painted = time.monotonic()
        finally:
            demo.send_signal(signal.SIGINT)
            status = demo.wait(120)
    print(f"page answers after {page:.1f} s; bot online after {online:.1f} s")
    print(f"photo painted {painted - sent:.1f} s after it was sent: {result}")
    print(f"stopped by Ctrl-C with exit status {status}")
    return 0


def _state(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return json.load(answer)
    except OSError:
        return None


def _result(state: dict | None) -> str | None:
    """The caption of the first result (a message with the re-run buttons), if any."""
    for message in (state or {}).get("messages", []):
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        if any(button.get("callback_data", "").startswith("r:") for row in rows for button in row):
            return message.get("caption", "")
    return None


def _until(condition, started: float, timeout: float = 300.0):
    """Seconds since `started` once `condition()` is true (for a str result: that string)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value if isinstance(value, str) else time.monotonic() - started
        time.sleep(0.2)
    raise SystemExit(f"gave up after {timeout:.0f} s")


def _send_photo(url: str, photo: bytes, caption: str) -> None:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{caption}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    body += photo + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{url}/send", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


if __name__ == "__main__":
    sys.exit(main())
