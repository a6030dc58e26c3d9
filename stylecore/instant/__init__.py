"""STAND-IN for the instant branch's network (drop this package at merge): a colour-statistics
transfer with posterised strokes, the same calls (`instant_painter(precision)`,
`.style_vector(style)`, `.paint(frame, vector)`), so the bot's clip jobs run before it lands."""

from __future__ import annotations

import numpy as np


class _Painter:
    def style_vector(self, style: np.ndarray) -> np.ndarray:
        pixels = np.asarray(style, dtype=np.float32).reshape(-1, 3)
        return np.concatenate([pixels.mean(0), pixels.std(0) + 1e-3]).astype(np.float32)

    def paint(self, frame: np.ndarray, vector: np.ndarray) -> np.ndarray:
        image = np.asarray(frame, dtype=np.float32)
        own = self.style_vector(image)
        out = (image - own[:3]) / own[3:] * vector[3:] + vector[:3]
        return np.clip(np.round(out * 6) / 6, 0.0, 1.0).astype(np.float32)


def instant_painter(precision: str = "auto") -> _Painter:
    return _Painter()
