"""The work folder (`STYLEBOT_WORK_DIR`), where a job's files live until it is finished:

    users/<user id>/<hash of file id>   downloaded inputs, per user so /forget can remove them
    users/<user id>/mask-<hex>.png      the studio's brush masks (and a careful job's)
    jobs/<job id>/                      a job's scratch files (preset style image, ...)
    results/job-<job id>.png|.mp4       a finished picture or clip, kept until it is delivered
    studio/presets/<name>.png           preset paintings as files, for the studio's previews
    studio/previews/<n>.jpg             a studio preview, while it goes to the page
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

from stylecore import write_atomic

RESULT_SUFFIXES = (".png", ".mp4", ".jpg")
"""A picture's result, a clip's, and a kept instant picture's."""
MASK_NAME = re.compile(r"mask-[0-9a-f]{32}\.png")
"""A brush mask's file name: nothing a path could be made of."""


class WorkArea:
    """Paths and housekeeping of the work folder."""

    def __init__(self, root: Path) -> None:
        """Creates the folders and checks that a file can be written there (`OSError` if
        not), so an unusable work folder stops the bot at start-up, not at the first photo."""
        self.root = Path(root)
        for sub in ("users", "jobs", "results", "studio"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.root / "results"):
            pass

    def input_path(self, user_id: int, file_id: str) -> Path:
        digest = hashlib.sha256(file_id.encode()).hexdigest()[:24]
        return self.root / "users" / str(user_id) / digest

    def job_dir(self, job_id: int) -> Path:
        path = self.root / "jobs" / str(job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def result_path(self, job_id: int, suffix: str = ".png") -> Path:
        return self.root / "results" / f"job-{job_id}{suffix}"

    def cached_input(self, user_id: int, file_id: str) -> Path | None:
        path = self.input_path(user_id, file_id)
        return path if path.is_file() else None

    def save_input(self, user_id: int, file_id: str, data: bytes) -> Path:
        path = self.input_path(user_id, file_id)
        write_atomic(path, data)
        return path

    def mask_path(self, user_id: int, name: str) -> Path | None:
        """Where the user's brush mask `name` is (None for a name that is not a mask's)."""
        if not MASK_NAME.fullmatch(name):
            return None
        return self.root / "users" / str(user_id) / name

    def studio_path(self, *parts: str) -> Path:
        """A file of the studio's own (`parts` are the studio's names, never a user's)."""
        path = self.root.joinpath("studio", *parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def remove_inputs(self, user_id: int, *file_ids: str | None) -> None:
        for file_id in file_ids:
            if file_id:
                self.input_path(user_id, file_id).unlink(missing_ok=True)

    def remove_job(self, job_id: int) -> None:
        shutil.rmtree(self.root / "jobs" / str(job_id), ignore_errors=True)
        for suffix in RESULT_SUFFIXES:
            self.result_path(job_id, suffix).unlink(missing_ok=True)

    def forget_user(self, user_id: int) -> None:
        shutil.rmtree(self.root / "users" / str(user_id), ignore_errors=True)

    def sweep(self, max_age_s: float, keep_results: Collection[Path] = ()) -> int:
        """Deletes files older than `max_age_s` (abandoned conversations, crashed jobs), except
        `keep_results` (pictures still waiting for delivery). Returns the number deleted."""
        cutoff = time.time() - max_age_s
        removed = 0
        for path in self.root.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file() and path not in keep_results and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        for folder in sorted(self.root.glob("*/*"), reverse=True):
            with contextlib.suppress(OSError):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        return removed
