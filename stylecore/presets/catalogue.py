"""The built-in styles: what a preset is, the procedural styles and the pinned public-domain
paintings (URL and sha256 each)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stylecore.presets import patterns


@dataclass(frozen=True)
class Preset:
    """One selectable style."""

    name: str  # id used in commands and buttons, e.g. "starry_night"
    title: str  # human-readable, e.g. "The Starry Night — Vincent van Gogh, 1889"
    kind: str  # "procedural" | "painting" | "folder"


@dataclass(frozen=True)
class Painting:
    """A public-domain painting fetched from a pinned URL."""

    title: str
    artist: str
    year: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Procedural:
    """A style drawn by code: ``generate(size, seed)`` returns uint8 (size, size, 3)."""

    title: str
    generate: Callable[[int, int], np.ndarray]
    seed: int


PROCEDURAL: dict[str, Procedural] = {
    "mosaic": Procedural("Stained-glass mosaic", patterns.mosaic, 1101),
    "pointillism": Procedural("Pointillism — dots of complementary colour", patterns.pointillism,
                              1102),
    "crosshatch": Procedural("Ink crosshatching on paper", patterns.crosshatch, 1103),
    "swirl": Procedural("Swirling brushstrokes", patterns.swirl, 1104),
}

PAINTINGS: dict[str, Painting] = {
    # Pinned in shared/reference/styles.md; tests point `url` at a local server.
    "starry_night": Painting(
        "The Starry Night", "Vincent van Gogh", "1889",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
        "starry_night.jpg",
        "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098"),
    "the_scream": Painting(
        "The Scream", "Edvard Munch", "1893",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
        "the_scream.jpg",
        "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee"),
    "shipwreck": Painting(
        "The Shipwreck", "J. M. W. Turner", "1805",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
        "shipwreck.jpg",
        "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213"),
    "woman_with_hat": Painting(
        "Woman with a Hat", "Henri Matisse", "1905",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
        "woman-with-hat-matisse.jpg",
        "6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53"),
    "wave": Painting(
        "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831",
        "https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/"
        "wave.jpg",
        "54f19686bea5117c0bb68ce4425dbed4efafa3e8d7cafe35f0fae80b8223f4be"),
    "udnie": Painting(
        "Udnie", "Francis Picabia", "1913",
        "https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/"
        "udnie.jpg",
        "45e510d2a53b4167a22bae12a191eea3018f82d74a2fa17b1573adc1e9dfc7f6"),
    "minotaur": Painting(
        "The Shipwreck of the Minotaur", "J. M. W. Turner", "c. 1810",
        "https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/"
        "the_shipwreck_of_the_minotaur.jpg",
        "05e6d80cee6b2df5c3425f8f59105e62804d8a7ffe688aa69739c1f787a09dd9"),
}
