"""A minimal reader of ONNX model files (protobuf), with numpy only: the graph's nodes and its
constant tensors, enough to take the released weights out of Magenta's networks at fetch time.

ONNX files are protocol buffers (onnx/onnx.proto). Only the fields read here are decoded;
everything else is skipped by its wire type. The `onnx` package is not needed at run time.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np


class OnnxFormatError(ValueError):
    """The bytes are not a well-formed ONNX model of the kind read here."""


# onnx.TensorProto.DataType -> numpy
_DTYPES = {
    1: np.dtype("<f4"), 2: np.dtype("u1"), 3: np.dtype("i1"), 5: np.dtype("<i2"),
    6: np.dtype("<i4"), 7: np.dtype("<i8"), 9: np.dtype("?"), 10: np.dtype("<f2"),
    11: np.dtype("<f8"),
}


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    name: str = ""
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass
class Graph:
    nodes: list[Node]
    tensors: dict[str, np.ndarray]
    """Initializers and Constant nodes' values, by output name."""
    inputs: list[str]
    outputs: list[str]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise OnnxFormatError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise OnnxFormatError("varint too long")


def _fields(data: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value): an int for varints and fixed numbers, bytes otherwise."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
            if pos > len(data):
                raise OnnxFormatError("truncated field")
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise OnnxFormatError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _ints(wire: int, value: object) -> list[int]:
    """A repeated int64 field, packed (bytes) or not (one int)."""
    if wire == 0:
        return [_signed(int(value))]  # type: ignore[arg-type]
    out, pos, raw = [], 0, bytes(value)  # type: ignore[arg-type]
    while pos < len(raw):
        v, pos = _varint(raw, pos)
        out.append(_signed(v))
    return out


def _tensor(data: bytes) -> tuple[str, np.ndarray]:
    dims: list[int] = []
    dtype_code, name, raw = 0, "", None
    floats: list[float] = []
    int32s: list[int] = []
    int64s: list[int] = []
    for number, wire, value in _fields(data):
        if number == 1:
            dims += _ints(wire, value)
        elif number == 2:
            dtype_code = int(value)  # type: ignore[arg-type]
        elif number == 4:
            raw_floats = bytes(value) if wire == 2 else value  # type: ignore[arg-type]
            floats += list(struct.unpack(f"<{len(raw_floats) // 4}f", raw_floats))
        elif number == 5:
            int32s += _ints(wire, value)
        elif number == 7:
            int64s += _ints(wire, value)
        elif number == 8:
            name = bytes(value).decode()  # type: ignore[arg-type]
        elif number == 9:
            raw = bytes(value)  # type: ignore[arg-type]
        elif number == 13:
            raise OnnxFormatError(f"tensor {name!r} keeps its data in an external file")
    if dtype_code not in _DTYPES:
        raise OnnxFormatError(f"tensor {name!r}: unsupported data type {dtype_code}")
    dtype = _DTYPES[dtype_code]
    if raw is not None:
        array = np.frombuffer(raw, dtype=dtype)
    elif dtype_code == 1:
        array = np.array(floats, dtype=dtype)
    elif dtype_code == 7:
        array = np.array(int64s, dtype=dtype)
    else:  # int8, uint8, int16, int32, bool travel in int32_data
        array = np.array(int32s, dtype=np.int64).astype(dtype)
    count = int(np.prod(dims)) if dims else 1
    if array.size != count:
        raise OnnxFormatError(f"tensor {name!r}: {array.size} values for shape {dims}")
    return name, array.reshape(dims).copy()


def _attribute(data: bytes) -> tuple[str, object]:
    name, single, ints, floats = "", None, [], []
    for number, wire, value in _fields(data):
        if number == 1:
            name = bytes(value).decode()  # type: ignore[arg-type]
        elif number == 2:
            single = struct.unpack("<f", value)[0]  # type: ignore[arg-type]
        elif number == 3:
            single = _signed(int(value))  # type: ignore[arg-type]
        elif number == 4:
            single = bytes(value)  # type: ignore[arg-type]
        elif number == 5:
            single = _tensor(bytes(value))[1]  # type: ignore[arg-type]
        elif number == 7:
            raw = bytes(value) if wire == 2 else value  # type: ignore[arg-type]
            floats += list(struct.unpack(f"<{len(raw) // 4}f", raw))
        elif number == 8:
            ints += _ints(wire, value)
    return name, ints if ints else floats if floats else single


def _node(data: bytes) -> Node:
    node = Node(op="", inputs=[], outputs=[])
    for number, _, value in _fields(data):
        if number == 1:
            node.inputs.append(bytes(value).decode())  # type: ignore[arg-type]
        elif number == 2:
            node.outputs.append(bytes(value).decode())  # type: ignore[arg-type]
        elif number == 3:
            node.name = bytes(value).decode()  # type: ignore[arg-type]
        elif number == 4:
            node.op = bytes(value).decode()  # type: ignore[arg-type]
        elif number == 5:
            key, attr = _attribute(bytes(value))  # type: ignore[arg-type]
            node.attributes[key] = attr
    return node


def _value_name(data: bytes) -> str:
    for number, _, value in _fields(data):
        if number == 1:
            return bytes(value).decode()  # type: ignore[arg-type]
    return ""


def read_graph(model: bytes) -> Graph:
    """The main graph of an ONNX model file's bytes."""
    graph_bytes = next((bytes(v) for n, w, v in _fields(model) if n == 7 and w == 2), None)
    if graph_bytes is None:
        raise OnnxFormatError("no graph in the model")
    graph = Graph(nodes=[], tensors={}, inputs=[], outputs=[])
    for number, _, value in _fields(graph_bytes):
        if number == 1:
            graph.nodes.append(_node(bytes(value)))  # type: ignore[arg-type]
        elif number == 5:
            name, array = _tensor(bytes(value))  # type: ignore[arg-type]
            graph.tensors[name] = array
        elif number == 11:
            graph.inputs.append(_value_name(bytes(value)))  # type: ignore[arg-type]
        elif number == 12:
            graph.outputs.append(_value_name(bytes(value)))  # type: ignore[arg-type]
    for node in graph.nodes:
        if node.op == "Constant" and isinstance(node.attributes.get("value"), np.ndarray):
            graph.tensors[node.outputs[0]] = node.attributes["value"]  # type: ignore[assignment]
    graph.inputs = [name for name in graph.inputs if name not in graph.tensors]
    return graph
