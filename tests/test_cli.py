"""The `stylize` command as a user runs it: a real process, real files, its exit status."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from stylecore.images import decode_image


def run_stylize(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stylecore.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )


def write_inputs(folder: Path) -> tuple[Path, Path]:
    y, x = np.mgrid[0:60, 0:80]
    photo = np.stack([x * 3, y * 4, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    stripes = (((x + y) // 5) % 2 * 200 + 30).astype(np.uint8)
    painting = np.stack([stripes, 255 - stripes, np.full_like(x, 60)], axis=-1).astype(np.uint8)
    Image.fromarray(photo).save(folder / "photo.jpg")
    Image.fromarray(painting).save(folder / "painting.png")
    return folder / "photo.jpg", folder / "painting.png"


def test_stylize_writes_the_result_and_says_where(tmp_path):
    photo, painting = write_inputs(tmp_path)
    done = run_stylize(
        str(photo), str(painting), "-o", "out/result.png", "--size", "64", "--steps", "3",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    last_line = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"wrote out/result\.png \(64x48\) in \d+\.\d s", last_line), last_line
    result = decode_image(tmp_path / "out" / "result.png")
    assert result.shape == (48, 64, 3)
    assert "100%|" in done.stderr and "left" in done.stderr  # the progress bar, time left


def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path):
    photo, _ = write_inputs(tmp_path)
    (tmp_path / "notes.txt").write_text("not a picture")
    done = run_stylize(str(photo), str(tmp_path / "notes.txt"), "-o", "x.jpg", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == ["stylize: That file is not an image I can read."]


def test_missing_file_and_unknown_preset_are_explained(tmp_path):
    photo, _ = write_inputs(tmp_path)
    missing = run_stylize(str(tmp_path / "nope.jpg"), str(photo), cwd=tmp_path)
    assert missing.returncode == 2 and "couldn't find" in missing.stderr
    unknown = run_stylize(str(photo), "stary_night", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "starry_night" in unknown.stderr and "Traceback" not in unknown.stderr


def test_precision_is_a_setting_and_a_bad_value_is_one_line(tmp_path):
    photo, painting = write_inputs(tmp_path)
    forced = run_stylize(str(photo), str(painting), "-o", "b.png", "--size", "48", "--steps", "1",
                         "--precision", "bfloat16", "-q", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert decode_image(tmp_path / "b.png").shape == (36, 48, 3)

    env = {**os.environ, "STYLECORE_PRECISION": "half"}
    bad = subprocess.run([sys.executable, "-m", "stylecore.cli", str(photo), str(painting)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "stylize: STYLECORE_PRECISION must be one of auto, float32, bfloat16, got 'half'"
    ]


def test_the_precision_setting_decides_what_auto_means(monkeypatch):
    from stylecore.device import resolve_precision

    monkeypatch.setenv("STYLECORE_PRECISION", "float32")
    assert resolve_precision("auto") == "float32"
    monkeypatch.setenv("STYLECORE_PRECISION", "bfloat16")
    assert resolve_precision("auto") == "mixed_bfloat16"
    assert resolve_precision("float32") == "float32"  # an explicit choice (classic) stays
    monkeypatch.setenv("STYLECORE_PRECISION", "auto")
    assert resolve_precision("auto") in ("float32", "mixed_bfloat16")


def test_presets_dir_makes_its_images_styles_by_name(tmp_path):
    photo, painting = write_inputs(tmp_path)
    folder = tmp_path / "styles"
    folder.mkdir()
    painting.rename(folder / "my_stripes.png")
    unknown = run_stylize(str(photo), "my_stripes", "-q", cwd=tmp_path)
    assert unknown.returncode == 2 and "my_stripes" in unknown.stderr
    done = run_stylize(str(photo), "my_stripes", "--presets-dir", str(folder), "-o", "c.png",
                       "--size", "64", "--steps", "1", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert decode_image(tmp_path / "c.png").shape == (48, 64, 3)
