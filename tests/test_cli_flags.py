"""The `stylize` command's flags, by what a user sees in the picture or on the terminal: tiny
runs (48 px, a few steps) of the real engine through the command's own entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylecore.cli import main
from stylecore.optimiser.transfer import PIXEL_BUDGET_ENV

SIZE = ["--size", "48", "--steps", "4", "-q"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A photo (a bluish gradient with a yellow disc) and two paintings of other colours:
    red/green stripes and purple/orange checks."""
    folder = tmp_path_factory.mktemp("inputs")
    y, x = np.mgrid[0:48, 0:64]
    photo = np.stack([x * 2, y * 3, np.full_like(x, 200)], axis=-1)
    photo[(x - 38) ** 2 + (y - 24) ** 2 < 150] = (250, 230, 40)
    stripes = ((x + y) // 4) % 2
    checks = ((x // 6) + (y // 6)) % 2
    images = {
        "photo": photo,
        "stripes": np.where(stripes[..., None], (220, 30, 30), (30, 200, 40)),
        "checks": np.where(checks[..., None], (150, 40, 170), (250, 150, 20)),
    }
    paths = {}
    for name, image in images.items():
        paths[name] = folder / f"{name}.png"
        Image.fromarray(image.astype(np.uint8)).save(paths[name])
    return paths


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


def painted(inputs: dict[str, Path], tmp_path: Path, *args: str,
            styles: tuple[str, ...] = ("stripes",)) -> np.ndarray:
    output = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.png"
    status = main([str(inputs["photo"]), *(str(inputs[s]) for s in styles), "-o", str(output),
                   *SIZE, *args])
    assert status == 0
    return pixels(output)


def colour_distance(image: np.ndarray, reference: Path) -> float:
    """How far the picture's average colour is from the reference image's."""
    return float(np.abs(image.mean(axis=(0, 1)) - pixels(reference).mean(axis=(0, 1))).sum())


def gram_distance(image: np.ndarray, reference: Path) -> float:
    """How far the picture's colour co-occurrence (a crude style measure) is from the
    reference image's."""
    def gram(pixels_: np.ndarray) -> np.ndarray:
        flat = pixels_.reshape(-1, 3) / 255.0
        return flat.T @ flat / len(flat)
    return float(np.abs(gram(image) - gram(pixels(reference))).sum())


def test_strength_moves_the_picture_towards_the_painting(inputs, tmp_path):
    weak = painted(inputs, tmp_path, "--strength", "0.05")
    strong = painted(inputs, tmp_path, "--strength", "20")
    assert gram_distance(strong, inputs["stripes"]) < gram_distance(weak, inputs["stripes"]) / 2


def test_preserve_colors_keeps_the_photos_colours(inputs, tmp_path):
    plain = painted(inputs, tmp_path)
    kept = painted(inputs, tmp_path, "--preserve-colors")
    assert colour_distance(kept, inputs["photo"]) < colour_distance(plain, inputs["photo"]) / 2


def test_style_weights_decide_which_painting_dominates(inputs, tmp_path):
    both = ("stripes", "checks")
    stripes_first = painted(inputs, tmp_path, "--style-weights", "10", "1", styles=both)
    checks_first = painted(inputs, tmp_path, "--style-weights", "1", "10", styles=both)
    assert (colour_distance(stripes_first, inputs["stripes"])
            < colour_distance(checks_first, inputs["stripes"]))
    assert (colour_distance(checks_first, inputs["checks"])
            < colour_distance(stripes_first, inputs["checks"]))


def test_classic_is_another_run(inputs, tmp_path):
    default = painted(inputs, tmp_path)
    classic = painted(inputs, tmp_path, "--classic")
    assert np.abs(default - classic).mean() > 5


def test_a_pixel_budget_too_small_exits_2_with_one_line(inputs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(PIXEL_BUDGET_ENV, "1000")
    output = tmp_path / "none.png"
    status = main([str(inputs["photo"]), str(inputs["stripes"]), "-o", str(output), *SIZE])
    assert status == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("stylize: ") and "1000" in line
    assert not output.exists()


def test_fetch_weights_reports_the_cached_weights_ready(tmp_path):
    cache = Path.home() / ".cache" / "stylecore"
    names = ("vgg19_conv.npz", "instant_arbitrary_lite.npz")  # VGG19's, the instant painter's
    if not all((cache / name).is_file() for name in names):
        pytest.skip("no cached weights (VGG19's and the instant painter's) on this machine")
    home = tmp_path / "home"
    home.mkdir()
    for name in names:
        (home / name).symlink_to(cache / name)
    env = {**os.environ, "STYLECORE_HOME": str(home), "STYLECORE_WEIGHTS": "",
           "STYLECORE_WEIGHTS_URL": "http://127.0.0.1:9/"}  # nothing to download from
    done = subprocess.run([sys.executable, "-m", "stylecore.cli", "--fetch-weights"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"VGG19 weights ready at {home / 'vgg19_conv.npz'}",
        f"instant painter weights ready at {home / 'instant_arbitrary_lite.npz'}",
    ]
