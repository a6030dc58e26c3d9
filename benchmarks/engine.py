"""Engine benchmark: the seed's classic run against the default engine, pair by pair.

For each content/style pair both runs start from the same 600 px inputs; both results are then
scored with the seed's own objective (its layers, weights and targets), so "lower is better"
means the same thing for both. Start-up (weights, network, tracing) is excluded from both times.

    python benchmarks/engine.py                       # the photos and paintings in ../shared/images
    python benchmarks/engine.py --pairs a.jpg:b.jpg   # your own pairs
    python benchmarks/engine.py --device gpu          # on a GPU machine
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "images"
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_PAIRS = [
    ("photos/tubingen.jpg", "styles/starry_night.jpg"),
    ("photos/golden_gate.jpg", "styles/the_scream.jpg"),
    ("photos/chicago.jpg", "styles/wave.jpg"),
    ("photos/tubingen.jpg", "styles/udnie.jpg"),
    ("photos/golden_gate.jpg", "styles/shipwreck.jpg"),
]


@dataclass
class Row:
    pair: str
    size: str
    classic_s: float
    default_s: float
    classic_loss: dict
    default_loss: dict
    classic_steps: int
    default_steps: str
    gflops_per_s: float

    @property
    def time_ratio(self) -> float:
        return self.classic_s / self.default_s

    @property
    def loss_ratio(self) -> float:
        return self.default_loss["total"] / self.classic_loss["total"]


def main() -> int:
    args = parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    import numpy as np  # noqa: F401  (after the device choice: TensorFlow reads it at import)

    from stylecore.device import configure_devices
    from stylecore.params import CLASSIC, DEFAULT

    pairs = resolve_pairs(args)
    if not pairs:
        print("no content/style pairs: pass --pairs CONTENT:STYLE (../shared/images is absent)")
        return 2
    device = configure_devices()
    machine = describe_machine(device)
    default = DEFAULT.with_(size=args.size)
    if args.steps is not None:
        default = default.with_(steps=args.steps)
    classic = CLASSIC.with_(size=args.size, steps=args.classic_steps)
    print(f"{machine}\nclassic: {classic.steps} Adam steps; default: {describe(default)}\n")

    if args.quality_presets:
        table = time_quality_presets(*pairs[0], machine)
    else:
        rows = [bench_pair(c, s, classic, default, args) for c, s in pairs]
        table = render_table(rows, machine, classic, default)
    print("\n" + table)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M")
        kind = "presets" if args.quality_presets else "engine"
        out = RESULTS / f"{kind}-{args.device}-{stamp}.md"
        out.write_text(table + "\n")
        print(f"table written to {out.relative_to(REPO)}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", metavar="CONTENT:STYLE", help="image pairs")
    parser.add_argument("--limit", type=int, default=3, help="how many default pairs (max 5)")
    parser.add_argument("--size", type=int, default=600, help="long side (the seed: 600)")
    parser.add_argument("--classic-steps", type=int, default=100)
    parser.add_argument("--steps", type=int, help="override the default engine's steps")
    parser.add_argument(
        "--quality-presets",
        action="store_true",
        help="instead: time the bot's quality presets (fast, balanced, high) on the first pair",
    )
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--no-save", action="store_true", help="print only")
    return parser.parse_args()


def resolve_pairs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    if args.pairs:
        return [tuple(Path(p) for p in pair.split(":", 1)) for pair in args.pairs]
    if not SHARED.is_dir():
        return []
    return [(SHARED / c, SHARED / s) for c, s in DEFAULT_PAIRS[: args.limit]]


def bench_pair(content_path: Path, style_path: Path, classic, default, args) -> Row:
    import numpy as np

    from stylecore.images import decode_image, save_image
    from stylecore.objective import loss_weights, objective_for
    from stylecore.transfer import scale_image, stylize, warm_up

    content, style = decode_image(content_path), decode_image(style_path)
    name = f"{content_path.stem}+{style_path.stem}"
    warm_up(classic)
    warm_up(default)

    ref = stylize(content, style, classic)
    print(f"{name}: classic {ref.seconds:.1f} s, seed loss {ref.losses['total']:.3e}", flush=True)
    new = stylize(content, style, default)

    # Score both with the seed's objective against the classic run's targets, at the same size.
    objective = objective_for(classic.style_layers, classic.content_layers, "float32")
    targets = objective.targets(
        scale_image(content, classic.size, False), [(scale_image(style, classic.size, False), 1)]
    )
    weights = loss_weights(classic)
    image = new.image
    if image.shape != ref.image.shape:
        import tensorflow as tf

        image = tf.image.resize(image, ref.image.shape[:2]).numpy()
    scored = objective.terms(image, targets, weights)
    print(
        f"{name}: default {new.seconds:.1f} s ({new.evaluations} evaluations), "
        f"seed loss {scored['total']:.3e}",
        flush=True,
    )
    if not args.no_save:
        strip = np.concatenate(
            [scale_image(content, classic.size), ref.image, image, _fit(style, ref.image.shape)],
            axis=1,
        )
        save_image(strip, RESULTS / f"{name}.jpg")

    height, width = ref.image.shape[:2]
    flops = vgg_flops(height, width)
    return Row(
        pair=name,
        size=f"{width}x{height}",
        classic_s=ref.seconds,
        default_s=new.seconds,
        classic_loss=ref.losses,
        default_loss=scored,
        classic_steps=ref.steps,
        default_steps=f"{new.steps} ({new.evaluations} evals)",
        gflops_per_s=flops * ref.evaluations / ref.seconds / 1e9,
    )


def time_quality_presets(content_path: Path, style_path: Path, machine: str) -> str:
    """Wall time of each bot quality preset on one photo/painting pair (start-up excluded)."""
    from stylecore.images import decode_image
    from stylecore.params import QUALITY_PRESETS
    from stylecore.transfer import stylize, warm_up

    content, style = decode_image(content_path), decode_image(style_path)
    lines = [
        f"Quality presets, {dt.date.today()}, {machine}",
        f"{content_path.stem} + {style_path.stem}",
        "",
        "| preset | size | iterations | evaluations | seconds | seed loss at that size |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, params in QUALITY_PRESETS.items():
        warm_up(params)
        result = stylize(content, style, params)
        width, height = result.size
        lines.append(
            f"| {name} | {width}x{height} | {result.steps} | {result.evaluations} | "
            f"{result.seconds:.1f} | {result.losses['total']:.3e} |"
        )
        print(lines[-1], flush=True)
    return "\n".join(lines)


def vgg_flops(height: int, width: int) -> float:
    """Floating-point operations of one forward + input-gradient pass up to block5_conv2.

    Each 3x3 convolution costs 2*9*Cin*Cout per output pixel forward and about the same again
    for the gradient with respect to its input (no weight gradients are needed).
    """
    layers = [
        (1, 3, 64), (1, 64, 64),
        (2, 64, 128), (2, 128, 128),
        (4, 128, 256), (4, 256, 256), (4, 256, 256), (4, 256, 256),
        (8, 256, 512), (8, 512, 512), (8, 512, 512), (8, 512, 512),
        (16, 512, 512), (16, 512, 512),
    ]  # fmt: skip
    forward = sum(2 * 9 * cin * cout * (height // s) * (width // s) for s, cin, cout in layers)
    return 2 * forward


def render_table(rows: list[Row], machine: str, classic, default) -> str:
    lines = [
        f"Engine benchmark, {dt.date.today()}, {machine}",
        f"classic = the seed ({classic.steps} Adam steps); default = {describe(default)}",
        "",
        "| pair | size | classic s | default s | time ratio | classic loss | default loss "
        "| loss ratio | style c/d | content c/d | tv c/d | steps c/d | GFLOP/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.pair} | {r.size} | {r.classic_s:.1f} | {r.default_s:.1f} | "
            f"{r.time_ratio:.1f}x | {r.classic_loss['total']:.3e} | {r.default_loss['total']:.3e} "
            f"| {r.loss_ratio:.2f} | {r.classic_loss['style']:.2e} / {r.default_loss['style']:.2e} "
            f"| {r.classic_loss['content']:.2e} / {r.default_loss['content']:.2e} "
            f"| {r.classic_loss['tv']:.2e} / {r.default_loss['tv']:.2e} "
            f"| {r.classic_steps} / {r.default_steps} | {r.gflops_per_s:.0f} |"
        )
    lines.append("")
    lines.append("loss = the seed's total objective (style + content + total variation) at the")
    lines.append("same size against the same targets; loss ratio < 1: the default is better.")
    lines.append("style, content, tv: its weighted terms, classic / default.")
    return "\n".join(lines)


def describe(params) -> str:
    from stylecore.device import resolve_precision

    precision = resolve_precision(params.precision)
    return f"{params.steps} {params.optimizer.upper()} iterations ({precision})"


def describe_machine(device: str) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {device}, Python {sys.version.split()[0]}"


def _fit(image, shape):
    from stylecore.images import resize_to

    return resize_to(image, shape[0], shape[1])


if __name__ == "__main__":
    sys.exit(main())
