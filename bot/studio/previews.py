"""The studio's previews: the instant painter's picture of a choice, painted in the preview
worker (a `StyleWorker` of its own that keeps only the instant painter loaded, so a preview
never waits behind a careful job), one at a time and within the share of the machine that
`bot.studio.limits.SharedCpu` allows while jobs run."""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path

from bot.jobs.runner import Worker
from bot.jobs.work import BadInput, OutOfMemory, WorkerCrashed, WorkRequest
from bot.jobs.work_area import WorkArea
from bot.studio.choices import Choice
from bot.studio.deps import PainterUnavailable, PictureUnusable, PreviewPlan
from bot.studio.limits import SharedCpu
from stylecore import QUALITY_PRESETS, StyleParams

log = logging.getLogger("stylebot.studio")

PREVIEW_SIDE = 384
"""The previews' long side: the instant painter's own size, well under half a second on two
CPU cores (benchmarks/studio.py)."""


def preview_params(choice: Choice) -> StyleParams:
    """The instant painter's settings for a choice, at the preview's size."""
    return QUALITY_PRESETS["instant"].with_(
        size=PREVIEW_SIDE, instant_side=PREVIEW_SIDE, style_strength=choice.strength,
        preserve_colors="luminance" if choice.keep_colors else None,
        keep_faces=choice.keep_faces)


class PreviewPainter:
    """Paints previews on `worker` (the studio's own), writing them briefly to the work area."""

    def __init__(self, worker: Worker, work: WorkArea, cpu: SharedCpu) -> None:
        self.worker = worker
        self.work = work
        self.cpu = cpu
        self._numbers = itertools.count(1)

    async def paint(self, plan: PreviewPlan) -> bytes:
        number = next(self._numbers)
        output = self.work.studio_path("previews", f"{number}.jpg")
        request = WorkRequest(
            job_id=-number,  # not a job: its own numbers, never a job's id
            content_path=str(plan.content),
            styles=[(str(path), weight) for path, weight in plan.styles],
            params=preview_params(plan.choice),
            output_path=str(output),
            preview_every=0,
            mask_path=str(plan.mask) if plan.mask is not None else None,
        )
        try:
            async with self.cpu.turn():
                await self.worker.run(request, None)
            return await asyncio.to_thread(output.read_bytes)
        except (WorkerCrashed, OutOfMemory) as exc:
            log.warning("a studio preview was not painted: %s", exc)
            raise PainterUnavailable(str(exc)) from exc
        except BadInput as exc:
            raise PictureUnusable(str(exc)) from exc
        finally:
            await asyncio.to_thread(Path(output).unlink, True)
