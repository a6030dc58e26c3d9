"""Several job runners, one per worker process, claiming from one queue.

The handlers see the pool as one runner (`wake`, `cancel`, `cancel_user`). The queue's `claim`
is atomic, so the runners never take the same job; the first runner is the primary: it alone
recovers the queue at start (before the others claim anything), redelivers results and keeps
house, so none of that runs twice at once. The runners share the ids of the jobs they hold, so
the primary never redelivers a result that another runner is still sending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.jobs.model import Job
from bot.jobs.runner import JobRunner, Worker


class RunnerPool:
    def __init__(self, runners: Sequence[JobRunner]) -> None:
        if not runners:
            raise ValueError("a pool needs at least one runner")
        self.runners = list(runners)

    @property
    def workers(self) -> list[Worker]:
        return [runner.worker for runner in self.runners]

    def running(self) -> list[Job | None]:
        """The job each runner is computing (None: idle), in runner order."""
        return [runner.current for runner in self.runners]

    async def start(self) -> None:
        for runner in self.runners:  # the primary first: it recovers the queue
            await runner.start()

    async def stop(self) -> None:
        await asyncio.gather(*(runner.stop() for runner in self.runners))

    def wake(self) -> None:
        for runner in self.runners:
            runner.wake()

    def cancel(self, job_id: int) -> None:
        for runner in self.runners:
            runner.cancel(job_id)

    def keep_instant(self, job_id: int) -> bool:
        """The job's instant picture becomes its result, now (see `JobRunner.keep_instant`)."""
        return any(runner.keep_instant(job_id) for runner in self.runners)

    def cancel_user(self, user_id: int) -> None:
        for runner in self.runners:
            runner.cancel_user(user_id)
