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
    """The stylising network. `__call__(content, maps)`: content (1, H, W, 3) in [0, 1] with H
    and W multiples of 4, and the gammas and betas of `style_maps`; returns (1, H, W, 3) in
    [0, 1].

    The released layers are rewritten into equivalent ones that CPUs run several times faster
    (same sums, other order; `_prepared` explains each): the 9x9 convolutions and the stride-2
    ones work on 2x2 pixel blocks stacked as channels, and each nearest-neighbour upsampling
    followed by a 3x3 convolution becomes one convolution at the low resolution whose four
    output groups are the four pixels of each 2x2 block.
    """

    def __init__(self, arrays: Arrays, dtype: str):
        self.layers: list[tuple[TransformerConv, str, keras.layers.Conv2D]] = []
        for spec in TRANSFORMER_CONVS:
            form, kernel, bias = _prepared(spec, arrays[f"{spec.name}/kernel"],
                                           arrays[f"{spec.name}/bias"])
            conv = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[0], padding="valid",
                                       dtype=dtype, name=spec.name.replace("/", "_"))
            conv.build((1, None, None, kernel.shape[2]))
            conv.set_weights([kernel, bias])
            self.layers.append((spec, form, conv))
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
        shortcut = x
        offset, index = 0, 0
        for spec, form, conv in self.layers:
            if spec.residual == "start":
                shortcut = x
            x = _convolved(x, spec, form, conv)
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


def _prepared(spec: TransformerConv, kernel: np.ndarray, bias: np.ndarray):
    """(form, kernel, bias) of the layer as it runs.

    - "blocks" (a stride-1 convolution over 5x5 or larger): the padded input in 2x2 blocks
      (space_to_depth), a convolution of ceil((k + 1) / 2) blocks giving the 2x2 output pixels
      of each block as 4 channel groups (depth_to_space): tap (dy, dx) of output pixel (a, b)
      sits at block (by, bx) and input pixel (p, q) where dy = 2 by + p - a;
    - "strided" (stride 2): the padded input in 2x2 blocks, a 2x2 convolution over them;
    - "upsampled": nearest-neighbour upsampling, reflect padding and a 3x3 convolution equal
      symmetric padding and a 3x3 convolution at the low resolution with one output group per
      output pixel of each 2x2 block: output row 2i + a sees low rows i - 1, i, i (a = 0) or
      i, i, i + 1 (a = 1), so its kernel rows are summed accordingly;
    - "plain": as released.
    """
    k, channels_in, channels_out = spec.kernel, spec.channels_in, spec.channels_out
    if spec.upsample:
        taps = {0: ((0, 0), (1, 1), (1, 2)), 1: ((1, 0), (1, 1), (2, 2))}  # (low row, k row)
        out = np.zeros((3, 3, channels_in, 4, channels_out), np.float32)
        for a in (0, 1):
            for b in (0, 1):
                for low_y, ky in taps[a]:
                    for low_x, kx in taps[b]:
                        out[low_y, low_x, :, a * 2 + b] += kernel[ky, kx]
        return "upsampled", out.reshape(3, 3, channels_in, 4 * channels_out), np.tile(bias, 4)
    if spec.stride == 2:
        out = np.zeros((2, 2, 2, 2, channels_in, channels_out), np.float32)
        for dy in range(k):
            for dx in range(k):
                out[dy // 2, dx // 2, dy % 2, dx % 2] = kernel[dy, dx]
        return "strided", out.reshape(2, 2, 4 * channels_in, channels_out), bias
    if k >= 5:
        blocks = (k + 2) // 2
        out = np.zeros((blocks, blocks, 2, 2, channels_in, 2, 2, channels_out), np.float32)
        for by in range(blocks):
            for bx in range(blocks):
                for p in (0, 1):
                    for q in (0, 1):
                        for a in (0, 1):
                            for b in (0, 1):
                                dy, dx = 2 * by + p - a, 2 * bx + q - b
                                if 0 <= dy < k and 0 <= dx < k:
                                    out[by, bx, p, q, :, a, b] = kernel[dy, dx]
        shape = (blocks, blocks, 4 * channels_in, 4 * channels_out)
        return "blocks", out.reshape(shape), np.tile(bias, 4)
    return "plain", kernel, bias


def _convolved(x: tf.Tensor, spec: TransformerConv, form: str, conv) -> tf.Tensor:
    pad = spec.kernel // 2
    if form == "upsampled":
        x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
        return tf.nn.depth_to_space(tf.cast(conv(x), tf.float32), 2)
    x = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    if form == "strided":
        return tf.cast(conv(tf.nn.space_to_depth(x, 2)), tf.float32)
    if form == "blocks":
        return tf.nn.depth_to_space(tf.cast(conv(tf.nn.space_to_depth(x, 2)), tf.float32), 2)
    return tf.cast(conv(x), tf.float32)


def _at_size(values: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    if values.shape[1] == 1 and values.shape[2] == 1:
        return values
    return tf.image.resize(values, tf.shape(x)[1:3], method="area")


def _instance_norm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: float):
    mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + epsilon) * gamma + beta
