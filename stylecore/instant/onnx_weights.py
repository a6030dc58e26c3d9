"""The network's weights out of the two released ONNX graphs: every int8 or int32 constant
behind a DequantizeLinear node dequantised, ``(q - zero_point) * scale`` per output channel, and
renamed and transposed to the keys and Keras layouts of :mod:`stylecore.instant.architecture`.
"""

from __future__ import annotations

import numpy as np

from stylecore.instant.architecture import expected_shapes
from stylecore.instant.onnx_format import Graph, Node, OnnxFormatError, read_graph


def _dequantised(graph: Graph, node: Node) -> tuple[str, np.ndarray]:
    """(the constant's name, its float32 value) for a DequantizeLinear of a constant."""
    name = node.inputs[0]
    values = graph.tensors[name].astype(np.float64)
    scale = graph.tensors[node.inputs[1]].astype(np.float64)
    zero = (graph.tensors[node.inputs[2]].astype(np.float64) if len(node.inputs) > 2
            else np.zeros_like(scale))
    if scale.ndim == 1 and values.ndim > 0:
        axis = int(node.attributes.get("axis", 1))  # type: ignore[arg-type]
        shape = [1] * values.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return name, ((values - zero) * scale).astype(np.float32)


def _constants(graph: Graph) -> dict[str, tuple[str, np.ndarray]]:
    """DequantizeLinear outputs of constants: output name -> (constant's name, value)."""
    found = {}
    for node in graph.nodes:
        if node.op == "DequantizeLinear" and node.inputs[0] in graph.tensors:
            found[node.outputs[0]] = _dequantised(graph, node)
    return found


def _layer_key(weights_name: str) -> str:
    name = weights_name.removeprefix("style_params/")
    for suffix in ("/depthwise_weights", "/weights"):
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    else:
        raise OnnxFormatError(f"unexpected weights name {weights_name!r}")
    if name.endswith("/StyleNorm/Conv_1"):
        return name.removesuffix("/StyleNorm/Conv_1") + "/gamma"
    if name.endswith("/StyleNorm/Conv"):
        return name.removesuffix("/StyleNorm/Conv") + "/beta"
    return name


def _read(graph: Graph) -> dict[str, np.ndarray]:
    constants = _constants(graph)
    arrays: dict[str, np.ndarray] = {}
    for node in graph.nodes:
        if node.op == "Conv":
            if node.inputs[1] not in constants:
                raise OnnxFormatError(f"convolution {node.name!r} without constant weights")
            weights_name, kernel = constants[node.inputs[1]]
            key = _layer_key(weights_name)
            out, per_group = kernel.shape[:2]
            groups = int(node.attributes.get("group", 1))  # type: ignore[arg-type]
            if key.endswith(("/gamma", "/beta")):
                kernel = kernel.reshape(out, per_group).T  # a dense map of the style vector
            elif groups == out and per_group == 1 and groups > 1:
                kernel = kernel.transpose(2, 3, 0, 1)  # depthwise: (kh, kw, channels, 1)
            else:
                kernel = kernel.transpose(2, 3, 1, 0)  # (kh, kw, in, out)
            bias = (constants[node.inputs[2]][1] if len(node.inputs) > 2 and node.inputs[2]
                    else np.zeros(out, np.float32))
            arrays[f"{key}/kernel"], arrays[f"{key}/bias"] = kernel, bias.reshape(out)
        elif node.op == "Add" and "/StyleNorm/batchnorm/add_prequant" in node.outputs[0]:
            # variance + epsilon; the converter shares one epsilon constant between layers
            epsilon = [constants[i][1] for i in node.inputs if i in constants]
            if len(epsilon) != 1:
                raise OnnxFormatError(f"{node.outputs[0]}: no constant epsilon")
            base = node.outputs[0].split("/StyleNorm/")[0]
            arrays[f"{base}/epsilon"] = epsilon[0].reshape(())
    return arrays


def weights_from_onnx(predict: bytes, transform: bytes) -> dict[str, np.ndarray]:
    """All the network's arrays from the bytes of ``arbitrary_predict.onnx`` and
    ``arbitrary_transform.onnx``, float32, checked against the layer table."""
    arrays = {**_read(read_graph(predict)), **_read(read_graph(transform))}
    return check_shapes(arrays)


def check_shapes(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Float32 copies of exactly the arrays the network needs; `OnnxFormatError` names the first
    one missing, misshapen or not finite."""
    checked = {}
    for key, shape in expected_shapes().items():
        if key not in arrays:
            raise OnnxFormatError(f"no weights for {key}")
        array = np.asarray(arrays[key], dtype=np.float32)
        if array.shape != shape:
            raise OnnxFormatError(f"{key}: shape {array.shape}, expected {shape}")
        if not np.isfinite(array).all():
            raise OnnxFormatError(f"{key}: non-finite values")
        checked[key] = array
    return checked
