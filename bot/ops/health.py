"""The operator's HTTP endpoint, on when `STYLEBOT_METRICS_LISTEN=host:port` is set.

- `GET /healthz`: liveness. It is answered on the bot's event loop, so any answer proves the loop
  is alive; the JSON says what the workers and the queue are doing. 200 while the bot runs (also
  while it starts: `"status": "starting"`), 503 if the database cannot be read.
- `GET /metrics`: Prometheus' text format (see `bot.ops.metrics`).

It runs on tornado, which PTB's webhook server needs anyway. `python -m bot.healthcheck` asks
`/healthz` from the outside (the image's HEALTHCHECK).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import tornado.httpserver
import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.ops import metrics

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.jobs.remote.fleet import FleetSnapshot
    from bot.jobs.worker import StyleWorker
    from bot.telegram.context import Services

log = logging.getLogger("stylebot.health")


class StatusServer:
    """Serves `/healthz` and `/metrics` for `app` on `listen` while started."""

    def __init__(self, app: Application, listen: tuple[str, int]) -> None:
        self.app = app
        self.listen = listen
        self.started_at = time.monotonic()
        self._collectors = [metrics.WorkerCollector(self._workers),
                            metrics.FleetCollector(self._fleet)]
        self._server: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        web = tornado.web.Application([
            (r"/healthz", _HealthHandler, {"status": self}),
            (r"/metrics", _MetricsHandler, {"status": self}),
        ], log_function=_log_request)
        self._server = tornado.httpserver.HTTPServer(web)
        host, port = self.listen
        self._server.listen(port, address=host)
        for collector in self._collectors:
            REGISTRY.register(collector)
        log.info("health and metrics at http://%s:%d/healthz and /metrics", host, port)

    async def stop(self) -> None:
        if self._server is None:
            return
        for collector in self._collectors:
            REGISTRY.unregister(collector)
        self._server.stop()
        await self._server.close_all_connections()
        self._server = None

    def _services(self) -> Services | None:
        return self.app.bot_data.services

    def _workers(self) -> list[StyleWorker]:
        """The local worker processes (none with a broker)."""
        svc = self._services()
        return svc.runner.workers if svc is not None and svc.fleet is None else []

    def _fleet(self) -> FleetSnapshot | None:
        svc = self._services()
        return svc.fleet.snapshot if svc is not None and svc.fleet is not None else None

    async def health(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of `/healthz`."""
        config = self.app.bot_data.config
        body: dict[str, Any] = {
            "status": "starting",
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "updates": "webhook" if config.webhook_url else "polling",
            "workers": [],
        }
        svc = self._services()
        if svc is None:
            return 200, body
        body["status"] = "ok"
        if svc.fleet is not None:
            body.update(remote_status(svc.fleet.snapshot))
        else:
            body["workers"] = local_status(svc)
        try:
            stats = await svc.queue.stats(since=time.time())
        except Exception as exc:  # the database is what a restart could fix
            log.exception("health check: the database can't be read")
            body["status"] = "error"
            body["error"] = f"database: {type(exc).__name__}"
            return 503, body
        body["queue"] = {"queued": stats["queue_depth"], "running": stats["running"]}
        return 200, body

    async def metrics(self) -> bytes:
        svc = self._services()
        if svc is not None:
            await metrics.refresh(svc.queue)
        return generate_latest(REGISTRY)


def local_status(svc: Services) -> list[dict[str, Any]]:
    """/healthz' workers: the local worker processes."""
    return [
        {"worker": index, "pid": worker.pid, "busy": worker.busy,
         "job_id": job.id if job is not None else None,
         "restarts": max(worker.starts - 1, 0), **(worker.engine or {})}
        for index, (worker, job) in enumerate(zip(svc.runner.workers, svc.runner.running(),
                                                  strict=True))
    ]


def remote_status(snapshot: FleetSnapshot) -> dict[str, Any]:
    """/healthz' workers and broker, with a broker configured."""
    now = time.time()
    return {
        "broker": {"up": snapshot.broker_up, "error": snapshot.broker_error,
                   "handed_out_not_started": snapshot.broker_queue},
        "workers": [
            {"worker": worker.name, "host": worker.host, "pid": worker.pid, "gpu": worker.gpu,
             "state": worker.state, "busy": worker.state == "busy", "job_id": worker.job_id,
             "jobs_done": worker.jobs_done, "seen_s_ago": round(now - worker.seen_at, 1),
             **({"error": worker.error} if worker.error else {}), **worker.engine}
            for worker in snapshot.workers
        ],
    }


class _Handler(tornado.web.RequestHandler):
    def initialize(self, status: StatusServer) -> None:
        self.status = status


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Requests at DEBUG only: a health check every 30 s must not fill the log."""
    log.debug("%d %s %.1f ms", handler.get_status(), handler.request.uri,
              1000 * handler.request.request_time())


class _HealthHandler(_Handler):
    async def get(self) -> None:
        code, body = await self.status.health()
        self.set_status(code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class _MetricsHandler(_Handler):
    async def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(await self.status.metrics())
