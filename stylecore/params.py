"""Settings of one style-transfer run: the seed's classic configuration and the faster default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

SEED_CONTENT_LAYERS = ("block5_conv2",)
SEED_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")

Optimizer = Literal["adam", "lbfgs"]
Precision = Literal["auto", "float32", "bfloat16", "mixed_bfloat16", "mixed_float16"]
ColorMode = Literal["luminance", "histogram"]
StyleNormalisation = Literal["none", "total", "layers"]
StartPalette = Literal["covariance", "distribution"]
Engine = Literal["optimise", "instant"]
Start = Literal["photo", "instant", "instant_coarse", "instant_blend", "instant_recoloured"]


@dataclass(frozen=True)
class StyleParams:
    """Everything that decides the picture a run produces.

    The loss terms, their weights and the single scale default to the seed's; `DEFAULT`
    (what users get) changes the schedule, the start and the style term's scale, `CLASSIC` is
    the seed. `style_strength` multiplies the style weight.
    """

    size: int = 512
    """Long side of the output in pixels; the style image is scaled to the same long side."""
    steps: int = 16
    """Optimiser iterations at full size: Adam steps, or L-BFGS iterations (one evaluation
    each, rarely more)."""
    coarse_stages: tuple[tuple[float, int], ...] = ()
    """(fraction of `size`, L-BFGS iterations) of each stage run before the full-size one,
    smallest first; each stage starts from the previous result scaled up. A coarse stage
    matches the painting's colour fields and large strokes cheaply; full size adds detail."""
    style_normalisation: StyleNormalisation = "none"
    """How the style term is scaled by the painting: "none" (the seed: raw squared Gram
    errors, so a busy painting such as The Starry Night pulls several times harder than a
    calm one); "total": divided by the painting's mean squared Gram entries summed over the
    layers, keeping the seed's balance between layers; "layers": each layer divided by its
    own (as crowsonkb/style-transfer-pytorch does), so every layer counts by its relative
    error. With either, one `style_weight` suits any painting."""
    optimizer: Optimizer = "lbfgs"
    init_style_colors: float = 0.5
    """Start from the photo recoloured this far towards the style's palette (0: the photo
    itself, as the seed does). The optimiser then spends no iterations on the colours. A
    `style_strength` under 1 scales it down too."""
    start_palette: StartPalette = "covariance"
    """How the start is recoloured: "covariance" matches the painting's colour mean and
    covariance (one linear map: a painting of a few distinct colours comes out as a tinted
    photo); "distribution" matches the whole RGB distribution (`match_color_distribution`)."""
    style_strength: float = 1.0
    content_weight: float = 1e4
    style_weight: float = 1e-2
    tv_weight: float = 1e8
    content_layers: tuple[str, ...] = SEED_CONTENT_LAYERS
    style_layers: tuple[str, ...] = SEED_STYLE_LAYERS
    learning_rate: float = 0.02
    beta_1: float = 0.99
    epsilon: float = 0.1
    precision: Precision = "auto"
    """Compute type of VGG19's convolutions. "auto": `STYLECORE_PRECISION` if set, else
    bfloat16 where the CPU or GPU has fast bfloat16 arithmetic, float32 elsewhere. Losses are
    always summed in float32. ("bfloat16" is Keras' "mixed_bfloat16".)"""
    antialias: bool = False
    """Antialiased resizing of the inputs. The seed resizes with plain bilinear sampling, and
    the default keeps that: the style targets (and so the look) stay the seed's."""
    preserve_colors: ColorMode | None = None
    """Keep the content photo's colours: "luminance" transfers only brightness, "histogram"
    recolours the style image to the content's palette before the run."""
    lbfgs_memory: int = 10
    first_step: float = 0.01
    """Root-mean-square pixel change of L-BFGS's first step, taken before any curvature is known."""
    tolerance: float = 1e-5
    """L-BFGS stops early once an iteration improves the loss by less than this fraction."""
    engine: Engine = "optimise"
    """"optimise": the VGG19 optimiser (everything above); "instant": one pass of the
    feed-forward network (`stylecore.instant`) at `size`, with `style_strength`,
    `preserve_colors` and blends; the optimiser's settings do not apply."""
    instant_side: int = 384
    """The long side the instant painter paints at (at most `size`; its picture is scaled up
    to `size`). Trained on small crops, the network paints strokes the size of a painting's
    at about 384 px; painted at 512 its strokes are finer and the picture at phone scale
    further from the painting (docs/engine.md)."""
    start: Start = "photo"
    """Where the optimiser's first stage starts: "photo" (the photo, recoloured as
    `init_style_colors` says), "instant" (the instant painter's picture at full size, the
    first preview's, scaled to the stage), "instant_coarse" (painted at the stage's size),
    "instant_blend" (the mean of "photo" and "instant"), "instant_recoloured" ("instant"
    recoloured to the painting's palette as "photo" recolours the photo). Without the instant
    painter's weights: "photo"."""
    keep_faces: bool = True
    """Paint faces carefully: find them (`stylecore.faces`) and add a content term at
    `face_layers` inside a soft mask over them, so eyes, brows, nose and mouth keep their shape
    and place while the painting's colours and strokes still cover them. A photo without faces
    runs exactly as with this off."""
    face_layers: tuple[str, ...] = ("block3_conv2",)
    """Where the face term compares the picture with the photo: block3 carries the shapes of
    eyes, brows and mouth, and sees only about 32 px around each point, so the term holds the
    face without reaching past it. block4_conv2 (84 px) also held faces, but its pull spread
    into the hair, neck and background around them and left that ring unpainted (style@256
    up to 1.6x; benchmarks/faces.py, docs/engine.md)."""
    face_content_weight: float = 3e4
    """Weight of the face term (per face layer), beside `content_weight` (block5_conv2). Held at
    full size only (`face_coarse_min_px`), one weight suits 512 to 768 px: on
    benchmarks/faces.py's five pairs 3e4 keeps people at least as well as the peer on every
    pair with their faces painted (docs/engine.md has the sweeps)."""
    face_skin: float = 0.0
    """The share of the face term the skin keeps; the eyes, brows, nose and lips keep all of it
    (`stylecore.faces.face_mask`). 1 holds the whole face as the photo has it, light and shade
    included; 0 (the default since issue #31) holds only the features and leaves the skin, its
    planes and shadows, to the painting, as everywhere else in the picture."""
    face_coarse_min_px: float | None = None
    """The coarse stages after the first also hold faces at least this many pixels across at
    their size; None (the default): none does, faces are held at full size only, where the
    features are drawn. The coarse stages lay down the picture's light and shade, and a face
    held there came back as the photo under a filter (issue #31); the first stage never holds
    one."""
    fine_style_tv: float = 0.04
    """A style finer than this skips the first of several coarse stages: its total variation
    (the seed's measure, mean squared neighbour differences in [0, 1] units) at `size`, or at its
    own size where that is smaller (`stylecore.optimiser.transfer.style_roughness`).
    Shrunk to a quarter of the size, ink hatching or dots blur to a grey or a mottle, and the
    picture painted there to match that kept the careful picture further from the pattern than
    the instant one (crosshatch 0.12, pointillism 0.06; the benchmarks' paintings 0.001-0.027,
    swirl 0.03; docs/engine.md)."""
    extra: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def with_(self, **changes) -> StyleParams:
        return replace(self, **changes)



