"""Preset style images: procedural textures, public-domain paintings and folder presets.

Three sources, listed in this order by :func:`list_presets`:

* **procedural** styles drawn by code from a fixed seed (no download), cached as PNG under
  ``$STYLECORE_HOME/presets/`` (default ``~/.cache/stylecore/presets/``);
* **paintings** downloaded once from a pinned URL, checked against a pinned sha256 and cached in
  the same folder. An image in the presets folder named after the painting (``starry_night.jpg``)
  provides it offline;
* **folder** presets: every jpg/png/webp in ``$STYLEBOT_PRESETS_DIR`` and in
  ``$STYLECORE_HOME/user_presets`` (where :func:`add_preset` stores admin uploads when
  ``STYLEBOT_PRESETS_DIR`` is unset). The file stem, lower-cased, is the preset name.

Environment variables are read at call time. Loading is thread-safe; a failed download is
remembered for :data:`FAILURE_TTL_S` seconds so a dead URL is not retried on every request.

``python -m stylecore.presets --fetch`` fills the cache with every built-in style (the Docker
build does), reporting the paintings it cannot download without failing.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import http.client
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stylecore.errors import PresetNameError, PresetUnavailable, UnknownPreset
from stylecore.images import decode_image, encode_image, resize_long_side, to_uint8

log = logging.getLogger(__name__)

PROCEDURAL_SIZE = 512
PROCEDURAL_VERSION = 1  # bump when a generator changes, so old cached PNGs are not reused
MAX_SIDE = 1024  # longest side of a loaded preset; bigger images are scaled down
DOWNLOAD_TIMEOUT_S = 15.0
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
FAILURE_TTL_S = 300.0
USER_AGENT = "stylebot/0.1 (Telegram style-transfer bot; preset download)"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
_NAME_RE = re.compile(r"[a-z0-9_]{2,32}")


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class Preset:
    """One selectable style."""

    name: str  # id used in commands and buttons, e.g. "starry_night"
    title: str  # human-readable, e.g. "The Starry Night — Vincent van Gogh, 1889"
    kind: str  # "procedural" | "painting" | "folder"


@dataclass(frozen=True)
class Painting:
    """A public-domain painting fetched from a pinned URL."""

    title: str
    artist: str
    year: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Procedural:
    """A style drawn by code: ``generate(size, seed)`` returns uint8 (size, size, 3)."""

    title: str
    generate: Callable[[int, int], np.ndarray]
    seed: int


# --------------------------------------------------------------------------- procedural styles


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth random field in [0, 1] of shape (size, size): bicubic upsampling of a coarse grid."""
    coarse = rng.random((cells, cells), dtype=np.float32)
    field = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))
    lo, hi = field.min(), field.max()
    return ((field - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB, all inputs in [0, 1]; returns (..., 3) floats in [0, 1]."""
    h = np.mod(h, 1.0) * 6.0
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack([r, g, b], axis=-1)


def _downsample(canvas: Image.Image, size: int) -> np.ndarray:
    """Antialias a supersampled drawing down to (size, size, 3) uint8."""
    return np.asarray(canvas.convert("RGB").resize((size, size), Image.Resampling.LANCZOS))


def _mosaic(size: int, seed: int) -> np.ndarray:
    """Stained glass: Voronoi panes of saturated colour with dark lead lines."""
    rng = np.random.default_rng(seed)
    n = 11  # panes per side, on a jittered grid so they are evenly sized
    cell = size / n
    gy, gx = np.mgrid[0:n, 0:n]
    seeds = np.stack([(gy + 0.5 + rng.uniform(-0.42, 0.42, gy.shape)) * cell,
                      (gx + 0.5 + rng.uniform(-0.42, 0.42, gx.shape)) * cell], -1).reshape(-1, 2)
    palette = np.array([
        (178, 18, 38), (200, 30, 60), (22, 52, 168), (16, 34, 110), (14, 124, 70),
        (232, 168, 22), (245, 200, 60), (104, 28, 140), (0, 140, 160), (226, 92, 14),
    ], dtype=np.float32) / 255
    colours = palette[rng.integers(0, len(palette), len(seeds))]
    colours *= rng.uniform(0.85, 1.1, (len(seeds), 1)).astype(np.float32)
    sheen = rng.normal(size=(len(seeds), 2)).astype(np.float32)
    sheen /= np.linalg.norm(sheen, axis=1, keepdims=True)

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    # Running nearest / second-nearest seed distance: one cheap pass per seed.
    d1 = np.full((size, size), np.inf, np.float32)
    d2 = np.full((size, size), np.inf, np.float32)
    nearest = np.zeros((size, size), np.int64)
    for k, (sy, sx) in enumerate(seeds):
        d = np.hypot(yy - sy, xx - sx)
        closer = d < d1
        d2 = np.where(closer, d1, np.minimum(d2, d))
        d1 = np.where(closer, d, d1)
        nearest[closer] = k
    edge = d2 - d1

    # Each pane gets a linear sheen across it and a mottled glass texture.
    offset = (np.stack([yy, xx], -1) - seeds[nearest]) / cell
    light = 0.9 + 0.35 * np.sum(offset * sheen[nearest], axis=-1)
    mottle = 0.85 + 0.3 * _smooth_noise(rng, size, 48)
    img = colours[nearest] * (light * mottle)[..., None]
    lead = np.clip((edge - 4.0) / 2.0, 0.0, 1.0)[..., None]  # 0 on a lead line, 1 inside a pane
    img = img * lead + np.array([0.09, 0.08, 0.08], np.float32) * (1 - lead)
    return to_uint8(np.clip(img, 0, 1))


def _pointillism(size: int, seed: int) -> np.ndarray:
    """Seurat-like dots on a light ground: sky, water and grass bands, each dotted with its
    complementary colour."""
    rng = np.random.default_rng(seed)
    ss = 2  # supersampling for round dots
    canvas = Image.new("RGB", (size * ss, size * ss), (246, 239, 222))
    draw = ImageDraw.Draw(canvas)
    wobble = _smooth_noise(rng, size, 5) - 0.5
    light = _smooth_noise(rng, size, 7)
    # (hue, saturation, value) of sky, water and grass; band edges at 40% and 62% of the height.
    bands = np.array([(0.56, 0.45, 0.98), (0.63, 0.8, 0.85), (0.27, 0.75, 0.72)])
    count = int(size * size / 14)
    ys, xs = rng.uniform(0, size, count), rng.uniform(0, size, count)
    iy, ix = ys.astype(int), xs.astype(int)
    level = ys / size + 0.12 * wobble[iy, ix]
    band = np.digitize(level, [0.4, 0.62])
    hue, sat, val = (bands[band, i] for i in range(3))
    hue = hue + rng.normal(0, 0.035, count)
    accent = rng.random(count) < 0.28
    hue = np.where(accent, hue + 0.5, hue)  # orange in blue, rose in green
    sat = np.clip(np.where(accent, 0.85, sat) + rng.normal(0, 0.08, count), 0.3, 1.0)
    val = np.clip(val * (0.8 + 0.25 * light[iy, ix]) + rng.normal(0, 0.05, count), 0.3, 1.0)
    rgb = (_hsv_to_rgb(hue, sat, val) * 255).astype(int)
    radius = rng.uniform(2.0, 3.6, count) * ss
    for y, x, r, c in zip(ys * ss, xs * ss, radius, rgb, strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(c))
    return _downsample(canvas, size)


_SPHERES = [(0.3, 0.6, 0.2), (0.66, 0.5, 0.26), (0.86, 0.78, 0.1)]  # (x, y, radius) / size


def _still_life_tone(rng: np.random.Generator, size: int) -> np.ndarray:
    """Tone map (0 = white, 1 = black) of shaded spheres on a table, lit from the top left."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    table = yy > 0.68
    tone = np.where(table, 0.5 + 0.3 * (yy - 0.68), 0.05 + 0.25 * yy)
    tone += 0.15 * (_smooth_noise(rng, size, 6) - 0.5)
    lit = np.array([-0.55, -0.6, 0.58], np.float32)
    lit /= np.linalg.norm(lit)
    for cx, cy, r in _SPHERES:
        shadow = ((xx - cx - 0.9 * r) / (1.3 * r)) ** 2 + ((yy - cy - r * 0.85) / (0.35 * r)) ** 2
        tone = np.where(shadow < 1, np.maximum(tone, 0.9 - 0.3 * shadow), tone)
        nx, ny = (xx - cx) / r, (yy - cy) / r
        inside = nx**2 + ny**2 < 1
        nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1))
        shade = np.clip(nx * lit[0] + ny * lit[1] + nz * lit[2], 0, 1)
        tone = np.where(inside, 1.0 - 0.98 * shade, tone)
    return np.clip(tone, 0, 1)


