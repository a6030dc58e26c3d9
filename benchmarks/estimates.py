"""How good the queue's waiting-time estimates are, for `benchmarks/load.py`: what each
accepted request was told ("Queued — 3 ahead, about 12 s.") beside how long its result then
took to compute (the job's `computed_at - created_at`, which is what the estimate is of), and
the clips that make a mixed queue (`--clips`).

Requests told "you're next" get no estimate (only their own painting is ahead of them) and
are counted apart. Estimates are shown rounded (whole seconds; minutes from 90 s), so very
short waits read coarse: a 0.4 s wait told "about 1 s" is 2.5x.
"""

from __future__ import annotations

import random
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tests.fake_telegram import Call, FakeTelegram, replies_to, tiny_clip

CLIP_FRAMES = (8, 60)
"""A clip of the mixed queue has this many frames at least and at most (at `CLIP_FPS`)."""
CLIP_FPS = 12
CLIP_SIZE = (96, 72)
_TOLD = re.compile(r"about (\d+) (s|min)\b")


def a_clip(rng: random.Random) -> tuple[bytes, int]:
    """A small clip of a random length, and its duration in whole seconds (as Telegram
    states it)."""
    frames = rng.randint(*CLIP_FRAMES)
    width, height = CLIP_SIZE
    data = tiny_clip(frames=frames, width=width, height=height, fps=CLIP_FPS)
    return data, max(1, round(frames / CLIP_FPS))


def told_seconds(text: str) -> float | None:
    """The wait an English "Queued — N ahead, about 12 s." promises (None: none said)."""
    match = _TOLD.search(text)
    if match is None:
        return None
    return float(match[1]) * (60 if match[2] == "min" else 1)


@dataclass(frozen=True)
class EstimateErrors:
    estimated: int
    """Accepted requests that were told a wait."""
    untold: int
    """Accepted requests told "you're next" (or that no wait is known yet)."""
    ratio_p10: float
    ratio_p50: float
    ratio_p90: float
    """Estimate / actual wait: 1 is exact, 0.5 an estimate half the wait."""
    error_p90: float
    """The 90th percentile of max(estimate/actual, actual/estimate): within 1.5 is the aim."""
    ratio_p50_clips: float
    ratio_p50_photos: float


def estimate_errors(fake: FakeTelegram, sent: list[dict], db: Path) -> EstimateErrors:
    with sqlite3.connect(db, timeout=30) as connection:
        rows = connection.execute(
            "SELECT chat_id, reply_to_message_id, computed_at - created_at, media FROM jobs "
            "WHERE computed_at IS NOT NULL").fetchall()
    waits = {(chat, message): (seconds, media) for chat, message, seconds, media in rows}
    ratios: list[tuple[float, str]] = []
    untold = 0
    for message in sent:
        answer = _first_answer(fake, message)
        job = waits.get((message["chat"]["id"], message["message_id"]))
        if answer is None or job is None or not answer.text.startswith("Queued"):
            continue
        told = told_seconds(answer.text)
        if told is None:
            untold += 1
            continue
        seconds, media = job
        ratios.append((told / max(seconds, 0.001), media))
    every = [ratio for ratio, _ in ratios]
    return EstimateErrors(
        estimated=len(every), untold=untold,
        ratio_p10=_rounded(percentile(every, 0.1)), ratio_p50=_rounded(percentile(every, 0.5)),
        ratio_p90=_rounded(percentile(every, 0.9)),
        error_p90=_rounded(percentile([max(r, 1 / r) for r in every if r > 0], 0.9)),
        ratio_p50_clips=_rounded(percentile([r for r, m in ratios if m != "photo"], 0.5)),
        ratio_p50_photos=_rounded(percentile([r for r, m in ratios if m == "photo"], 0.5)),
    )


def _first_answer(fake: FakeTelegram, message: dict) -> Call | None:
    answers = fake.find("sendMessage", replies_to(message))
    return answers[0] if answers else None


def _rounded(value: float) -> float:
    return round(value, 2)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
