"""Which device TensorFlow runs on, and which compute precision pays off there."""

from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path

import tensorflow as tf

from stylecore.params import keras_precision, precision_setting

log = logging.getLogger("stylecore.device")


@functools.cache
def configure_devices() -> str:
    """Turns on GPU memory growth (before any GPU use) and describes the device in one line.

    Without memory growth TensorFlow reserves the whole GPU at start-up, which starves anything
    else on the card and hides how much a job really needs.
    """
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        # RuntimeError: the GPU was already initialised elsewhere; keep that setting.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        description = f"GPU: {details.get('device_name', gpus[0].name)} (x{len(gpus)})"
    else:
        description = "CPU only"
    log.info("stylecore runs on %s; precision auto -> %s", description, _auto_precision(gpus))
    return description


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy a run uses. "auto" defers to `STYLECORE_PRECISION`, and where
    that is unset or "auto" too, picks the fastest precision that keeps results intact here:
    bfloat16 on GPUs and CPUs with native bfloat16 arithmetic, float32 elsewhere."""
    if precision == "auto":
        precision = precision_setting()
    if precision != "auto":
        return keras_precision(precision)
    configure_devices()
    return _auto_precision(tf.config.list_physical_devices("GPU"))


def _auto_precision(gpus: list) -> str:
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        if capability and capability >= (8, 0):
            return "mixed_bfloat16"  # Ampere and newer: bf16 tensor cores, float32's range
        return "float32"
    return "mixed_bfloat16" if _cpu_has_fast_bfloat16() else "float32"


def _cpu_has_fast_bfloat16() -> bool:
    """True where the CPU has native bf16 dot products (AVX-512 BF16 or AMX); elsewhere
    bfloat16 is emulated and slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
