"""Where preset images live on disk: the cache, the presets folder and admin-added presets.

* The cache, ``$STYLECORE_HOME/presets`` (default ``~/.cache/stylecore/presets``), holds the
  procedural styles as drawn and the paintings as downloaded (:mod:`stylecore.presets.downloads`).
* **Folder** presets are the jpg/png/webp images in the presets folder and in
  ``$STYLECORE_HOME/user_presets``; the file stem, lower-cased, is the preset name. The
  presets folder is the application's to choose (:func:`set_presets_folder`: the bot passes
  its configured folder, ``stylize`` its ``--presets-dir``); unset, it is
  ``$STYLECORE_HOME/user_presets``. :func:`add_preset` stores admins' uploads there.

``STYLECORE_HOME`` is read at call time.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

import numpy as np

from stylecore.errors import PresetNameError
from stylecore.images import decode_image, encode_image, resize_long_side, write_atomic
from stylecore.presets.catalogue import PAINTINGS, PROCEDURAL, Preset

log = logging.getLogger("stylecore.presets")

MAX_SIDE = 1024  # longest side of a loaded preset; bigger images are scaled down
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
NAME_RE = re.compile(r"[a-z0-9_]{2,32}")
"""What a folder preset's name must be, once normalised."""

_presets_folder: Path | None = None
_locks_lock = threading.Lock()
_name_locks: dict[str, threading.Lock] = {}


def set_presets_folder(folder: Path | None) -> None:
    """The folder of folder presets and admin uploads for this process (None: only
    ``$STYLECORE_HOME/user_presets``). Set by the application once, at start."""
    global _presets_folder
    _presets_folder = Path(folder).expanduser() if folder is not None else None


def stylecore_home() -> Path:
    env = os.environ.get("STYLECORE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "stylecore"


def cache_dir() -> Path:
    """Where generated and downloaded presets are cached: ``$STYLECORE_HOME/presets``."""
    return stylecore_home() / "presets"


def user_presets_dir() -> Path:
    """Where :func:`add_preset` stores images: the presets folder, else
    ``$STYLECORE_HOME/user_presets``."""
    return _presets_folder or stylecore_home() / "user_presets"


def name_lock(name: str) -> threading.Lock:
    """One lock per preset name: one download, drawing or upload of a preset at a time."""
    with _locks_lock:
        return _name_locks.setdefault(name, threading.Lock())


def normalise(name: str) -> str:
    """Lower-case, runs of anything but letters and digits become one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def folder_title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def fit(img: np.ndarray) -> np.ndarray:
    """The image with its long side at most :data:`MAX_SIDE`."""
    return resize_long_side(img, MAX_SIDE) if max(img.shape[:2]) > MAX_SIDE else img


def write_preset_file(path: Path, data: bytes) -> None:
    write_atomic(path, data, mode=0o644)  # presets are not secret


def folder_files() -> dict[str, Path]:
    """Folder images by preset name; the first folder and the first file (sorted) win."""
    folders = dict.fromkeys([user_presets_dir(), stylecore_home() / "user_presets"])
    found: dict[str, Path] = {}
    for folder in folders:  # the configured folder first, no duplicates
        try:
            entries = sorted(folder.iterdir())
        except OSError:  # missing or unreadable folder: no presets from it
            continue
        for path in entries:
            if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            name = normalise(path.stem)
            if not NAME_RE.fullmatch(name):
                log.warning("preset file %s ignored: %r is not a usable name", path, name)
            elif name not in found and path.is_file():
                found[name] = path
    return found


def add_preset(name: str, image_bytes: bytes) -> Preset:
    """Store an admin's image as a new preset (or replace a user preset of that name).

    The name is lower-cased and must be 2-32 letters, digits or underscores and not a built-in
    style (:class:`PresetNameError` otherwise). The image goes through ``decode_image``
    (``ImageError`` propagates), is scaled to at most :data:`MAX_SIDE` and saved as PNG if it
    came as PNG, else as JPEG, in :func:`user_presets_dir`.
    """
    key = name.strip().lower()
    if not NAME_RE.fullmatch(key):
        raise PresetNameError("bad_name", name=key)
    if key in PROCEDURAL or key in PAINTINGS:
        raise PresetNameError("builtin_name", name=key)
    img = fit(decode_image(image_bytes, needed_side=MAX_SIDE))
    is_png = bytes(image_bytes[:4]) == b"\x89PNG"
    data = encode_image(img, "png" if is_png else "jpeg", quality=95)
    folder = user_presets_dir()
    path = folder / f"{key}{'.png' if is_png else '.jpg'}"
    with name_lock(key):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():  # e.g. my_style.jpg when my_style.png replaces it
            if old != path and old.suffix.lower() in IMAGE_EXTENSIONS \
                    and normalise(old.stem) == key:
                old.unlink(missing_ok=True)
        write_preset_file(path, data)
    log.info("preset %s saved to %s", key, path)
    return Preset(key, folder_title(key), "folder")
