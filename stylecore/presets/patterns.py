"""The procedural styles, drawn by code from a seed: no download, the same pixels every time.

Each generator takes `(size, seed)` and returns uint8 (size, size, 3);
`stylecore.presets.catalogue` names them and `stylecore.presets.lookup` caches what they draw.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from stylecore.images import to_uint8


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


def mosaic(size: int, seed: int) -> np.ndarray:
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


def pointillism(size: int, seed: int) -> np.ndarray:
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


def crosshatch(size: int, seed: int) -> np.ndarray:
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


def swirl(size: int, seed: int) -> np.ndarray:
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
