"""VGG19's convolution weights as files: the layer table, reading, checking and writing.

Two formats are read, told apart by content: Keras' official ``.h5`` (any Keras version's
dataset names) and the project's own ``.npz`` (``{layer}/kernel``, ``{layer}/bias``), which is
also what :func:`write_npz` writes. :func:`validate` checks a set of weights against
:data:`VGG19_SHAPES`. Where the files come from is :mod:`stylecore.weights.vgg19`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import h5py
import numpy as np

from stylecore.weights.sources import Unavailable, save_npz_atomically

Weights = dict[str, tuple[np.ndarray, np.ndarray]]
"""``{layer: (kernel (3, 3, in, out), bias (out,))}``."""

VGG19_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))
"""(block, number of convolutions, filters), as in keras.applications.VGG19."""
VGG19_CONV_LAYERS: tuple[str, ...] = tuple(
    f"block{b}_conv{i}" for b, n, _ in VGG19_BLOCKS for i in range(1, n + 1)
)


def _expected_shapes() -> dict[str, tuple[int, int, int, int]]:
    shapes, channels = {}, 3
    for b, n, filters in VGG19_BLOCKS:
        for i in range(1, n + 1):
            shapes[f"block{b}_conv{i}"] = (3, 3, channels, filters)
            channels = filters
    return shapes


VGG19_SHAPES = _expected_shapes()
"""Each convolution's kernel shape: (3, 3, input channels, filters)."""


def validate(weights: Weights) -> Weights:
    """Checks all 16 layers are there with VGG19's shapes; returns float32 read-only copies."""
    checked = {}
    for layer, shape in VGG19_SHAPES.items():
        if layer not in weights:
            raise Unavailable(f"no weights for {layer}")
        kernel, bias = (np.array(a, dtype=np.float32) for a in weights[layer])
        if kernel.shape != shape or bias.shape != shape[-1:]:
            raise Unavailable(
                f"{layer}: kernel {kernel.shape} bias {bias.shape}, expected {shape} {shape[-1:]}"
            )
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise Unavailable(f"{layer}: non-finite values")
        # Shared by every caller through the memo, so nobody may modify them in place.
        kernel.flags.writeable = bias.flags.writeable = False
        checked[layer] = (kernel, bias)
    return checked


def _read_npz(path: Path) -> Weights:
    with np.load(path, allow_pickle=False) as z:
        try:
            return {layer: (z[f"{layer}/kernel"], z[f"{layer}/bias"]) for layer in VGG19_SHAPES}
        except KeyError as e:
            raise Unavailable(f"missing key {e.args[0]}") from None


def _read_keras_h5(path: Path) -> Weights:
    """Reads a legacy Keras h5 weights file (one group per layer, as the official file is).

    Dataset names differ between Keras versions (``block1_conv1_W_1:0``, ``kernel:0``...), so
    each layer's kernel and bias are told apart by rank instead.
    """
    weights = {}
    with h5py.File(path, "r") as f:
        root = f.get("model_weights", f)  # also accept a whole saved model
        for layer in VGG19_SHAPES:
            if layer not in root:
                raise Unavailable(f"no group {layer}")
            arrays: list[np.ndarray] = []

            def collect(_name: str, obj: object, arrays: list[np.ndarray] = arrays) -> None:
                if isinstance(obj, h5py.Dataset):
                    arrays.append(obj[()])

            root[layer].visititems(collect)
            kernels = [a for a in arrays if a.ndim == 4]
            biases = [a for a in arrays if a.ndim == 1]
            if len(kernels) != 1 or len(biases) != 1:
                raise Unavailable(f"{layer}: expected one kernel and one bias")
            weights[layer] = (kernels[0], biases[0])
    return weights


def read_weights_file(path: Path) -> Weights:
    """Reads either format, told apart by content rather than by name."""
    if not path.is_file():
        raise Unavailable("not found")
    if h5py.is_hdf5(path):
        weights = _read_keras_h5(path)
    elif zipfile.is_zipfile(path):
        weights = _read_npz(path)
    else:
        raise Unavailable("neither a Keras .h5 nor a .npz weights file")
    return validate(weights)


def write_npz(weights: Weights, target: Path) -> Path:
    """Writes our ``.npz`` atomically, so a crash never leaves a half-written file."""
    arrays = {}
    for layer, (kernel, bias) in weights.items():
        arrays[f"{layer}/kernel"], arrays[f"{layer}/bias"] = kernel, bias
    return save_npz_atomically(arrays, target)