def _crosshatch(size: int, seed: int) -> np.ndarray:
    """Ink crosshatching on warm paper: a still life where darker tones get more stroke layers."""
    rng = np.random.default_rng(seed)
    ss = 2
    big = size * ss
    paper = np.array([243, 235, 215], np.float32)
    fibre = _smooth_noise(rng, big, big // 6) - 0.5
    ground = np.clip(paper + fibre[..., None] * 14, 0, 255).astype(np.uint8)
    canvas = Image.fromarray(ground)
    draw = ImageDraw.Draw(canvas)
    tone = _still_life_tone(rng, size)
    layers = [(45.0, 0.15), (-45.0, 0.4), (10.0, 0.62), (100.0, 0.8)]
    spacing = 5.0 * ss
    reach = big * math.sqrt(2) / 2
    centre = big / 2
    for angle, threshold in layers:
        for off in np.arange(-reach, reach, spacing):
            a = math.radians(angle + rng.normal(0, 2.0))
            d = np.array([math.cos(a), math.sin(a)])  # along the stroke
            nrm = np.array([-d[1], d[0]])
            base = centre + nrm * (off + rng.uniform(-1.5, 1.5))
            t = -reach + rng.uniform(0, 20)
            while t < reach:
                length = rng.uniform(14, 40) * ss
                p0, p1 = base + d * t, base + d * (t + length)
                mid = (p0 + p1) / 2
                t += length + rng.uniform(2, 8) * ss
                if not (0 <= mid[0] < big and 0 <= mid[1] < big):
                    continue
                if tone[int(mid[1] / ss), int(mid[0] / ss)] < threshold + rng.normal(0, 0.05):
                    continue
                bend = nrm * rng.uniform(-1.5, 1.5) * ss
                ink = int(rng.uniform(20, 75))
                draw.line([tuple(p0), tuple(mid + bend), tuple(p1)],
                          fill=(ink, ink, ink + 18), width=int(rng.integers(2, 4)))
    for cx, cy, r in _SPHERES:  # sketchy outlines, drawn twice like a hand going round again
        for _ in range(2):
            phase = rng.uniform(0, 2 * math.pi)
            a = np.linspace(0, 2 * math.pi, 90) + phase
            rr = (r + rng.normal(0, 0.004, 90).cumsum() * 0.3) * big
            pts = np.stack([cx * big + rr * np.cos(a), cy * big + rr * np.sin(a)], 1)
            draw.line([tuple(p) for p in pts], fill=(25, 25, 40), width=3 * ss // 2, joint="curve")
    return _downsample(canvas, size)


def _swirl(size: int, seed: int) -> np.ndarray:
    """Thick brushstrokes following swirling vortices, in night blues and golden yellows."""
    rng = np.random.default_rng(seed)
    ss = 2
    canvas = Image.new("RGB", (size * ss, size * ss), (18, 36, 92))
    draw = ImageDraw.Draw(canvas)
    n_vort = 6
    centres = rng.uniform(0.1, 0.9, (n_vort, 2)) * size
    strength = rng.uniform(0.6, 1.0, n_vort) * rng.choice([-1.0, 1.0], n_vort)
    core = rng.uniform(0.06, 0.12, n_vort) * size

    def flow(p: np.ndarray) -> np.ndarray:
        v = np.tile(np.array([0.35, 0.05]), (len(p), 1))  # a gentle drift to the right
        for c, s, r in zip(centres, strength, core, strict=True):
            rel = p - c
            dist2 = np.sum(rel**2, axis=1, keepdims=True)
            v += s * np.stack([-rel[:, 1], rel[:, 0]], 1) * r / (dist2 + r * r)
        return v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-6)

    blues = np.array([(24, 52, 140), (40, 86, 176), (74, 128, 204), (120, 170, 222),
                      (26, 70, 110), (60, 120, 150)], float)
    golds = np.array([(244, 212, 74), (250, 236, 150), (226, 168, 40), (255, 250, 214)], float)
    count = int(5200 * (size / 512) ** 2)  # same stroke density at any size
    pos = rng.uniform(0, size, (count, 2))
    paths = [pos]
    for _ in range(12):
        pos = pos + flow(pos) * 2.2 * size / 512
        paths.append(pos)
    track = np.stack(paths, 1) * ss  # (count, steps + 1, 2)
    near = np.min(np.linalg.norm(track[:, :1, :] / ss - centres[None], axis=-1), axis=1)
    glow = np.clip(1.3 - near / (core.mean() * 1.6), 0, 1)  # strokes near a vortex turn gold
    colours = np.where((rng.random(count) < glow)[:, None],
                       golds[rng.integers(len(golds), size=count)],
                       blues[rng.integers(len(blues), size=count)])
    colours = np.clip(colours * rng.uniform(0.85, 1.1, (count, 1)), 0, 255).astype(int)
    highlights = np.clip(colours * 1.25 + 20, 0, 255).astype(int)
    widths = np.maximum(1, np.round(rng.integers(4, 8, count) * ss * size / 512)).astype(int)
    for pts, colour, hi, width in zip(track, colours, highlights, widths, strict=True):
        line = [tuple(p) for p in pts]
        draw.line(line, fill=tuple(colour), width=int(width), joint="curve")
        draw.line([(x + ss, y - ss) for x, y in line], fill=tuple(hi), width=max(ss, width // 4))
    return _downsample(canvas, size)


PROCEDURAL: dict[str, Procedural] = {
    "mosaic": Procedural("Stained-glass mosaic", _mosaic, 1101),
    "pointillism": Procedural("Pointillism — dots of complementary colour", _pointillism, 1102),
    "crosshatch": Procedural("Ink crosshatching on paper", _crosshatch, 1103),
    "swirl": Procedural("Swirling brushstrokes", _swirl, 1104),
}

PAINTINGS: dict[str, Painting] = {
    # Pinned in shared/reference/styles.md; tests point `url` at a local server.
    "starry_night": Painting(
        "The Starry Night", "Vincent van Gogh", "1889",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
        "starry_night.jpg",
        "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098"),
    "the_scream": Painting(
        "The Scream", "Edvard Munch", "1893",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
        "the_scream.jpg",
        "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee"),
    "shipwreck": Painting(
        "The Shipwreck", "J. M. W. Turner", "1805",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
        "shipwreck.jpg",
        "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213"),
    "woman_with_hat": Painting(
        "Woman with a Hat", "Henri Matisse", "1905",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
        "woman-with-hat-matisse.jpg",
        "6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53"),
    "wave": Painting(
        "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831",
        "https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/"
        "wave.jpg",
        "54f19686bea5117c0bb68ce4425dbed4efafa3e8d7cafe35f0fae80b8223f4be"),
    "udnie": Painting(
        "Udnie", "Francis Picabia", "1913",
        "https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/"
        "udnie.jpg",
        "45e510d2a53b4167a22bae12a191eea3018f82d74a2fa17b1573adc1e9dfc7f6"),
    "minotaur": Painting(
        "The Shipwreck of the Minotaur", "J. M. W. Turner", "c. 1810",
        "https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/"
        "the_shipwreck_of_the_minotaur.jpg",
        "05e6d80cee6b2df5c3425f8f59105e62804d8a7ffe688aa69739c1f787a09dd9"),
}


# --------------------------------------------------------------------------- locations


def _home() -> Path:
    env = os.environ.get("STYLECORE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "stylecore"


def cache_dir() -> Path:
    """Where generated and downloaded presets are cached: ``$STYLECORE_HOME/presets``."""
    return _home() / "presets"


def user_presets_dir() -> Path:
    """Where :func:`add_preset` stores images: ``$STYLEBOT_PRESETS_DIR`` or
    ``$STYLECORE_HOME/user_presets``."""
    env = os.environ.get("STYLEBOT_PRESETS_DIR")
    return Path(env).expanduser() if env else _home() / "user_presets"


def _folder_dirs() -> list[Path]:
    dirs = [user_presets_dir(), _home() / "user_presets"]
    return list(dict.fromkeys(dirs))  # the configured folder first, no duplicates


def _normalise(name: str) -> str:
    """Lower-case, runs of anything but letters and digits become one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _folder_files() -> dict[str, Path]:
    """Folder images by preset name; the first folder and the first file (sorted) win."""
    found: dict[str, Path] = {}
    for folder in _folder_dirs():
        try:
            entries = sorted(folder.iterdir())
        except OSError:  # missing or unreadable folder: no presets from it
            continue
        for path in entries:
            if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            name = _normalise(path.stem)
            if not _NAME_RE.fullmatch(name):
                log.warning("preset file %s ignored: %r is not a usable name", path, name)
            elif name not in found and path.is_file():
                found[name] = path
    return found


def _painting_cache_path(name: str, painting: Painting) -> Path:
    suffix = Path(urllib.parse.urlsplit(painting.url).path).suffix.lower() or ".jpg"
    return cache_dir() / f"{name}-{painting.sha256[:12]}{suffix}"


def _procedural_cache_path(name: str) -> Path:
    return cache_dir() / f"{name}-v{PROCEDURAL_VERSION}.png"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; presets are not secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- listing


def _folder_title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def list_presets() -> list[Preset]:
    """All presets: procedural, then paintings, then folder/user presets sorted by name."""
    presets = [Preset(n, p.title, "procedural") for n, p in PROCEDURAL.items()]
    presets += [Preset(n, f"{p.title} — {p.artist}, {p.year}", "painting")
                for n, p in PAINTINGS.items()]
    builtin = PROCEDURAL.keys() | PAINTINGS.keys()
    presets += [Preset(n, _folder_title(n), "folder")
                for n in sorted(_folder_files()) if n not in builtin]
    return presets


def suggest(name: str, n: int = 3) -> list[str]:
    """Up to ``n`` preset names close to ``name`` (typos, partial names, artist names)."""
    query = _normalise(name)
    if not query:
        return []
    presets = list_presets()
    names = [p.name for p in presets]
    # Part of a name or title ("scream", "van_gogh") first; otherwise names that look alike.
    hits = [p.name for p in presets if len(query) >= 3
            and (query in p.name or query in _normalise(p.title))]
    return hits[:n] or difflib.get_close_matches(query, names, n=n, cutoff=0.6)


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive); raises :class:`UnknownPreset`."""
    key = _normalise(name)
    for preset in list_presets():
        if preset.name == key:
            return preset
    raise UnknownPreset(name=name, suggestions=suggest(name))


# --------------------------------------------------------------------------- loading

_state_lock = threading.Lock()
_name_locks: dict[str, threading.Lock] = {}
_memo: OrderedDict[Hashable, np.ndarray] = OrderedDict()
_MEMO_SIZE = 16
_failures: dict[tuple[str, str], tuple[float, str]] = {}  # (name, url) -> (when, reason)


def _lock_for(name: str) -> threading.Lock:
    with _state_lock:
        return _name_locks.setdefault(name, threading.Lock())


def _memo_get(key: Hashable) -> np.ndarray | None:
    with _state_lock:
        img = _memo.get(key)
        if img is not None:
            _memo.move_to_end(key)
        return img


def _memo_put(key: Hashable, img: np.ndarray) -> None:
    with _state_lock:
        _memo[key] = img
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


def clear_memory() -> None:
    """Forget images memoised in this process and remembered download failures."""
    with _state_lock:
        _memo.clear()
        _failures.clear()


def _recent_failure(name: str, painting: Painting) -> str | None:
    with _state_lock:
        entry = _failures.get((name, painting.url))
        if entry and time.monotonic() - entry[0] < FAILURE_TTL_S:
            return entry[1]
        return None


def render_procedural(name: str, size: int = PROCEDURAL_SIZE) -> bytes:
    """PNG bytes of a procedural style; the same bytes every time for the same name and size."""
    spec = PROCEDURAL[name]
    return encode_image(spec.generate(size, spec.seed), fmt="png")


def _fit(img: np.ndarray) -> np.ndarray:
    return resize_long_side(img, MAX_SIDE) if max(img.shape[:2]) > MAX_SIDE else img


def _load_procedural(name: str) -> np.ndarray:
    path = _procedural_cache_path(name)
    if path.is_file():
        try:
            return decode_image(path)
        except ValueError:
            log.warning("cached preset %s is damaged; drawing it again", path)
    data = render_procedural(name)
    try:
        _write_atomic(path, data)
    except OSError as exc:  # still usable, just not cached
        log.warning("could not cache preset %s: %s", path, exc)
    return decode_image(data)


def _load_file(preset: Preset, path: Path) -> np.ndarray:
    try:
        return _fit(decode_image(path))
    except ValueError as exc:  # ImageError: damaged or unsuitable file
        log.warning("preset %s (%s) can't be used: %s", preset.name, path, exc)
        raise PresetUnavailable("preset_unreadable", name=preset.name, title=preset.title,
                                detail=str(exc)) from exc


def _fetch(url: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> bytes:
    """GET ``url``; raises OSError / http.client.HTTPException / ValueError on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"more than {MAX_DOWNLOAD_BYTES} bytes")
    return data


def _painting_bytes(name: str, painting: Painting) -> bytes:
    """Verified bytes of a painting, from the cache or downloaded (and then cached)."""
    path = _painting_cache_path(name, painting)
    try:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == painting.sha256:
            return data
        log.warning("cached %s does not match its sha256; downloading it again", path)
    except OSError:
        pass
    def unavailable(reason: str) -> PresetUnavailable:
        return PresetUnavailable("download_failed", name=name, title=painting.title,
                                 detail=reason)

    reason = _recent_failure(name, painting)
    if reason:
        raise unavailable(reason)
    try:
        data = _fetch(painting.url)
        digest = hashlib.sha256(data).hexdigest()
        if digest != painting.sha256:
            raise ValueError(f"sha256 {digest} instead of {painting.sha256}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = f"{painting.url}: {exc}"
        log.warning("download of preset %s failed: %s", name, reason)
        with _state_lock:
            _failures[(name, painting.url)] = (time.monotonic(), reason)
        raise unavailable(reason) from exc
    try:
        _write_atomic(path, data)
    except OSError as exc:
        log.warning("could not cache preset %s: %s", path, exc)
    return data


def _load_painting(name: str, painting: Painting) -> np.ndarray:
    data = _painting_bytes(name, painting)
    try:
        return _fit(decode_image(data))
    except ValueError as exc:  # the pinned file itself is unusable: a bug, but don't crash
        raise PresetUnavailable("preset_unusable", name=name, title=painting.title,
                                detail=str(exc)) from exc


def _plan(preset: Preset) -> tuple[Hashable, Callable[[], np.ndarray]]:
    """Memo key and loader for a preset. Keys of files include their mtime and size, so an
    image replaced on disk is read again."""
    name = preset.name
    if preset.kind == "procedural":
        return ("procedural", name, PROCEDURAL_VERSION), lambda: _load_procedural(name)
    path = _folder_files().get(name)
    if path is not None:
        try:
            st = path.stat()
            key: Hashable = ("file", str(path), st.st_mtime_ns, st.st_size)
        except OSError:
            key = ("file", str(path))
        return key, lambda: _load_file(preset, path)
    if preset.kind == "painting":
        painting = PAINTINGS[name]
        return ("painting", name, painting.sha256), lambda: _load_painting(name, painting)
    # A folder preset whose file vanished between listing and loading.
    raise PresetUnavailable("preset_gone", name=name, title=preset.title, detail="file removed")


def load_preset(name: str) -> np.ndarray:
    """The style image as float32 (H, W, 3) in [0, 1], long side at most :data:`MAX_SIDE`.

    Memoised per process. May draw a procedural style or download a painting (blocking, up to
    :data:`DOWNLOAD_TIMEOUT_S`); raises :class:`UnknownPreset` or :class:`PresetUnavailable`.
    The caller gets its own copy and may modify it.
    """
    preset = get_preset(name)
    with _lock_for(preset.name):  # one download/generation per name at a time
        key, loader = _plan(preset)
        img = _memo_get(key)
        if img is None:
            img = loader()
            _memo_put(key, img)
    return img.copy()


def is_available_offline(name: str) -> bool:
    """Whether :func:`load_preset` can work without the network (procedural, folder, cached)."""
    preset = get_preset(name)
    if preset.kind != "painting" or preset.name in _folder_files():
        return True
    painting = PAINTINGS[preset.name]
    if _memo_get(("painting", preset.name, painting.sha256)) is not None:
        return True
    return _painting_cache_path(preset.name, painting).is_file()


# --------------------------------------------------------------------------- adding


def add_preset(name: str, image_bytes: bytes) -> Preset:
    """Store an admin's image as a new preset (or replace a user preset of that name).

    The name is lower-cased and must be 2-32 letters, digits or underscores and not a built-in
    style (:class:`PresetNameError` otherwise). The image goes through ``decode_image``
    (``ImageError`` propagates), is scaled to at most :data:`MAX_SIDE` and saved as PNG if it
    came as PNG, else as JPEG, in :func:`user_presets_dir`.
    """
    key = name.strip().lower()
    if not _NAME_RE.fullmatch(key):
        raise PresetNameError("bad_name", name=key)
    if key in PROCEDURAL or key in PAINTINGS:
        raise PresetNameError("builtin_name", name=key)
    img = _fit(decode_image(image_bytes, needed_side=MAX_SIDE))
    is_png = bytes(image_bytes[:4]) == b"\x89PNG"
    data = encode_image(img, "png" if is_png else "jpeg", quality=95)
    folder = user_presets_dir()
    path = folder / f"{key}{'.png' if is_png else '.jpg'}"
    with _lock_for(key):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():  # e.g. my_style.jpg when my_style.png replaces it
            if old != path and old.suffix.lower() in IMAGE_EXTENSIONS \
                    and _normalise(old.stem) == key:
                old.unlink(missing_ok=True)
        _write_atomic(path, data)
    log.info("preset %s saved to %s", key, path)
    return Preset(key, _folder_title(key), "folder")


# --------------------------------------------------------------------------- gallery

_GALLERY_BG = (30, 30, 34)
_LABEL_COLOUR = (236, 236, 236)
_Font = ImageFont.ImageFont | ImageFont.FreeTypeFont


def _font(px: int) -> _Font:
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: small bitmap font
        return ImageFont.load_default()


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font: _Font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _placeholder(thumb: int, text: str, font: _Font, colour: tuple) -> Image.Image:
    tile = Image.new("RGB", (thumb, thumb), colour)
    draw = ImageDraw.Draw(tile)
    draw.text((thumb / 2, thumb / 2), _fit_text(draw, text, font, thumb - 8), font=font,
              fill=(225, 225, 225), anchor="mm")
    return tile


def _thumbnail(preset: Preset, thumb: int, font: _Font) -> Image.Image:
    """A square crop of the preset, or a grey tile; never downloads anything."""
    if preset.kind == "painting" and not is_available_offline(preset.name):
        if _recent_failure(preset.name, PAINTINGS[preset.name]):
            return _placeholder(thumb, "unavailable", font, (88, 88, 92))
        return _placeholder(thumb, "tap to download", font, (70, 78, 96))
    try:
        img = load_preset(preset.name)
    except (PresetUnavailable, UnknownPreset):
        return _placeholder(thumb, "unavailable", font, (88, 88, 92))
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(to_uint8(img[top:top + side, left:left + side]))
    return square.resize((thumb, thumb), Image.Resampling.LANCZOS)


def gallery_size(count: int, thumb: int = 160, columns: int = 4) -> tuple[int, int]:
    """(width, height) in pixels of the gallery :func:`render_gallery` draws for ``count``."""
    cols = max(1, min(columns, count))
    rows = max(1, math.ceil(count / cols))
    pad, label = _gallery_metrics(thumb)
    return cols * (thumb + 2 * pad), rows * (thumb + 2 * pad + label)


def _gallery_metrics(thumb: int) -> tuple[int, int]:
    pad = max(4, thumb // 20)
    font_px = max(10, thumb // 10)
    return pad, font_px + pad


def render_gallery(presets: Sequence[Preset] | None = None, thumb: int = 160,
                   columns: int = 4) -> bytes:
    """One JPEG showing each preset as a square thumbnail with its name under it.

    Paintings not cached yet are drawn as "tap to download" tiles (nothing is downloaded here),
    paintings whose download recently failed and unreadable files as "unavailable" tiles.
    Procedural styles are drawn (and cached) if they aren't cached yet.
    """
    presets = list_presets() if presets is None else list(presets)
    if not presets:
        raise ValueError("no presets to draw")
    if thumb < 32 or columns < 1:
        raise ValueError("thumb must be at least 32 px and columns at least 1")
    cols = min(columns, len(presets))
    pad, label = _gallery_metrics(thumb)
    canvas = Image.new("RGB", gallery_size(len(presets), thumb, columns), _GALLERY_BG)
    draw = ImageDraw.Draw(canvas)
    font = _font(label - pad)
    small = _font(max(10, (label - pad) * 4 // 5))
    for i, preset in enumerate(presets):
        row, col = divmod(i, cols)
        x = col * (thumb + 2 * pad) + pad
        y = row * (thumb + 2 * pad + label) + pad
        canvas.paste(_thumbnail(preset, thumb, small), (x, y))
        text = _fit_text(draw, preset.name, font, thumb + pad)
        draw.text((x + thumb / 2, y + thumb + pad / 2 + label / 2), text, font=font,
                  fill=_LABEL_COLOUR, anchor="mm")
    return encode_image(np.asarray(canvas), "jpeg", quality=90)


# --------------------------------------------------------------------------- pre-fetching


def fetch_all() -> dict[str, str | None]:
    """Draws every procedural style and downloads every painting into :func:`cache_dir`.
    Returns ``{name: None}`` for each style now cached, else ``{name: why not}``; a painting
    that could not be had is downloaded on first use as usual."""
    outcome: dict[str, str | None] = {}
    for name in PROCEDURAL:
        _load_procedural(name)
        path = _procedural_cache_path(name)
        outcome[name] = None if path.is_file() else f"could not write {path}"
    for name, painting in PAINTINGS.items():
        try:
            _painting_bytes(name, painting)
        except PresetUnavailable as exc:
            outcome[name] = exc.detail or str(exc)
            continue
        path = _painting_cache_path(name, painting)
        outcome[name] = None if path.is_file() else f"could not write {path}"
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stylecore.presets",
        description="Fills the preset cache ($STYLECORE_HOME/presets) with the built-in styles.")
    parser.add_argument("--fetch", action="store_true",
                        help="draw the procedural styles and download the paintings; styles "
                             "that can't be had are reported, and the exit status stays 0")
    args = parser.parse_args(argv)
    if not args.fetch:
        parser.print_help()
        return 0
    outcome = fetch_all()
    for name, problem in outcome.items():
        print(f"{name}: {'ok' if problem is None else 'unavailable: ' + problem}")
    cached = sum(problem is None for problem in outcome.values())
    print(f"{cached} of {len(outcome)} styles cached in {cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
