#!/usr/bin/env bash
# GPU readiness in one run (issue #18): the precision picked, instant/fast/balanced/high at 512
# and 1024 px, four jobs at once, and the out-of-memory path; one table at the end.
# At most about 8 minutes on an NVIDIA GPU. On a CPU machine run it with --quick (or
# GPU_CHECK_QUICK=1): the same rows at small sizes, and the out-of-memory path through the
# pixel budget only (a real attempt would fill the RAM instead of a GPU's memory).
#
#   benchmarks/gpu_check.sh            # on the GPU machine, from the repository root
#   benchmarks/gpu_check.sh --quick    # anywhere, a few minutes on 2 cores
#
# Needs the VGG19 and instant weights in the cache (stylize --fetch-weights) and the shared
# images (../shared/images) or GPU_CHECK_PHOTO / GPU_CHECK_PAINTING.
set -euo pipefail
cd "$(dirname "$0")/.."
quick="${GPU_CHECK_QUICK:-0}"
if [[ "${1:-}" == "--quick" ]]; then quick=1; fi
PYTHON="${PYTHON:-python}"
if [[ -x .venv/bin/python && "$PYTHON" == python ]]; then PYTHON=.venv/bin/python; fi
export GPU_CHECK_QUICK="$quick" TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

exec "$PYTHON" - <<'PY'
import os
import threading
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from stylecore.device import configure_devices, resolve_precision
from stylecore.images import decode_image
from stylecore.instant.painter import instant_precision
from stylecore.params import QUALITY_PRESETS
from stylecore.optimiser.transfer import WorkingImageTooLarge, stylize

quick = os.environ["GPU_CHECK_QUICK"] == "1"
shared = Path("..") / "shared" / "images"
photo_path = Path(os.environ.get("GPU_CHECK_PHOTO", shared / "photos" / "tubingen.jpg"))
painting_path = Path(os.environ.get("GPU_CHECK_PAINTING", shared / "styles" / "starry_night.jpg"))
if photo_path.is_file() and painting_path.is_file():
    photo, painting = decode_image(photo_path), decode_image(painting_path)
else:  # still a check of the machine, on generated pictures
    y, x = np.mgrid[0:600, 0:800].astype(np.float32)
    photo = np.stack([x / 800, y / 600, 0.5 + 0.3 * np.sin(x / 40)], -1).astype(np.float32)
    painting = np.stack([np.sin(x / 9) ** 2, np.cos(y / 7) ** 2, x / 800], -1).astype(np.float32)

sizes = (64, 96) if quick else (512, 1024)
rows: list[tuple[str, str, str]] = []


def row(what: str, value: str, note: str = "") -> None:
    rows.append((what, value, note))
    print(f"{what}: {value} {note}".rstrip(), flush=True)


started_all = time.perf_counter()
device = configure_devices()
row("device", device)
row("precision picked (optimiser)", resolve_precision("auto"))
row("precision picked (instant)", instant_precision("auto"))

for quality in ("instant", "fast", "balanced", "high"):
    for size in sizes:
        params = QUALITY_PRESETS[quality].with_(size=size)
        stylize(photo, painting, params)  # traces this size (excluded)
        result = stylize(photo, painting, params)
        width, height = result.size
        row(f"{quality} at {size} px", f"{result.seconds:.2f} s",
            f"({width}x{height}, {result.evaluations} evaluations)")

# Four jobs at once in one worker process (threads sharing the device), the balanced quality.
size = sizes[0]
params = QUALITY_PRESETS["balanced"].with_(size=size)
one = stylize(photo, painting, params).seconds
errors: list[BaseException] = []


def job() -> None:
    try:
        stylize(photo, painting, params)
    except BaseException as e:  # reported in the table, not lost in a thread
        errors.append(e)


threads = [threading.Thread(target=job) for _ in range(4)]
began = time.perf_counter()
for t in threads:
    t.start()
for t in threads:
    t.join()
together = time.perf_counter() - began
row(f"four balanced jobs at once, {size} px", f"{together:.2f} s",
    f"(one alone {one:.2f} s: {together / one:.1f}x for 4x the work"
    + (f"; {len(errors)} failed: {errors[0]!r}" if errors else "") + ")")

# The out-of-memory path: the pixel budget refuses up front, and a size too big for the device
# fails as out-of-memory and leaves the worker able to paint the next picture.
try:
    stylize(photo, painting, QUALITY_PRESETS["balanced"].with_(size=4096), max_pixels=1_000_000)
    row("pixel budget (1 MP) at 4096 px", "NOT refused")
except WorkingImageTooLarge as e:
    row("pixel budget (1 MP) at 4096 px", "refused up front", f"({str(e)[:60]}...)")
if quick:
    row("out of memory at a huge size", "skipped (--quick: would fill the RAM)")
else:
    huge = QUALITY_PRESETS["balanced"].with_(size=16384, steps=1, coarse_stages=())
    began = time.perf_counter()
    try:
        stylize(photo, painting, huge)
        row("out of memory at 16384 px", "no error", f"({time.perf_counter() - began:.1f} s)")
    except (MemoryError, tf.errors.ResourceExhaustedError, tf.errors.InvalidArgumentError) as e:
        row("out of memory at 16384 px", type(e).__name__,
            f"after {time.perf_counter() - began:.1f} s")
    after = stylize(photo, painting, QUALITY_PRESETS["instant"].with_(size=512)).seconds
    row("instant at 512 px after that", f"{after:.2f} s", "(the worker still paints)")

total = time.perf_counter() - started_all
row("whole check", f"{total:.0f} s", "(target: at most 480 s on a GPU)" if not quick else "")
print("\n| check | result | note |\n| --- | --- | --- |")
for what, value, note in rows:
    print(f"| {what} | {value} | {note} |")
PY
