"""Faces benchmark: are people recognisable, and are their faces painted rather than pasted?
The default engine with `keep_faces` off (before) and on (after), the instant picture, and the
feed-forward peer, on portraits and group photos.

Face measures, for every face that face_recognition (dlib's HOG detector and 128-number ResNet
embedding, "same person" under 0.6) finds in the photo:
- distance: between its embedding in the photo and in the picture at the same place (both at
  the picture's size), and the share of faces still recognised (< 0.6);
- shading: how much of the photo's light and shade the picture keeps in the face, the
  correlation of their grey levels (the face box scaled to 128 px, both blurred by 2 px): 1 is
  the photo's shading under a filter, a face painted like the rest of a painting is lower. The
  same measure over the rest of the picture (256 px, faces and a margin around them left out)
  says how boldly the picture is painted around the faces.
Beside them style@256 (`benchmarks/measures.py`) and wall time. The targets of issues #19 and #31
are checked per pair and over all pairs. Each pair's strip and its faces' crops at 3x (photo,
instant, after, peer) are saved beside the table. A landscape pair checks that a photo without
faces runs the same computation (same picture, same time).

Photos (public domain; fetched into ~/.cache/stylecore/bench-photos, never committed): the
astronaut from /work/shared (scikit-image's `astronaut`: NASA, Eileen Collins) and White House
photographs (US Government works) that ageitgey/face_recognition ships in examples/.

    pip install -e '.[bench]'; pip install --no-deps face_recognition   # the embedding
    python benchmarks/faces.py                     # 600 px, 5 portraits/group photos
    python benchmarks/faces.py --quality fast      # what /settings' fast gives (384 px)
    python benchmarks/faces.py --limit 2 --size 400 --face-weights 1e3 1e4   # a weight sweep
    python benchmarks/faces.py --size 400 --variants block4_conv2:6000   # another face layer
    python benchmarks/faces.py --skins 1.0       # also the whole face held, as before #31
    python benchmarks/faces.py --variants-only --settings face_content_weight=2000 \
        start=photo,face_skin=0.3                # other settings beside instant and peer only
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import RESULTS, SHARED, describe_machine, load_peer, settings_from

CACHE = Path.home() / ".cache" / "stylecore" / "bench-photos"
FACE_RECOGNITION_COMMIT = "2e2dccea9dd0ce730c8d464d0f67c6eebb40c9d1"
_FR = f"https://raw.githubusercontent.com/ageitgey/face_recognition/{FACE_RECOGNITION_COMMIT}/"
PHOTOS = {
    "astronaut.png": "shared:photos/astronaut.png",
    "obama.jpg": _FR + "examples/obama.jpg",
    "two_people.jpg": _FR + "examples/two_people.jpg",
    "obama_and_biden.jpg": _FR + "examples/knn_examples/test/obama_and_biden.jpg",
    "biden.jpg": _FR + "examples/biden.jpg",
}
"""Where each photo comes from: /work/shared, or a pinned file of a public repository."""
PAIRS = [
    ("astronaut.png", "starry_night.jpg"),
    ("two_people.jpg", "udnie.jpg"),
    ("obama.jpg", "the_scream.jpg"),
    ("obama_and_biden.jpg", "wave.jpg"),
    ("biden.jpg", "shipwreck.jpg"),
]
LANDSCAPE = ("photos/tubingen.jpg", "styles/starry_night.jpg")
SAME_PERSON = 0.6


@dataclass
class Picture:
    """One picture of a pair and its measures."""

    name: str
    seconds: float
    distances: list[float]
    shading: list[float]
    """Per face: the correlation of the photo's and the picture's grey levels in it."""
    rest_shading: float
    style_256: float
    image: object  # np.ndarray (H, W, 3)

    @property
    def recognised(self) -> int:
        return sum(d < SAME_PERSON for d in self.distances)

    @property
    def mean(self) -> float:
        return _mean(self.distances)

    @property
    def mean_shading(self) -> float:
        return _mean(self.shading)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def main() -> int:
    args = parse_args()
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1" if args.device == "cpu" else os.environ.get(
        "CUDA_VISIBLE_DEVICES", "")
    import face_recognition  # noqa: F401  (fail early without the bench extra)

    from stylecore.device import configure_devices
    from stylecore.params import DEFAULT, QUALITY_PRESETS

    machine = describe_machine(configure_devices())
    base = QUALITY_PRESETS[args.quality] if args.quality else DEFAULT
    args.size = args.size or (base.size if args.quality else 600)
    params = base.with_(size=args.size)
    peer = load_peer()
    print(machine, flush=True)
    sections = []
    pairs = [p for p in PAIRS if p[0] in args.photos] if args.photos else PAIRS[: args.limit]
    for photo, style in pairs:
        path = photo_path(photo, args.shared)
        if path is None:
            continue
        sections.append(bench_pair(path, args.shared / "styles" / style, params, peer, args))
    landscape = None if args.no_landscape else bench_landscape(params, args.shared)
    table = render(sections, landscape, machine, params, args.quality or "the default")
    print("\n" + table)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M")
        out = RESULTS / f"faces-{args.device}-{stamp}.md"
        out.write_text(table + "\n")
        print(f"table written to {out}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=len(PAIRS), help="how many pairs")
    parser.add_argument("--photos", nargs="+", choices=sorted(PHOTOS),
                        help="only the pairs of these photos")
    parser.add_argument("--quality", choices=("fast", "balanced", "high"),
                        help="the bot's quality preset, with its own schedule and face settings "
                             "(default: the default engine)")
    parser.add_argument("--size", type=int,
                        help="long side in pixels (default: the quality's, else 600)")
    parser.add_argument("--face-weights", type=float, nargs="*", default=[],
                        help="also run keep_faces with these face_content_weight values")
    parser.add_argument("--variants", nargs="*", default=[], metavar="LAYER:WEIGHT",
                        help="also run keep_faces with this face layer and weight, e.g. "
                             "block4_conv2:6000 (the face term before 2 December)")
    parser.add_argument("--skins", type=float, nargs="*", default=[],
                        help="also run keep_faces with these face_skin values (1.0: the whole "
                             "face held, as before #31)")
    parser.add_argument("--settings", nargs="*", default=[], metavar="NAME=VALUE,...",
                        help="also run the default with these StyleParams changed, e.g. "
                             "start=instant_recoloured,face_skin=0")
    parser.add_argument("--variants-only", action="store_true",
                        help="leave out before and after (the instant picture and the peer "
                             "stay: the targets are theirs)")
    parser.add_argument("--no-landscape", action="store_true", help="skip the faceless check")
    parser.add_argument("--shared", type=Path, default=SHARED,
                        help=f"the shared images folder (default {SHARED})")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--no-save", action="store_true", help="print only")
    return parser.parse_args()


def photo_path(name: str, shared: Path) -> Path | None:
    """The photo in the shared folder or the cache, downloaded into the cache when missing."""
    source = PHOTOS[name]
    if source.startswith("shared:"):
        path = shared / source.removeprefix("shared:")
        if not path.exists():
            print(f"{name}: not in {shared}, skipped")
            return None
        return path
    path = CACHE / name
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(source, timeout=30) as response:
                path.write_bytes(response.read())
        except OSError as error:
            print(f"{name}: cannot download {source} ({error}); put it in {CACHE}. Skipped.")
            return None
    return path


def bench_pair(photo_file: Path, style_file: Path, params, peer, args):
    import numpy as np

    from stylecore.images import decode_image, resize_to, save_image
    from stylecore.optimiser.transfer import stylize, warm_up
    from stylecore.runs import scale_image

    content, style = decode_image(photo_file), decode_image(style_file)
    name = f"{photo_file.stem}+{style_file.stem}"
    photo = scale_image(content, args.size)
    reference = face_embeddings(photo)
    print(f"{name}: {len(reference)} face(s) recognisable in the photo", flush=True)
    variants = [] if args.variants_only else [("before", params.with_(keep_faces=False)),
                                              ("after", params)]
    variants.append(("instant", params.with_(engine="instant")))
    variants += [(spec, params.with_(**settings_from(spec))) for spec in args.settings]
    variants += [(f"after skin={skin:g}", params.with_(face_skin=skin)) for skin in args.skins]
    variants += [(f"after w={w:g}", params.with_(face_content_weight=w))
                 for w in args.face_weights]
    for spec in args.variants:
        layer, weight = spec.split(":")
        variants.append((f"after {layer} w={float(weight):g}",
                         params.with_(face_layers=(layer,), face_content_weight=float(weight))))
    pictures = []
    for label, variant in variants:
        warm_up(variant)
        result = stylize(content, style, variant)
        image = resize_to(result.image, *photo.shape[:2])
        pictures.append(score(label, image, result.seconds, reference, style, photo))
        print(f"{name}: {label} {result.seconds:.1f} s, {result.faces} face(s) kept, "
              f"{fmt(pictures[-1])}", flush=True)
    if peer is not None:
        peer.stylize_with(str(photo_file), str(style_file), max_size=64)  # loads its models
        started = time.perf_counter()
        out = peer.stylize_with(str(photo_file), str(style_file), max_size=args.size)
        seconds = time.perf_counter() - started
        image = resize_to(np.asarray(out, dtype=np.float32) / 255.0, *photo.shape[:2])
        pictures.append(score("peer", image, seconds, reference, style, photo))
        print(f"{name}: peer {seconds:.1f} s, {fmt(pictures[-1])}", flush=True)
    if not args.no_save:
        # photo, before, after, any variants, the peer
        strip = np.concatenate([photo, *(p.image for p in pictures)], axis=1)
        RESULTS.mkdir(parents=True, exist_ok=True)
        save_image(strip, RESULTS / f"faces-{name}.jpg")
        crops = face_crops(photo, pictures, reference)
        if crops is not None:
            save_image(crops, RESULTS / f"faces-{name}-crops.jpg")
    height, width = photo.shape[:2]
    return name, f"{width}x{height}", len(reference), pictures


def score(label: str, image, seconds: float, reference, style, photo) -> Picture:
    from benchmarks.measures import style_distance

    distances = face_distances(image, reference)
    shading = [face_shading(photo, image, location) for location, _ in reference]
    return Picture(label, seconds, distances, shading,
                   rest_shading(photo, image, [location for location, _ in reference]),
                   style_distance(image, style, 256), image)


SHADING_SIDE = 128
SHADING_BLUR = 2.0


def _grey(image, box, side: tuple[int, int]):
    import numpy as np
    from PIL import Image, ImageFilter

    pixels = Image.fromarray(_uint8(image)).convert("L").crop(box)
    pixels = pixels.resize(side, Image.BICUBIC).filter(ImageFilter.GaussianBlur(SHADING_BLUR))
    return np.asarray(pixels, dtype=np.float64)


def face_shading(photo, picture, location) -> float:
    """The correlation of the photo's and the picture's grey levels in one face (its box
    scaled to `SHADING_SIDE`, both blurred by `SHADING_BLUR` px): 1 when the picture keeps the
    photo's light and shade exactly, lower as the painting re-forms them. Pearson's r, so a
    tint or a change of contrast alone does not lower it."""
    import numpy as np

    top, right, bottom, left = location
    box, side = (left, top, right, bottom), (SHADING_SIDE, SHADING_SIDE)
    return float(np.corrcoef(_grey(photo, box, side).ravel(),
                             _grey(picture, box, side).ravel())[0, 1])


def rest_shading(photo, picture, locations) -> float:
    """`face_shading`'s measure over the rest of the picture at 256 px: the faces' boxes and a
    margin of 30% around them left out."""
    import numpy as np

    height, width = photo.shape[:2]
    scale = 256 / max(height, width)
    side = (max(1, round(width * scale)), max(1, round(height * scale)))
    keep = np.ones((side[1], side[0]), dtype=bool)
    for top, right, bottom, left in locations:
        margin_y, margin_x = 0.3 * (bottom - top), 0.3 * (right - left)
        keep[max(0, int((top - margin_y) * scale)):int((bottom + margin_y) * scale) + 1,
             max(0, int((left - margin_x) * scale)):int((right + margin_x) * scale) + 1] = False
    box = (0, 0, width, height)
    return float(np.corrcoef(_grey(photo, box, side)[keep], _grey(picture, box, side)[keep])[0, 1])


def face_crops(photo, pictures, reference):
    """Each face at 3x: a row per face of the photo's, the instant picture's, the default's
    ("after") and the peer's; None without faces."""
    import numpy as np
    from PIL import Image

    by_name = {p.name: p for p in pictures}
    shown = [by_name[name] for name in ("instant", "after", "peer") if name in by_name]
    rows = []
    for (top, right, bottom, left), _ in reference:
        pad_y, pad_x = (bottom - top) // 4, (right - left) // 4
        box = (max(0, left - pad_x), max(0, top - pad_y), right + pad_x, bottom + pad_y)
        cells = []
        for image in (photo, *(p.image for p in shown)):
            crop = Image.fromarray(_uint8(image)).crop(box)
            cells.append(np.asarray(crop.resize((3 * crop.width, 3 * crop.height),
                                                Image.LANCZOS)))
        rows.append(np.concatenate(cells, axis=1))
    if not rows:
        return None
    width = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows]
    return np.concatenate(rows, axis=0).astype(np.float32) / 255


