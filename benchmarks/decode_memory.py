"""Peak memory of the bot when users send images of huge dimensions (a script, not a test).

Ten users each send, at the same moment, a PNG of 7000×7000 px of one flat colour (about
160 KB, just under the 50-megapixel limit) as a file captioned with a preset, so every image is
decoded by the bot (to answer bad input at once) and by the worker (for the job). The bot runs
as `python -m bot`, exactly as in production, against the fake Bot API; once every user has
their picture, the script reports the peak resident memory (Linux' VmHWM) of the bot process
and of its largest child (the engine worker, TensorFlow included), and the bot's memory when
idle before the images arrived.

    .venv/bin/python benchmarks/decode_memory.py
    .venv/bin/python benchmarks/decode_memory.py --users 3 --side 7000
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402  (after the path set-up above)

from tests.fake_telegram import FakeTelegram, User, bot_process, private_chat  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10, help="users sending at once")
    parser.add_argument("--side", type=int, default=7000, help="width and height in px")
    parser.add_argument("--preset", default="mosaic", help="caption: the style of each job")
    args = parser.parse_args()

    png = flat_png(args.side)
    with (tempfile.TemporaryDirectory() as root, FakeTelegram() as fake,
          bot_process(fake, Path(root)) as process):
        time.sleep(2)  # let the start-up settle
        idle_mb = memory_mb(process.pid, "VmRSS")
        users = [User(1000 + n, f"User{n}") for n in range(args.users)]
        mark = fake.mark()
        sent = [fake.user_sends_document(private_chat(user), user, png, "huge.png",
                                         "image/png", caption=args.preset)
                for user in users]
        for message in sent:
            fake.wait_for_blocking(
                None, lambda c, m=message: c.method in ("sendPhoto", "sendDocument")
                and c.reply_to == m["message_id"], after=mark, timeout=600)
        bot_mb = memory_mb(process.pid, "VmHWM")
        worker_mb = max((memory_mb(child, "VmHWM") for child in children(process.pid)),
                        default=0.0)
    print(f"{args.users} users × {args.side}×{args.side} px PNG ({len(png) / 1000:.0f} KB): "
          f"bot process idle {idle_mb:.0f} MB, peak {bot_mb:.0f} MB; "
          f"largest child (worker) peak {worker_mb:.0f} MB")
    return 0


def flat_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (side, side), (40, 120, 200)).save(buf, "PNG", compress_level=9)
    return buf.getvalue()


def memory_mb(pid: int, field: str) -> float:
    """A memory figure of /proc/<pid>/status (VmRSS: now, VmHWM: peak), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no {field} for process {pid}")


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


if __name__ == "__main__":
    sys.exit(main())
