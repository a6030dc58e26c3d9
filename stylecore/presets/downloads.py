"""The public-domain paintings: downloaded once from a pinned URL, checked, cached.

A painting's bytes come from the cache (:func:`stylecore.presets.folders.cache_dir`) when the
file there matches the pinned sha256, else from its URL (at most :data:`MAX_DOWNLOAD_BYTES`,
within :data:`DOWNLOAD_TIMEOUT_S`), checked against the sha256 and then cached. A failed
download is remembered for :data:`FAILURE_TTL_S` seconds, so a dead URL is not retried on
every request. Thread-safe.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from stylecore.errors import PresetUnavailable
from stylecore.presets.catalogue import PAINTINGS, Painting
from stylecore.presets.folders import cache_dir, write_preset_file

log = logging.getLogger("stylecore.presets")

DOWNLOAD_TIMEOUT_S = 15.0
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
FAILURE_TTL_S = 300.0
USER_AGENT = "stylebot/0.1 (Telegram style-transfer bot; preset download)"

_failures_lock = threading.Lock()
_failures: dict[tuple[str, str], tuple[float, str]] = {}  # (name, url) -> (when, reason)


def painting_cache_path(name: str, painting: Painting) -> Path:
    suffix = Path(urllib.parse.urlsplit(painting.url).path).suffix.lower() or ".jpg"
    return cache_dir() / f"{name}-{painting.sha256[:12]}{suffix}"


def forget_failures() -> None:
    """Forgets remembered download failures: the next request downloads again."""
    with _failures_lock:
        _failures.clear()


def recent_failure(name: str) -> str | None:
    """Why the painting `name` could not be downloaded, if that happened in the last
    :data:`FAILURE_TTL_S` seconds (None otherwise, and for other presets)."""
    painting = PAINTINGS.get(name)
    return _recent_failure(name, painting) if painting is not None else None


def _recent_failure(name: str, painting: Painting) -> str | None:
    with _failures_lock:
        entry = _failures.get((name, painting.url))
        if entry and time.monotonic() - entry[0] < FAILURE_TTL_S:
            return entry[1]
        return None


def _fetch(url: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> bytes:
    """GET ``url``; raises OSError / http.client.HTTPException / ValueError on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"more than {MAX_DOWNLOAD_BYTES} bytes")
    return data


def painting_bytes(name: str, painting: Painting) -> bytes:
    """Verified bytes of a painting, from the cache or downloaded (and then cached); raises
    :class:`PresetUnavailable` ("download_failed") when it cannot be had."""
    path = painting_cache_path(name, painting)
    try:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == painting.sha256:
            return data
        log.warning("cached %s does not match its sha256; downloading it again", path)
    except OSError:
        pass
    def unavailable(reason: str) -> PresetUnavailable:
        return PresetUnavailable("download_failed", name=name, title=painting.title,
                                 detail=reason)

    reason = _recent_failure(name, painting)
    if reason:
        raise unavailable(reason)
    try:
        data = _fetch(painting.url)
        digest = hashlib.sha256(data).hexdigest()
        if digest != painting.sha256:
            raise ValueError(f"sha256 {digest} instead of {painting.sha256}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = f"{painting.url}: {exc}"
        log.warning("download of preset %s failed: %s", name, reason)
        with _failures_lock:
            _failures[(name, painting.url)] = (time.monotonic(), reason)
        raise unavailable(reason) from exc
    try:
        write_preset_file(path, data)
    except OSError as exc:
        log.warning("could not cache preset %s: %s", path, exc)
    return data
