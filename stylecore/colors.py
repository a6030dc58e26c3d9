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
    rng = np.random.default_rng(seed)
    src = source.reshape(-1, 3).astype(np.float64)
    ref = reference.reshape(-1, 3).astype(np.float64)
    levels = np.linspace(0.0, 1.0, 256)
    for _ in range(iterations):
        rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        src_rot, ref_rot = src @ rotation, ref @ rotation
        for axis in range(3):
            src_q = np.quantile(src_rot[:, axis], levels)
            ref_q = np.quantile(ref_rot[:, axis], levels)
            src_rot[:, axis] = np.interp(src_rot[:, axis], src_q, ref_q)
        src = src_rot @ rotation.T
    return np.clip(src, 0.0, 1.0).reshape(source.shape).astype(np.float32)
