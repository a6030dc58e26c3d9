"""The user's brush: a mask (H, W) in [0, 1] over the photo, 1 where the style goes and 0 where
the photo stays (any size: it is scaled to each picture it is used on).

Both painters take it: the instant painter moves each pixel's style vector back to the photo's
own where the photo stays (`keep_weights`, a per-pixel blend of the two vectors); the
optimiser weights its style term by it (`masked_gram`, in `stylecore.optimiser.losses`) and
starts from the photo there. Each picture is then laid over
the photo by the mask (`laid_over_photo`), so where the brush kept the photo it is the photo.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def checked_mask(mask: np.ndarray | None) -> np.ndarray | None:
    """`mask` as float32 (H, W) in [0, 1]; None stays None. `ValueError` for anything that is
    not a 2-D picture of finite numbers."""
    if mask is None:
        return None
    array = np.asarray(mask, dtype=np.float32)
    if array.ndim == 3 and array.shape[2] in (1, 3):
        array = array[..., 0]
    if array.ndim != 2 or 0 in array.shape or not np.isfinite(array).all():
        raise ValueError(f"a mask must be a finite (H, W) array, got {array.shape}")
    return np.clip(array, 0.0, 1.0)


def mask_at(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mask scaled to (height, width) (area-averaged down, bilinear up)."""
    height, width = int(shape[0]), int(shape[1])
    if mask.shape == (height, width):
        return mask
    image = Image.fromarray(np.ascontiguousarray(mask, dtype=np.float32))
    smaller = height * width < mask.shape[0] * mask.shape[1]
    resized = image.resize((width, height), Image.Resampling.BOX if smaller
                           else Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def keep_weights(mask: np.ndarray) -> np.ndarray:
    """How far each pixel's style vector goes back to the photo's own (1: all the way): all
    the way where the brush kept the photo."""
    return (1.0 - mask).astype(np.float32)


def laid_over_photo(picture: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The picture where the mask is 1, the photo where it is 0 (both the same size)."""
    weights = mask_at(mask, picture.shape[:2])[..., np.newaxis]
    return (weights * picture + (1.0 - weights) * photo).astype(np.float32)
