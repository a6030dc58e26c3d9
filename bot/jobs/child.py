"""The worker process: loads the engine once, then runs jobs sent over the pipe
(`bot.jobs.protocol`) until told to stop or until the parent goes away.

Started by `bot.jobs.worker.StyleWorker` with multiprocessing's "spawn"; it imports TensorFlow,
never python-telegram-bot.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import Any

from bot.jobs.execution import WarmUp, execute, load_engine
from bot.jobs.pipe import Done, Failed, FromChild, Progressed, Ready, Run, StartFailed
from bot.jobs.work import WorkFailure, WorkProgress, WorkRequest


def child_main(conn: Any, cancel_token: Any, warm_up: WarmUp, env: dict[str, str]) -> None:
    """The worker process: loads the engine once, then runs jobs until told to stop or until
    the parent goes away (its end of the pipe closes)."""
    os.environ.update(env)  # before TensorFlow reads CUDA_VISIBLE_DEVICES
    # Ctrl+C in a terminal reaches the whole process group; the parent stops us in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        max_pixels, engine = load_engine(warm_up=warm_up)
    except BaseException as error:
        _send(conn, StartFailed(f"{type(error).__name__}: {error}", traceback.format_exc()))
        return
    if not _send(conn, Ready(os.getpid(), "telegram" in sys.modules, engine)):
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        match message:
            case Run(seq=seq, request=request):
                if not _send(conn, _run_job(conn, seq, request, cancel_token, max_pixels)):
                    return
            case _:  # Stop, or anything unexpected
                return


def _send(conn: Any, message: FromChild) -> bool:
    try:
        conn.send(message)
    except OSError:  # the parent is gone
        return False
    return True


def _run_job(conn: Any, seq: int, request: WorkRequest, cancel_token: Any,
             max_pixels: int | None) -> Done | Failed:
    """Runs one job; returns the message that ends it."""

    def report(update: WorkProgress) -> None:
        conn.send(Progressed(seq, update))  # raises if the parent is gone: the job ends

    outcome = execute(request, report=report, should_stop=lambda: cancel_token.value == seq,
                      max_pixels=max_pixels)
    if isinstance(outcome, WorkFailure):
        return Failed(seq, outcome)
    return Done(seq, outcome)
