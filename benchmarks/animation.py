"""Steady strokes on a clip: painting frame by frame without care vs carrying strokes along the
input's optical flow (stylecore/clips/temporal.py). A script, not a test; results in
docs/animations.md.

It makes a 3 s (--seconds), 12 fps, 480x360 clip (a camera panning and zooming over a photo from
/work/shared/images, or over a synthetic pattern, with a disc crossing it so parts are hidden
and revealed), paints it twice through `stylize_clip` (carry 0 = frame by frame, and the
default), and prints the wall time of each, the warping error (Lai et al. 2018) of the input,
of the frame-by-frame painting and of ours (both as encoded H.264, what users get), style@256
of the middle frame against the painting vs the input frame's, how crisp the strokes are, and
the peak resident memory.
A PNG strip of consecutive frames (input, frame by frame, ours) goes to --out.

    .venv/bin/python benchmarks/animation.py                   # instant network if installed
    .venv/bin/python benchmarks/animation.py --painter toy     # the cheap flickering painter
    .venv/bin/python benchmarks/animation.py --clip my.mp4 --painter optimiser
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.toy_painter import ToyPainter  # noqa: E402
from stylecore.clips.animate import stylize_clip  # noqa: E402
from stylecore.clips.decode import ClipLimits, open_clip  # noqa: E402
from stylecore.clips.encode import ClipWriter  # noqa: E402
from stylecore.clips.frame_painters import clip_painter, optimiser_painter  # noqa: E402
from stylecore.images import decode_image, resize_to, save_image  # noqa: E402

SHARED = Path("/work/shared/images")
WIDTH, HEIGHT, FPS, SECONDS = 480, 360, 12, 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--painter", choices=("auto", "instant", "optimiser", "toy"),
                        default="auto", help="auto: the instant network if installed, else toy")
    parser.add_argument("--clip", type=Path, help="paint this clip instead of a synthetic one")
    parser.add_argument("--photo", type=Path, default=SHARED / "photos" / "tubingen.jpg")
    parser.add_argument("--style", type=Path, default=SHARED / "styles" / "starry_night.jpg")
    parser.add_argument("--seconds", type=float, default=SECONDS,
                        help="length of the synthetic clip (10 s: the memory target)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "animation")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    style = decode_image(args.style, needed_side=512) if args.style.is_file() else None
    clip = args.clip or make_clip(args.out / "input.mp4", args.photo, args.seconds)
    limits = ClipLimits()
    name, painter, fresh_painter = painters(args.painter, style)
    print(f"clip {clip}, painter {name}")

    started, cpu = time.perf_counter(), time.process_time()
    naive = stylize_clip(str(clip), str(args.out / "naive.mp4"), painter, limits, carry=0.0)
    naive_s, naive_cpu = time.perf_counter() - started, time.process_time() - cpu
    cpu = time.process_time()
    ours = stylize_clip(str(clip), str(args.out / "ours.mp4"), fresh_painter(), limits)
    ours_cpu = time.process_time() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"frame by frame: {naive.frames} frames {naive.width}x{naive.height} "
          f"in {naive_s:.1f} s ({naive_cpu:.1f} CPU s, the first frame's start-up included); "
          f"ours: {ours.seconds:.1f} s ({ours_cpu:.1f} CPU s, "
          f"{ours.frames / ours.seconds:.1f} frames/s), carried {ours.carried:.0%} a frame, "
          f"{ours.scene_cuts} scene cuts; peak RSS {rss_mb:.0f} MB (painting, before measuring)")

    from benchmarks.measures import WarpingError, style_distance

    measure = WarpingError()
    middle = naive.frames // 2
    strip: list[list[np.ndarray]] = []
    details: list[tuple[float, float]] = []
    for index, (frame, a, b) in enumerate(zip(open_clip(clip, limits),
                                              open_clip(naive.output_path, limits),
                                              open_clip(ours.output_path, limits),
                                              strict=False)):
        measure.add(frame.image, frame.image, a.image, b.image)
        details.append((detail(a.image), detail(b.image)))
        if middle <= index < middle + 5:
            strip.append([frame.image, a.image, b.image])
        if index == middle and style is not None:
            style_input = style_distance(frame.image, style, 256)
            style_naive = style_distance(a.image, style, 256)
            style_ours = style_distance(b.image, style, 256)
    source, by_frame, carried = measure.values
    print(f"warping error: input {source:.5f}, frame by frame {by_frame:.5f} "
          f"({by_frame / source:.1f}x the input), ours {carried:.5f} "
          f"({carried / source:.1f}x the input, {carried / by_frame:.2f}x frame by frame)")
    detail_naive, detail_ours = np.mean(details, axis=0)
    print(f"detail (mean |Laplacian| of the grey frames): frame by frame {detail_naive:.4f}, "
          f"ours {detail_ours:.4f} ({detail_ours / detail_naive:.2f}x)")
    if style is not None:
        print(f"style@256 of the middle frame: input {style_input:.4g}, frame by frame "
              f"{style_naive:.4g} ({style_naive / style_input:.2f}x), ours {style_ours:.4g} "
              f"({style_ours / style_input:.2f}x)")
    rows = [np.concatenate(row, axis=1) for row in zip(*strip, strict=True)]
    save_image(np.concatenate(rows, axis=0), args.out / "strip.png")
    print(f"strip (rows: input, frame by frame, ours; 5 frames from {middle}): "
          f"{args.out / 'strip.png'}")
    return 0


def detail(image: np.ndarray) -> float:
    """Mean absolute Laplacian of the grey frame: how crisp the strokes are (blur lowers it;
    so does less flicker noise, a little)."""
    gray = cv2.cvtColor(np.asarray(image, np.float32), cv2.COLOR_RGB2GRAY)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean())


def painters(choice: str, style: np.ndarray | None):
    """(name, painter for frame by frame, factory of a fresh identical painter for ours)."""
    if choice in ("auto", "instant"):
        try:
            import stylecore.instant  # noqa: F401
        except ImportError:
            if choice == "instant":
                raise SystemExit("stylecore.instant is not installed") from None
            choice = "toy"
        else:
            return "instant", clip_painter(style), lambda: clip_painter(style)
    if choice == "optimiser":
        return "optimiser", optimiser_painter(style), lambda: optimiser_painter(style)
    return "toy", ToyPainter(style), lambda: ToyPainter(style)


def make_clip(path: Path, photo: Path, seconds: float = SECONDS) -> Path:
    """`seconds` at 12 fps, 480x360: a slow pan and zoom over `photo` (or a pattern) with a disc
    crossing in front."""
    if photo.is_file():
        picture = decode_image(photo, needed_side=1200)
    else:
        rng = np.random.default_rng(0)
        picture = resize_to(rng.random((24, 32, 3)).astype(np.float32), 900, 1200)
    picture = resize_to(picture, 900, round(900 * picture.shape[1] / picture.shape[0]))
    frames = round(seconds * FPS)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    with ClipWriter(path, WIDTH, HEIGHT, FPS, crf=18) as writer:
        for t in range(frames):
            progress = t / (frames - 1)
            zoom = 1.0 + 0.25 * progress  # window shrinks: the camera zooms in
            crop_w, crop_h = round(720 / zoom), round(540 / zoom)
            left = round(60 + 200 * progress)
            top = round(120 + 40 * progress)
            view = resize_to(picture[top:top + crop_h, left:left + crop_w], HEIGHT, WIDTH)
            cx, cy = 40 + 400 * progress, 200 - 60 * np.sin(np.pi * progress)
            disc = (xs - cx) ** 2 + (ys - cy) ** 2 < 45 ** 2
            view[disc] = (0.85, 0.2, 0.15)
            writer.write(view, t)
        writer.finish()
    return path


if __name__ == "__main__":
    raise SystemExit(main())
