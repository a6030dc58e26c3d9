"""`stylebot-worker`: a Celery worker that runs style-transfer jobs for a bot on another
machine. It needs the broker URL (`STYLEBOT_BROKER_URL`) and the VGG19 weights, nothing else:
no Telegram token, no shared disk. One process per GPU (`--gpu 0` pins it), one job at a time.

    STYLEBOT_BROKER_URL=redis://redis-host:6379/0 stylebot-worker --gpu 0

It loads the engine before it takes any job and keeps it loaded; a worker whose engine cannot
load lists itself as broken (the bot's /healthz, /metrics and /stats show why) and exits 3. A
bad or unreachable broker URL: one line, exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from dataclasses import replace

import redis

from bot.broker import BrokerUnusable, RemoteSettings, connect
from bot.config import ConfigError, remote_settings
from bot.jobs.remote.wire import QUEUE, TASK_NAME, WorkerInfo

log = logging.getLogger("stylebot.remote.worker")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = args.gpu  # before TensorFlow is imported
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bot.logs import setup_logging

    setup_logging(os.environ.get("STYLEBOT_LOG_LEVEL", "INFO"),
                  os.environ.get("STYLEBOT_LOG_FORMAT", "text"))
    try:
        settings = remote_settings(os.environ)
        if settings is None:
            raise BrokerUnusable("STYLEBOT_BROKER_URL is not set: point it at the bot's Redis, "
                                 "e.g. STYLEBOT_BROKER_URL=redis://redis-host:6379/0")
        client = connect(settings)
    except (BrokerUnusable, ConfigError) as error:
        print(f"stylebot-worker: {error}", file=sys.stderr)
        return 2
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES") or None
    name = args.name or _default_name(gpu)
    info = WorkerInfo(name=name, host=socket.gethostname(), pid=os.getpid(), gpu=gpu,
                      state="idle")
    return _serve(settings, client, info, warm_up=not args.no_warm_up, loglevel=args.loglevel)


def _serve(settings: RemoteSettings, client: redis.Redis, info: WorkerInfo, *, warm_up: bool,
           loglevel: str) -> int:
    from bot.jobs.execution import load_engine
    from bot.jobs.remote.celery_app import make_celery
    from bot.jobs.remote.heartbeat import Heartbeat, report_broken
    from bot.jobs.remote.task import RemoteTask

    try:
        max_pixels, engine = load_engine(warm_up=warm_up)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        log.exception("the engine could not load")
        report_broken(client, replace(info, error=reason))
        print(f"stylebot-worker: the engine could not load: {reason}", file=sys.stderr)
        return 3
    heartbeat = Heartbeat(client, replace(info, engine=engine),
                          settings.heartbeat_s)
    celery = make_celery(settings.broker_url,
                         visibility_timeout_s=settings.visibility_timeout_s)
    task = RemoteTask(client, heartbeat, max_pixels=max_pixels, ttl_s=settings.ttl_s)

    @celery.task(name=TASK_NAME)
    def stylize(payload_json: str) -> str:
        return task(payload_json)

    heartbeat.start()
    log.info("worker %s ready (%s); taking jobs from %s", info.name,
             ", ".join(f"{k} {v}" for k, v in engine.items()), settings.safe_url)
    try:
        celery.worker_main([
            "worker", "--pool=solo", "--concurrency=1", "--prefetch-multiplier=1",
            "-Q", QUEUE, "-n", f"{info.name}@{info.host}", "--without-gossip",
            "--without-mingle", f"--loglevel={loglevel}",
        ])
    finally:
        heartbeat.stop()
    return 0


def _default_name(gpu: str | None) -> str:
    where = f"gpu{gpu}" if gpu else "cpu"
    return f"{socket.gethostname()}-{where}-{os.getpid()}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stylebot-worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", help="the GPU to use (sets CUDA_VISIBLE_DEVICES)")
    parser.add_argument("--name", help="how the bot lists this worker (default: host, GPU, pid)")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="skip tracing the network once before the first job")
    parser.add_argument("--loglevel", default="INFO", help="Celery's log level")
    return parser


if __name__ == "__main__":
    sys.exit(main())
