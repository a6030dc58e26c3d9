"""How many workers to run and on which GPU each, decided without importing TensorFlow (the bot
process never does; each worker process imports it after its environment is set)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

NVIDIA_SMI_TIMEOUT_S = 10


def visible_gpus(environ: Mapping[str, str] | None = None) -> list[str]:
    """The GPUs this process may use, as values for a worker's `CUDA_VISIBLE_DEVICES`.

    `CUDA_VISIBLE_DEVICES` wins when set (indices or UUIDs; like CUDA, the list ends at the first
    negative or empty entry). Otherwise `nvidia-smi` lists them (inside a container, only those
    the runtime passed in); no `nvidia-smi` means no GPU."""
    env = os.environ if environ is None else environ
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        gpus = []
        for entry in (part.strip() for part in listed.split(",")):
            if not entry or entry.startswith("-"):
                break
            gpus.append(entry)
        return gpus
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip().isdigit()]


def worker_environments(count: int | None, gpus: list[str]) -> list[dict[str, str]]:
    """The environment of each worker process: one worker per GPU, pinned to it with
    `CUDA_VISIBLE_DEVICES`. `count` overrides the number (spread round-robin over the GPUs);
    without GPUs it is the number of CPU workers (default 1)."""
    if not gpus:
        return [{} for _ in range(count or 1)]
    return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)]} for i in range(count or len(gpus))]