def face_embeddings(photo) -> list[tuple[tuple, object]]:
    """(location, 128-number embedding) of every face face_recognition finds in `photo` that
    BlazeFace (`stylecore.faces`) finds too: dlib's HOG detector alone takes a patch or a
    helmet for a face now and then, and a distance to a non-face means nothing."""
    import face_recognition

    from stylecore.faces import detect_faces

    pixels = _uint8(photo)
    ours = [f.box for f in detect_faces(photo)]
    locations = [
        (top, right, bottom, left)
        for top, right, bottom, left in face_recognition.face_locations(
            pixels, number_of_times_to_upsample=1)
        if any(x0 <= (left + right) / 2 <= x1 and y0 <= (top + bottom) / 2 <= y1
               for x0, y0, x1, y1 in ours)
    ]
    encodings = face_recognition.face_encodings(pixels, known_face_locations=locations)
    return list(zip(locations, encodings, strict=True))


def face_distances(picture, reference) -> list[float]:
    """Embedding distance of each reference face to the picture's face at the same place."""
    import face_recognition
    import numpy as np

    if not reference:
        return []
    pixels = _uint8(picture)
    encodings = face_recognition.face_encodings(pixels, known_face_locations=[
        location for location, _ in reference])
    return [float(np.linalg.norm(e - ref)) for e, (_, ref) in zip(encodings, reference,
                                                                 strict=True)]


