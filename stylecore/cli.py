"""`stylize`: paint a photo in the style of one or more images, from the command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stylecore import (
    CLASSIC,
    DEFAULT,
    PRECISION_CHOICES,
    QUALITY_PRESETS,
    StyleError,
    StyleParams,
    precision_setting,
)

if TYPE_CHECKING:  # the CLI imports TensorFlow only once the arguments are known to be good
    from stylecore import Progress

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stylize",
        description="Paint CONTENT in the style of STYLE (Gatys neural style transfer, VGG19).",
        epilog="example: stylize photo.jpg starry_night.jpg -o out/photo.jpg --size 512",
    )
    parser.add_argument("content", nargs="?", help="the photo to repaint")
    parser.add_argument("styles", nargs="*", metavar="style", help="style image(s) or preset names")
    parser.add_argument("-o", "--output", help="where to write the result (.jpg or .png)")
    parser.add_argument(
        "--quality", choices=sorted(QUALITY_PRESETS),
        help="a preset of size and steps; instant: the feed-forward network, in a second"
    )
    parser.add_argument("--size", type=int, help="long side of the result in pixels")
    parser.add_argument("--steps", type=int, help="optimiser iterations")
    parser.add_argument("--strength", type=float, help="style strength multiplier (default 1)")
    parser.add_argument("--content-weight", type=float)
    parser.add_argument("--tv-weight", type=float, help="total-variation (smoothness) weight")
    parser.add_argument(
        "--preserve-colors",
        nargs="?",
        const="luminance",
        choices=["luminance", "histogram"],
        help="keep the photo's colours (default method: luminance)",
    )
    parser.add_argument(
        "--style-weights", type=float, nargs="+", help="blend weights, one per style image"
    )
    parser.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        help="compute type of the network (default: $STYLECORE_PRECISION, else auto: bfloat16 "
        "where the CPU or GPU computes it natively, float32 elsewhere)",
    )
    parser.add_argument(
        "--faces",
        choices=["keep", "off"],
        help="keep: paint faces carefully so people stay recognisable (the default); off: "
        "paint them like the rest (--classic: off unless given)",
    )
    parser.add_argument(
        "--classic", action="store_true", help="the original script: Adam, 100 steps, 600 px"
    )
    parser.add_argument(
        "--fetch-weights", action="store_true",
        help="download the VGG19 and the instant painter's weights and exit",
    )
    parser.add_argument(
        "--presets-dir", type=Path,
        help="a folder of images usable as styles by file name "
        "($STYLECORE_HOME/user_presets is always searched)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def params_from_args(args: argparse.Namespace) -> StyleParams:
    params = CLASSIC if args.classic else QUALITY_PRESETS.get(args.quality or "", DEFAULT)
    changes = {
        "size": args.size,
        "steps": args.steps,
        "style_strength": args.strength,
        "content_weight": args.content_weight,
        "tv_weight": args.tv_weight,
        "preserve_colors": args.preserve_colors,
        "precision": args.precision,
        "keep_faces": None if args.faces is None else args.faces == "keep",
    }
    return params.with_(**{k: v for k, v in changes.items() if v is not None})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    if args.fetch_weights:
        from stylecore import (
            InstantWeightsError,
            WeightsError,
            fetch_instant_weights,
            fetch_weights,
        )

        try:
            print(f"VGG19 weights ready at {fetch_weights()}")
            print(f"instant painter weights ready at {fetch_instant_weights()}")
        except WeightsError as error:
            return _fail(str(error))
        except InstantWeightsError as error:
            return _fail(f"could not obtain the instant painter's weights: {error}")
        return 0
    if not args.content or not args.styles:
        parser.print_usage(sys.stderr)
        return _fail("give a content photo and at least one style image (or preset name)")
    if args.style_weights and len(args.style_weights) != len(args.styles):
        return _fail(f"{len(args.styles)} style(s) but {len(args.style_weights)} weight(s)")
    if any(s <= 0 for s in (args.size or 1, args.steps or 1)):
        return _fail("--size and --steps must be positive")
    if args.precision is None:
        try:
            precision_setting()
        except ValueError as error:
            return _fail(str(error))
    output = Path(args.output or _default_output(args.content))
    if output.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
        return _fail(f"{output}: the output must end in .jpg, .png or .webp")
    return _run(args, params_from_args(args), output)


def _run(args: argparse.Namespace, params: StyleParams, output: Path) -> int:
    from stylecore import decode_image, save_image, set_presets_folder

    set_presets_folder(args.presets_dir)

    try:
        content = decode_image(args.content)
        styles = [_load_style(s) for s in args.styles]
    except StyleError as error:
        return _fail(_describe(error))
    weights = args.style_weights or [1.0] * len(styles)

    from stylecore import (
        InstantUnavailable,
        WeightsError,
        WorkingImageTooLarge,
        pixel_budget,
        stylize,
    )

    try:
        max_pixels = pixel_budget()
    except ValueError as error:
        return _fail(str(error))
    try:
        with _progress_bar(disabled=args.quiet) as on_progress:
            result = stylize(content, list(zip(styles, weights, strict=True)), params,
                             on_progress, max_pixels=max_pixels)
    except (WeightsError, WorkingImageTooLarge, InstantUnavailable) as error:
        return _fail(str(error))
    save_image(result.image, output)
    width, height = result.size
    print(f"wrote {output} ({width}x{height}) in {result.seconds:.1f} s")
    return 0


def _load_style(source: str):
    """A style is an image path, or the name of a preset painting or pattern."""
    from stylecore import decode_image

    if Path(source).exists() or any(sep in source for sep in "/\\."):
        return decode_image(source)
    from stylecore import load_preset

    return load_preset(source)


class _progress_bar:
    """A tqdm bar of the run's work in percent, with the time left, fed by stylize's
    on_progress (coarse iterations are cheap, so percent, not iterations, tracks the time)."""

    def __init__(self, disabled: bool):
        from tqdm import tqdm

        self._bar = tqdm(
            total=100,
            disable=disabled,
            dynamic_ncols=True,
            bar_format="{percentage:3.0f}%|{bar}| {elapsed} elapsed, {remaining} left",
        )
        self._started = time.perf_counter()

    def __enter__(self):
        def on_progress(progress: Progress) -> None:
            self._bar.update(round(100 * progress.fraction) - self._bar.n)

        return on_progress

    def __exit__(self, *exc) -> None:
        self._bar.close()


def _default_output(content: str) -> str:
    return str(Path("out") / f"{Path(content).stem}-styled.jpg")


_MESSAGES = {
    "empty": "That file is empty.",
    "not_image": "That file is not an image I can read.",
    "corrupt": "That image seems to be damaged or incomplete; please send it again.",
    "unsupported": "That image uses a colour format I can't handle; try a normal JPEG or PNG.",
    "missing": "I couldn't find that image file.",
    "unreadable": "I couldn't read that image file.",
    "too_large": "This image is too large{size}; send one of at most {megapixels:g} megapixels.",
    "too_small": "This image is too small{size}; send one at least {min_side} px on each side.",
    "aspect": "This image is too long and narrow{size}; its long side may be at most "
              "{max_aspect:g} times its short side.",
    "unknown_preset": "I don't know a style called “{name}”.{did_you_mean}",
    "download_failed": "{title} can't be downloaded right now; try another style.",
    "preset_unusable": "{title} can't be used right now; try another style.",
    "preset_unreadable": "The style “{name}” can't be read right now; try another style.",
    "preset_gone": "The style “{name}” is gone; try another style.",
}
"""The command line's own words for the engine's error codes (`stylecore.errors`), the same
sentences it has always printed."""


def _describe(error: StyleError) -> str:
    data = dict(error.data)
    size = f" ({data['width']}×{data['height']} px)" if "width" in data else ""
    megapixels = data.get("max_pixels", 0) / 1e6
    suggestions = data.get("suggestions") or []
    did_you_mean = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
    data["name"] = str(data.get("name", "")).strip()
    try:
        return _MESSAGES[error.code].format(size=size, megapixels=megapixels,
                                            did_you_mean=did_you_mean, **data)
    except (KeyError, ValueError):
        return str(error)


def _fail(message: str) -> int:
    print(f"stylize: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