CLASSIC = StyleParams(
    size=600,
    steps=100,
    optimizer="adam",
    init_style_colors=0.0,
    precision="float32",
    keep_faces=False,
)
"""The seed script, number for number: Adam(0.02, beta_1=0.99, epsilon=0.1), 100 steps, 600 px."""

DEFAULT = StyleParams(
    coarse_stages=((0.25, 60), (0.5, 20)),
    start="instant_recoloured",
    steps=8,
    init_style_colors=1.0,
    start_palette="distribution",
    style_normalisation="total",
    style_weight=1e9,
)
"""What users get: the seed's loss terms and layers, matched coarse to fine. At a quarter of the
size (60 iterations, about 4 full-size evaluations' worth) the painting's colour fields and
large strokes take hold; half size (20) and full size (8) add the detail. It starts from the
instant picture (the job's first preview) recoloured to the painting's whole colour
distribution, so the careful picture builds on what the user has already seen (from the photo,
so recoloured, without the instant painter's weights), and the style term is scaled by the
painting's own Gram magnitude so a busy painting does not drown the photo. Every figure comes
from benchmarks/engine.py and benchmarks/faces.py (docs/engine.md)."""

QUALITY_PRESETS: dict[str, StyleParams] = {
    "fast": DEFAULT.with_(size=384, coarse_stages=((0.25, 40), (0.5, 15)), steps=6,
                          face_content_weight=4e4, face_coarse_min_px=24),
    "balanced": DEFAULT,
    "high": DEFAULT.with_(size=768, steps=10),
    "instant": DEFAULT.with_(engine="instant"),
}
"""Bot-facing quality levels; their settings come from benchmarks/engine.py and
benchmarks/faces.py --quality Q (docs/engine.md). At fast's 384 px a face is too small for six
full-size iterations to bring its features back, so its half-size stage holds faces at least
24 px across there too, and the term weighs 4e4."""

STYLE_STRENGTHS: dict[str, float] = {"low": 0.15, "normal": 1.0, "high": 3.0}


PRECISION_ENV = "STYLECORE_PRECISION"
PRECISION_CHOICES = ("auto", "float32", "bfloat16")
"""What users and operators name: "bfloat16" is Keras' "mixed_bfloat16" policy (bfloat16
convolutions, float32 variables and sums)."""


def precision_setting(environ: Mapping[str, str] | None = None) -> str:
    """The operator's choice from `STYLECORE_PRECISION` ("auto" when unset).
    Raises `ValueError` for anything but auto, float32 or bfloat16."""
    raw = (os.environ if environ is None else environ).get(PRECISION_ENV, "").strip().lower()
    if not raw:
        return "auto"
    if raw not in PRECISION_CHOICES:
        raise ValueError(
            f"{PRECISION_ENV} must be one of {', '.join(PRECISION_CHOICES)}, got {raw!r}"
        )
    return raw


def keras_precision(choice: str) -> str:
    """A user-facing precision name (or a Keras policy name) as a Keras dtype policy name."""
    return "mixed_bfloat16" if choice == "bfloat16" else choice
