"""Magenta's arbitrary stylisation network rebuilt in Keras from its released weights: the
MobileNetV2 style predictor (a painting -> 100 numbers) and the transformer (a photo and those
100 numbers -> a painting), whose conditional instance normalisation takes its scale and shift
from the style vector.

The layer order, padding and activations are the released graph's (see
:mod:`stylecore.instant.architecture`). Convolutions run in the requested Keras dtype policy;
normalisation statistics and the style maps are float32.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from stylecore.instant.architecture import (
    BOTTLENECKS,
    PREDICTOR_BOTTLENECK,
    PREDICTOR_HEAD,
    PREDICTOR_STEM,
    STYLE_DIMENSIONS,
    TRANSFORMER_CONVS,
    TransformerConv,
)

Arrays = dict[str, np.ndarray]


def _loaded(layer: keras.layers.Layer, shape: tuple, arrays: Arrays, name: str):
    layer.build(shape)
    layer.set_weights([arrays[f"{name}/kernel"], arrays[f"{name}/bias"]])
    return layer


def build_predictor(arrays: Arrays, dtype: str) -> keras.Model:
    """(batch, H, W, 3) in [0, 1] -> (batch, 100) style vectors. The released graph fixes the
    style image at 256x256; the network itself accepts any size."""

    def conv(x, name: str, filters: int, kernel: int = 1, strides: int = 1, relu6: bool = True):
        layer = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same",
                                    dtype=dtype, name=name.replace("/", "_"))
        x = _loaded(layer, x.shape, arrays, name)(x)
        return keras.layers.ReLU(6.0, dtype=dtype)(x) if relu6 else x

    inputs = keras.Input((None, None, 3), name="style_image")
    x = conv(inputs, PREDICTOR_STEM, 32, 3, strides=2)
    for block in BOTTLENECKS:
        shortcut = x
        if block.expanded != block.channels_in:
            x = conv(x, f"{block.name}/expand", block.expanded)
        depthwise = keras.layers.DepthwiseConv2D(3, strides=block.stride, padding="same",
                                                 dtype=dtype,
                                                 name=f"{block.name}/depthwise".replace("/", "_"))
        x = _loaded(depthwise, x.shape, arrays, f"{block.name}/depthwise")(x)
        x = keras.layers.ReLU(6.0, dtype=dtype)(x)
        x = conv(x, f"{block.name}/project", block.channels_out, relu6=False)
        if block.residual:
            x = keras.layers.Add(dtype=dtype)([shortcut, x])
    x = conv(x, PREDICTOR_HEAD, 1280)
    x = keras.layers.GlobalAveragePooling2D(keepdims=True, dtype=dtype)(x)
    x = conv(x, PREDICTOR_BOTTLENECK, STYLE_DIMENSIONS, relu6=False)
    outputs = keras.layers.Reshape((STYLE_DIMENSIONS,), dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="style_predictor")
    model.trainable = False
    return model


class Transformer:
    """The stylising network. `__call__(content, gamma_beta)`: content (1, H, W, 3) in [0, 1]
    with H and W multiples of 4, and the per-layer (gamma, beta) of `style_maps`; returns
    (1, H, W, 3) in [0, 1]."""

    def __init__(self, arrays: Arrays, dtype: str):
        self.layers: list[tuple[TransformerConv, keras.layers.Conv2D]] = []
        for spec in TRANSFORMER_CONVS:
            conv = keras.layers.Conv2D(spec.channels_out, spec.kernel, strides=spec.stride,
                                       padding="valid", dtype=dtype,
                                       name=spec.name.replace("/", "_"))
            self.layers.append(
                (spec, _loaded(conv, (1, None, None, spec.channels_in), arrays, spec.name)))
        normalised = [spec for spec in TRANSFORMER_CONVS if spec.normalised]
        # The style maps of all layers at once: one matrix product per style vector.
        self.names = [spec.name for spec in normalised]
        self.widths = [spec.channels_out for spec in normalised]
        self.style_kernel = tf.constant(np.concatenate(
            [arrays[f"{n}/{part}/kernel"] for n in self.names for part in ("gamma", "beta")],
            axis=1))
        self.style_bias = tf.constant(np.concatenate(
            [arrays[f"{n}/{part}/bias"] for n in self.names for part in ("gamma", "beta")]))
        self.epsilon = {n: float(arrays[f"{n}/epsilon"]) for n in self.names}

    def style_maps(self, vectors: tf.Tensor) -> tf.Tensor:
        """(batch, 100) style vectors -> (batch, sum of 2 x channels) gammas and betas, in
        layer order. Linear in the vector, so mixing vectors mixes these the same way."""
        return tf.matmul(vectors, self.style_kernel) + self.style_bias

    def __call__(self, content: tf.Tensor, maps: tf.Tensor) -> tf.Tensor:
        """`maps`: (1, 1, 1, n) for the whole picture, or (1, H, W, n) per pixel (then each
        layer takes it at its own resolution by area averaging)."""
        x = tf.cast(content, tf.float32)
        offset, index = 0, 0
        shortcut = x
        for spec, conv in self.layers:
            if spec.residual == "start":
                shortcut = x
            if spec.upsample:
                x = tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)
            pad = spec.kernel // 2
            x = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
            x = tf.cast(conv(x), tf.float32)
            if spec.normalised:
                width = self.widths[index]
                gamma = maps[..., offset:offset + width]
                beta = maps[..., offset + width:offset + 2 * width]
                offset, index = offset + 2 * width, index + 1
                x = _instance_norm(x, _at_size(gamma, x), _at_size(beta, x),
                                   self.epsilon[spec.name])
            if spec.activation == "relu":
                x = tf.nn.relu(x)
            elif spec.activation == "sigmoid":
                x = tf.sigmoid(x)
            if spec.residual == "end":
                x = shortcut + x
        return x


def _at_size(values: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    if values.shape[1] == 1 and values.shape[2] == 1:
        return values
    return tf.image.resize(values, tf.shape(x)[1:3], method="area")


def _instance_norm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: float):
    mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + epsilon) * gamma + beta
