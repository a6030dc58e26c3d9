# syntax=docker/dockerfile:1
# stylebot with its TensorFlow engine, the VGG19 weights and the preset paintings baked in.
#   docker compose up -d --build                       GPU image (see docker-compose.yml)
#   docker build --build-arg VARIANT=cpu -t stylebot:cpu .    CPU-only image
# Runs as an unprivileged user; the SQLite database and the work files live on the /data volume.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    STYLECORE_HOME=/opt/stylecore \
    KERAS_HOME=/opt/stylecore/keras \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

FROM base AS build
# gpu: tensorflow[and-cuda] (CUDA and cuDNN from PyPI; the host needs only the NVIDIA driver
# and the NVIDIA Container Toolkit). cpu: plain tensorflow, a far smaller image.
ARG VARIANT=gpu
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY scripts/install.sh scripts/install.sh
COPY stylecore/ stylecore/
COPY bot/ bot/
# The one install recipe, shared with `make install` and CI.
RUN --mount=type=cache,target=/root/.cache/pip \
    case "$VARIANT" in \
      gpu) extras=gpu ;; \
      cpu) extras= ;; \
      *) echo "VARIANT must be gpu or cpu, got '$VARIANT'" >&2; exit 2 ;; \
    esac \
 && VENV=/opt/venv EXTRAS="$extras" EDITABLE=0 bash scripts/install.sh
# Weights (VGG19's and the instant painter's) and paintings now, so the bot downloads nothing
# at start. Keras' own copy of the weights is dropped: the project's cache (vgg19_conv.npz)
# holds the same numbers and is read first. Everything is made readable for the runtime user (Keras falls back to /tmp/.keras
# without a word when its home is unusable).
RUN python -m stylecore.weights.vgg19 \
 && python -m stylecore.instant.network_weights \
 && python -m stylecore.presets.lookup --fetch \
 && rm -rf "$KERAS_HOME/models" \
 && chmod -R a+rX "$STYLECORE_HOME"

FROM base AS runtime
ARG UID=10001
RUN groupadd --system --gid "$UID" stylebot \
 && useradd --system --no-log-init --uid "$UID" --gid "$UID" --home-dir /data stylebot \
 && mkdir -p /data \
 && chown "$UID:$UID" /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/stylecore /opt/stylecore
ENV HOME=/data \
    STYLEBOT_DB=/data/stylebot.db \
    STYLEBOT_WORK_DIR=/data/work \
    STYLEBOT_PRESETS_DIR=/data/presets \
    STYLEBOT_METRICS_LISTEN=0.0.0.0:9100 \
    STYLEBOT_LOG_FORMAT=json
WORKDIR /data
VOLUME ["/data"]
USER ${UID}:${UID}
# 9100: /healthz and /metrics. 8443: the webhook server (only with STYLEBOT_WEBHOOK_URL).
# 8444: the studio (only with STYLEBOT_STUDIO_URL).
EXPOSE 9100 8443 8444
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
ENTRYPOINT ["stylebot"]
