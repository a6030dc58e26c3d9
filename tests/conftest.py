"""Fixtures shared by the end-to-end test modules."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.jobs.worker import StyleWorker
from stylecore.presets.folders import set_presets_folder
from tests.fake_telegram import FakeTelegram, RemoteEngine
from tests.remote_servers import RedisServer, workers


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A running fake Bot API server on 127.0.0.1, stopped after the test."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_presets_folder_left_behind() -> Iterator[None]:
    """The engine's presets folder is process-wide (a bot sets it at start): each test starts
    and ends without one."""
    set_presets_folder(None)
    yield
    set_presets_folder(None)


@pytest.fixture
def presets_dir(tmp_path: Path) -> Path:
    """An empty folder for folder presets: none from the machine, so only the procedural
    presets (which need no download) and what a test adds. It is the folder a bot run with
    `bot_env(fake, tmp_path)` is given, and the engine's from the start of the test."""
    folder = tmp_path / "presets"
    folder.mkdir()
    set_presets_folder(folder)
    return folder


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def worker() -> AsyncIterator[StyleWorker]:
    """One started engine worker process per test module (TensorFlow starts once, not per
    test; no warm-up: the first job traces what it needs); a module that needs a differently
    configured one defines its own."""
    worker = StyleWorker(warm_up=False)
    await worker.start()
    yield worker
    await worker.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["local", "celery"])
async def any_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                      ) -> AsyncIterator[StyleWorker | RemoteEngine]:
    """What runs the jobs, once per backend: a local worker process, or a real redis-server
    with one real `stylebot-worker` (Celery) process; `run_bot` takes either."""
    if request.param == "local":
        worker = StyleWorker(warm_up=False)
        await worker.start()
        yield worker
        await worker.stop()
        return
    root = tmp_path_factory.mktemp("celery")
    redis_server = RedisServer(root).start()
    try:
        with workers(redis_server, root, "e2e"):
            yield RemoteEngine(redis_server.url)
    finally:
        redis_server.stop()
