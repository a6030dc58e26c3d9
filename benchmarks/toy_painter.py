"""`ToyPainter`: a cheap deterministic stand-in for a clip's frame painter (a palette transfer,
flattened colours and a fresh random shimmer on every frame), for tests and benchmarks
(tests/test_clips.py, benchmarks/animation.py). Its shimmer flickers the way an independent
network's strokes boil, so it shows whether carrying strokes steadies them
(`stylecore.clips.temporal`)."""

from __future__ import annotations

import cv2
import numpy as np


class ToyPainter:
    """A cheap, deterministic, flickering painter: `style`'s colour mean and covariance
    (computed once), colours flattened to a few levels, and a new smooth random shimmer of
    amplitude `shimmer` on every call (seeded, so runs repeat)."""

    def __init__(self, style: np.ndarray | None = None, shimmer: float = 0.08,
                 seed: int = 0) -> None:
        self.shimmer = shimmer
        self._rng = np.random.default_rng(seed)
        if style is None:
            self._mean = np.array([0.55, 0.45, 0.35], np.float32)
            self._root = np.diag([0.2, 0.18, 0.16]).astype(np.float32)
        else:
            pixels = np.asarray(style, np.float64).reshape(-1, 3)
            self._mean = pixels.mean(axis=0).astype(np.float32)
            self._root = _sqrtm(np.cov(pixels, rowvar=False) + 1e-5 * np.eye(3))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        smooth = cv2.medianBlur(np.rint(np.clip(frame, 0, 1) * 255).astype(np.uint8), 5)
        pixels = smooth.reshape(-1, 3).astype(np.float64) / 255.0
        centred = pixels - pixels.mean(axis=0)
        whiten = _sqrtm(np.cov(centred, rowvar=False) + 1e-4 * np.eye(3), inverse=True)
        recoloured = centred @ (self._root @ whiten).T + self._mean
        flat = np.round(recoloured * 6.0) / 6.0  # a few flat levels per channel: "paint"
        image = flat.reshape(height, width, 3).astype(np.float32)
        coarse = self._rng.normal(size=(max(2, height // 12), max(2, width // 12), 3))
        shimmer = cv2.resize(coarse.astype(np.float32), (width, height),
                             interpolation=cv2.INTER_CUBIC)
        return np.clip(image + self.shimmer * shimmer, 0.0, 1.0)


def _sqrtm(cov: np.ndarray, *, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 1e-12)
    roots = values ** -0.5 if inverse else values ** 0.5
    return ((vectors * roots) @ vectors.T).astype(np.float32)
