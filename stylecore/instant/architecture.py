"""The layer table of Magenta's arbitrary image stylisation network, lite variant (Ghiasi et al.
2017, "Exploring the structure of a real-time, arbitrary neural artistic stylization network"):
every weight's name and shape, shared by the weights file reader and the Keras builder.

Names are the released graph's, shortened: ``MobilenetV2/expanded_conv_3/expand`` in the style
predictor, ``transformer/residual/residual2/conv1`` in the transformer. Kernels are in Keras'
layout: (height, width, in, out) for convolutions, (height, width, channels, 1) for depthwise
ones. A conditional instance normalisation's ``gamma`` and ``beta`` are dense maps of the style
vector, (100, channels) and (channels,), and its ``epsilon`` a scalar.
"""

from __future__ import annotations

from dataclasses import dataclass

STYLE_DIMENSIONS = 100
STYLE_INPUT_SIZE = 256
"""The predictor was trained on (and the released graph fixes) 256x256 style images."""

# MobileNetV2 (width 1.0): (expansion, output channels, repeats, first stride) per stage.
_MOBILENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                     (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


@dataclass(frozen=True)
class Bottleneck:
    """One inverted residual block of MobileNetV2."""

    name: str
    channels_in: int
    expanded: int
    """Channels after the 1x1 expansion (== channels_in when the block has none)."""
    channels_out: int
    stride: int

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.channels_in == self.channels_out


def _bottlenecks() -> tuple[Bottleneck, ...]:
    blocks, channels, index = [], 32, 0
    for expansion, out, repeats, stride in _MOBILENET_STAGES:
        for repeat in range(repeats):
            name = "expanded_conv" + (f"_{index}" if index else "")
            blocks.append(Bottleneck(f"MobilenetV2/{name}", channels, channels * expansion, out,
                                     stride if repeat == 0 else 1))
            channels, index = out, index + 1
    return tuple(blocks)


BOTTLENECKS = _bottlenecks()
PREDICTOR_STEM = "MobilenetV2/Conv"
PREDICTOR_HEAD = "MobilenetV2/Conv_1"
PREDICTOR_BOTTLENECK = "mobilenet_conv/Conv"
"""The 1x1 convolution from MobileNetV2's 1280 pooled features to the 100-number style vector."""


@dataclass(frozen=True)
class TransformerConv:
    name: str
    kernel: int
    channels_in: int
    channels_out: int
    stride: int = 1
    upsample: bool = False
    """Nearest-neighbour upsampling by 2 before the convolution."""
    normalised: bool = True
    """Conditional instance normalisation after it (else the bias alone)."""
    activation: str = "relu"
    residual: str = ""
    """"start": the block's input is kept; "end": it is added to this layer's output."""


TRANSFORMER_CONVS: tuple[TransformerConv, ...] = (
    TransformerConv("transformer/contract/conv1", 9, 3, 8, normalised=False),
    TransformerConv("transformer/contract/conv2", 3, 8, 16, stride=2, normalised=False),
    TransformerConv("transformer/contract/conv3", 3, 16, 32, stride=2, normalised=False),
    *(TransformerConv(f"transformer/residual/residual{i}/conv{j}", 3, 32, 32,
                      activation="relu" if j == 1 else "linear",
                      residual="start" if j == 1 else "end")
      for i in range(1, 6) for j in (1, 2)),
    TransformerConv("transformer/expand/conv1/conv", 3, 32, 16, upsample=True),
    TransformerConv("transformer/expand/conv2/conv", 3, 16, 8, upsample=True),
    TransformerConv("transformer/expand/conv3/conv", 9, 8, 3, activation="sigmoid"),
)
"""In order. Residual block i is x + conv2(conv1(x)); every convolution reflect-pads its input
by kernel // 2 first, so the picture keeps its size (a quarter of it between contract and
expand: sizes must be multiples of 4)."""


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every array the network needs, by its key in the weights file."""
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(name: str, kernel: int, channels_in: int, channels_out: int) -> None:
        shapes[f"{name}/kernel"] = (kernel, kernel, channels_in, channels_out)
        shapes[f"{name}/bias"] = (channels_out,)

    conv(PREDICTOR_STEM, 3, 3, 32)
    for block in BOTTLENECKS:
        if block.expanded != block.channels_in:
            conv(f"{block.name}/expand", 1, block.channels_in, block.expanded)
        shapes[f"{block.name}/depthwise/kernel"] = (3, 3, block.expanded, 1)
        shapes[f"{block.name}/depthwise/bias"] = (block.expanded,)
        conv(f"{block.name}/project", 1, block.expanded, block.channels_out)
    conv(PREDICTOR_HEAD, 1, 320, 1280)
    conv(PREDICTOR_BOTTLENECK, 1, 1280, STYLE_DIMENSIONS)
    for layer in TRANSFORMER_CONVS:
        conv(layer.name, layer.kernel, layer.channels_in, layer.channels_out)
        if layer.normalised:
            for part in ("gamma", "beta"):
                shapes[f"{layer.name}/{part}/kernel"] = (STYLE_DIMENSIONS, layer.channels_out)
                shapes[f"{layer.name}/{part}/bias"] = (layer.channels_out,)
            shapes[f"{layer.name}/epsilon"] = ()
    return shapes
