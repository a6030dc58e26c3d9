"""Procedural presets benchmark: is the careful picture nearer the pattern than the instant one?

Issue #31's promise, for the built-in patterns (`mosaic`, `pointillism`, `crosshatch`, `swirl`,
drawn by `stylecore.presets`): the careful picture (a quality preset) against the instant
picture, on two photos from /work/shared, by style@256 (`benchmarks/measures.py`), with the
target careful <= 0.9x instant. Beside them the careful picture with its first coarse stage
forced back (`fine_style_tv` out of reach), the schedule before fine patterns skipped it.

    python benchmarks/procedural.py                     # balanced (512 px), all four patterns
    python benchmarks/procedural.py --quality high --presets crosshatch pointillism
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import SHARED, describe_machine

PHOTOS = ("photos/golden_gate.jpg", "photos/tubingen.jpg")
PATTERNS = ("crosshatch", "pointillism", "mosaic", "swirl")
TARGET = 0.9


def main() -> int:
    args = parse_args()
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    from benchmarks.measures import style_distance
    from stylecore.device import configure_devices
    from stylecore.images import decode_image
    from stylecore.optimiser.transfer import style_roughness, stylize, warm_up
    from stylecore.params import QUALITY_PRESETS
    from stylecore.presets.lookup import load_preset

    params = QUALITY_PRESETS[args.quality]
    pictures = {"instant": params.with_(engine="instant"), "careful": params,
                "with first stage": params.with_(fine_style_tv=float("inf"))}
    print(f"{describe_machine(configure_devices())}; {args.quality}, {params.size} px")
    print("| photo | pattern | roughness | instant | careful | with first stage | careful / "
          f"instant (target <= {TARGET}) | seconds: careful / with first stage |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for photo in PHOTOS:
        content = decode_image(SHARED / photo)
        for name in args.presets:
            style = load_preset(name)
            roughness = style_roughness([(style, 1.0)], params.size)
            scores, seconds = {}, {}
            for label, variant in pictures.items():
                warm_up(variant)
                started = time.perf_counter()
                image = stylize(content, style, variant).image
                seconds[label] = time.perf_counter() - started
                scores[label] = style_distance(image, style, 256)
            ratio = scores["careful"] / scores["instant"]
            print(f"| {Path(photo).stem} | {name} | {roughness:.3f} | {scores['instant']:.3g} | "
                  f"{scores['careful']:.3g} | {scores['with first stage']:.3g} | {ratio:.2f}x "
                  f"{'met' if ratio <= TARGET else 'missed'} | {seconds['careful']:.1f} / "
                  f"{seconds['with first stage']:.1f} |", flush=True)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", choices=("fast", "balanced", "high"), default="balanced")
    parser.add_argument("--presets", nargs="+", choices=PATTERNS, default=list(PATTERNS))
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