def bench_landscape(params, shared: Path):
    """A photo without faces: keep_faces on and off give the same picture in the same time."""
    import numpy as np

    from stylecore.images import decode_image
    from stylecore.optimiser.transfer import stylize, warm_up

    content, style = (decode_image(shared / p) for p in LANDSCAPE)
    warm_up(params)
    runs = {}
    for label, variant in (("off", params.with_(keep_faces=False)), ("on", params)):
        result = stylize(content, style, variant)
        runs[label] = result
        print(f"landscape: keep_faces {label} {result.seconds:.1f} s, {result.faces} face(s)",
              flush=True)
    same = bool(np.array_equal(runs["off"].image, runs["on"].image))
    return runs["off"].seconds, runs["on"].seconds, same


def render(sections, landscape, machine: str, params, quality: str) -> str:
    lines = [
        f"Faces benchmark, {dt.date.today()}, {machine}",
        f"{params.size} px, {quality}; before = keep_faces off, after = on (face term "
        f"{params.face_layers[0]}, weight {params.face_content_weight:g})",
        "",
        "| pair | faces | picture | seconds | style@256 | face distance (each) | mean | "
        "recognised | face shading (each) | mean | rest shading |",
        "| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    totals: dict[str, list] = {}
    verdicts = []
    for name, size, n_faces, pictures in sections:
        for p in pictures:
            each = ", ".join(f"{d:.2f}" for d in p.distances)
            shading = ", ".join(f"{c:.2f}" for c in p.shading)
            lines.append(f"| {name} {size} | {n_faces} | {p.name} | {p.seconds:.1f} | "
                         f"{p.style_256:.3g} | {each} | {p.mean:.3f} | "
                         f"{p.recognised}/{len(p.distances)} | {shading} | "
                         f"{p.mean_shading:.3f} | {p.rest_shading:.3f} |")
            totals.setdefault(p.name, []).append(p)
        verdicts.append(f"- {name}: {pair_targets(pictures)}")
    lines += ["", "All pairs:", "", "| picture | mean face distance | recognised | "
              "mean face shading | mean rest shading | seconds (sum) |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, pics in totals.items():
        distances = [d for p in pics for d in p.distances]
        shading = [c for p in pics for c in p.shading]
        lines.append(f"| {label} | {_mean(distances):.3f} | {sum(p.recognised for p in pics)}/"
                     f"{len(distances)} | {_mean(shading):.3f} | "
                     f"{_mean([p.rest_shading for p in pics]):.3f} | "
                     f"{sum(p.seconds for p in pics):.1f} |")
    lines += ["", "Targets (issues #19 and #31):", *verdicts,
              f"- overall: {overall_targets(totals)}"]
    if landscape is not None:
        off, on, same = landscape
        lines += ["", f"Without faces ({Path(LANDSCAPE[0]).stem}): keep_faces off {off:.1f} s, "
                  f"on {on:.1f} s, {'the same picture' if same else 'DIFFERENT pictures'}."]
    lines += [
        "",
        "face distance: face_recognition's 128-number embedding (dlib) of each face it finds in",
        "the photo, against the picture's at the same place; under 0.6 counts as recognised.",
        "face shading: the correlation of the photo's and the picture's grey levels in each face",
        "(its box at 128 px, both blurred by 2 px); 1 is the photo's light and shade kept as is.",
        "rest shading: the same over the rest of the picture at 256 px, faces left out.",
        "style@256: benchmarks/measures.py's style distance at 256 px. Lower is better everywhere.",
    ]
    return "\n".join(lines)


def pair_targets(pictures) -> str:
    by = {p.name: p for p in pictures}
    if "after" not in by:
        return "not checked (--variants-only)"
    before, after, peer = by["before"], by["after"], by.get("peer")
    instant = by.get("instant")
    checks = [
        ("style256<=1.2before", after.style_256 <= 1.2 * before.style_256),
        ("time<=1.15before", after.seconds <= 1.15 * before.seconds),
    ]
    if peer is not None and after.distances:
        checks[:0] = [("distance<=peer", after.mean <= peer.mean)]
    if instant is not None and after.shading:
        checks.append(("shading<=instant+0.08",
                       after.mean_shading <= instant.mean_shading + 0.08))
    failed = [n for n, ok in checks if not ok]
    return "all met" if not failed else "missed: " + ", ".join(failed)


def overall_targets(totals) -> str:
    if "peer" not in totals or "after" not in totals:
        return "no peer or no default: not checked"

    def flat(label):
        return [d for p in totals[label] for d in p.distances]

    after, peer = flat("after"), flat("peer")
    if not after:
        return "no faces measured"
    ratio = (sum(after) / len(after)) / (sum(peer) / len(peer))
    recognised = sum(d < SAME_PERSON for d in after), sum(d < SAME_PERSON for d in peer)
    checks = [(f"mean<=0.85peer ({ratio:.2f}x)", ratio <= 0.85),
              (f"recognised>=peer ({recognised[0]} vs {recognised[1]})",
               recognised[0] >= recognised[1])]
    return "; ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks)


def fmt(p: Picture) -> str:
    each = ", ".join(f"{d:.2f}" for d in p.distances)
    shading = ", ".join(f"{c:.2f}" for c in p.shading)
    return (f"style@256 {p.style_256:.3g}, face distance [{each}], recognised {p.recognised}, "
            f"face shading [{shading}], rest {p.rest_shading:.3f}")


def _uint8(image):
    import numpy as np

    return (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


if __name__ == "__main__":
    sys.exit(main())
