"""Colour preservation for style transfer (Gatys et al. 2016, "Preserving Color in Neural
Artistic Style Transfer"): either keep only the stylised luminance, or recolour the style
image to the content's palette before the run.

All functions take and return float (H, W, 3) RGB arrays in [0, 1].
"""

from __future__ import annotations

import numpy as np

from .images import resize_to

# NTSC YIQ, the colour space Gatys et al. use for luminance-only transfer.
_RGB_TO_YIQ = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=np.float64,
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    """RGB (..., 3) to YIQ (..., 3); Y is the luminance, I and Q the chroma."""
    return np.asarray(image, dtype=np.float64) @ _RGB_TO_YIQ.T


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    """YIQ (..., 3) back to RGB (..., 3), unclipped."""
    return np.asarray(image, dtype=np.float64) @ _YIQ_TO_RGB.T


def transfer_luminance(stylised: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Keep the luminance (Y) of `stylised` and the chroma (I, Q) of `content`.

    `content` is resized to the stylised image's size when the shapes differ.
    Returns float32 RGB clipped to [0, 1].
    """
    stylised = _check_rgb(stylised, "stylised")
    content = _check_rgb(content, "content")
    if content.shape != stylised.shape:
        content = resize_to(content, stylised.shape[0], stylised.shape[1])
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = rgb_to_yiq(stylised)[..., 0]
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0).astype(np.float32)


def match_color_histogram(
    source: np.ndarray, reference: np.ndarray, *, eps: float = 1e-5
) -> np.ndarray:
    """Recolour `source` so its colour mean and covariance match those of `reference`.

    Applies x' = A (x - mu_s) + mu_r with A = C_r^(1/2) C_s^(-1/2) (symmetric square roots
    from eigen-decompositions), so that A C_s A^T = C_r. `eps` regularises flat images.
    Returns float32 RGB clipped to [0, 1], the shape of `source`.
    """
    source = _check_rgb(source, "source")
    reference = _check_rgb(reference, "reference")
    src = source.reshape(-1, 3).astype(np.float64)
    ref = reference.reshape(-1, 3).astype(np.float64)
    mu_s, mu_r = src.mean(axis=0), ref.mean(axis=0)
    cov_s = np.cov(src, rowvar=False) + eps * np.eye(3)
    cov_r = np.cov(ref, rowvar=False) + eps * np.eye(3)
    transform = _sqrtm(cov_r) @ _sqrtm(cov_s, inverse=True)
    out = (src - mu_s) @ transform.T + mu_r
    return np.clip(out, 0.0, 1.0).reshape(source.shape).astype(np.float32)


def _sqrtm(cov: np.ndarray, *, inverse: bool = False) -> np.ndarray:
    """Symmetric (inverse) square root of a symmetric positive semi-definite 3x3 matrix."""
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 1e-12)
    roots = values**-0.5 if inverse else values**0.5
    return (vectors * roots) @ vectors.T


def _check_rgb(image: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{name} must be an (H, W, 3) RGB array, got shape {arr.shape}")
    return arr


def match_color_distribution(
    source: np.ndarray, reference: np.ndarray, *, iterations: int = 12, seed: int = 0
) -> np.ndarray:
    """Recolour `source` so its whole RGB distribution matches `reference`'s, not only its mean
    and covariance: iterative distribution transfer (Pitié et al. 2005). Each round rotates
    the colour space at random and maps each axis' values to the reference's quantiles, so a
    palette of a few distinct colours (a painting's) is reached, which one linear map cannot.
    Returns float32 RGB clipped to [0, 1], the shape of `source`."""
    source = _check_rgb(source, "source")
    reference = _check_rgb(reference, "reference")
    src = source.reshape(-1, 3).astype(np.float64)
    ref = reference.reshape(-1, 3).astype(np.float64)
    (src,) = _distribution_transfer(src, ref, iterations, seed)
    return np.clip(src, 0.0, 1.0).reshape(source.shape).astype(np.float32)


def pull_towards_palette(
    image: np.ndarray, references: list[tuple[np.ndarray, float]], amount: float
) -> np.ndarray:
    """`image` moved `amount` of the way towards the references' whole colour distributions
    (each reference's recolouring weighted by its weight, as `match_color_distribution`
    recolours), cheaply: the transfer is fitted on a sample of the pixels and tabulated on a
    17x17x17 RGB grid, which every pixel reads by trilinear interpolation (tens of
    milliseconds at 384 px, where the exact transfer takes a second)."""
    image = _check_rgb(image, "image")
    if amount == 0:
        return image.astype(np.float32)
    grid = np.linspace(0.0, 1.0, _GRID)
    lattice = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    change = np.zeros_like(lattice)
    pixels = _sample(image)
    for reference, weight in references:
        reference = _check_rgb(reference, "reference")
        _, mapped = _distribution_transfer(pixels, _sample(reference), 12, 0, also=lattice)
        change += weight * (np.clip(mapped, 0.0, 1.0) - lattice)
    table = (lattice + amount * change).reshape(_GRID, _GRID, _GRID, 3).astype(np.float32)
    return np.clip(_trilinear(table, image), 0.0, 1.0).astype(np.float32)


_GRID = 17
_SAMPLE_PIXELS = 4096


def _sample(image: np.ndarray) -> np.ndarray:
    """About `_SAMPLE_PIXELS` evenly spread pixels: enough for 256 quantiles per axis."""
    pixels = image.reshape(-1, 3)
    return pixels[:: max(1, len(pixels) // _SAMPLE_PIXELS)].astype(np.float64)


def _distribution_transfer(src: np.ndarray, ref: np.ndarray, iterations: int, seed: int,
                           also: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Pitié's rounds fitted on (N, 3) `src` against `ref`; `also` (M, 3) rides along
    through the same per-round maps. Returns the moved `src` (and `also`)."""
    rng = np.random.default_rng(seed)
    moved = [src] if also is None else [src, also]
    for _ in range(iterations):
        rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        rotated = [_snap(points @ rotation) for points in moved]
        src_q, ref_q = _quantiles(rotated[0]), _quantiles(_snap(ref @ rotation))
        for points in rotated:
            for axis in range(3):
                points[:, axis] = np.interp(points[:, axis], src_q[:, axis], ref_q[:, axis])
        moved = [points @ rotation.T for points in rotated]
    return tuple(moved)


_SNAP = 2.0**20


def _snap(values: np.ndarray) -> np.ndarray:
    """`values` on a grid of 2**-20 (about 1e-6, far below a colour level of 1/255).

    Colours that are equal in exact arithmetic come out of a rotation a rounding error apart,
    and which error depends on the CPU's kernels. Quantile maps of a flat-colour painting are
    steps, and `np.interp` sends such near-ties to either side of a step: without the grid,
    the picture changed visibly between CPUs (and with a 1e-12 nudge to the rotation)."""
    return np.round(values * _SNAP) / _SNAP


def _quantiles(points: np.ndarray, count: int = 256) -> np.ndarray:
    """(count, 3) evenly spaced quantiles of each column, interpolated linearly as
    `np.quantile` does (one sort, faster than its partitions for this many levels)."""
    ordered = np.sort(points, axis=0)
    position = np.linspace(0.0, len(points) - 1, count)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, len(points) - 1)
    fraction = (position - below)[:, np.newaxis]
    return ordered[below] * (1 - fraction) + ordered[above] * fraction


def _trilinear(table: np.ndarray, image: np.ndarray) -> np.ndarray:
    """`image`'s colours looked up in a (g, g, g, 3) colour table over [0, 1]^3."""
    side = table.shape[0]
    position = np.clip(image.reshape(-1, 3).astype(np.float32), 0.0, 1.0) * (side - 1)
    corner = np.minimum(position.astype(np.int32), side - 2)
    upper = position - corner  # (N, 3): the weight of each axis' upper neighbour
    lower = 1 - upper
    base = (corner[:, 0] * side + corner[:, 1]) * side + corner[:, 2]
    flat = table.reshape(-1, 3)
    result = np.zeros_like(position)
    for r, g, b in np.ndindex(2, 2, 2):
        weight = ((upper if r else lower)[:, 0] * (upper if g else lower)[:, 1]
                  * (upper if b else lower)[:, 2])
        result += flat[base + ((r * side + g) * side + b)] * weight[:, np.newaxis]
    return result.reshape(image.shape)
