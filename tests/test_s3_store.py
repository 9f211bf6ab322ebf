"""ADAPTER_STORE=s3://…: a trained adapter is published to an S3-compatible server (moto's server
mode, a real HTTP server on 127.0.0.1) and a fresh process fetches it and loads it with peft."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
import torch
from fsspec.implementations.memory import MemoryFileSystem
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from supportbot.adapters import fetch
from tests.support.bitext import bitext_rows
from tests.support.processes import wait_for_port
from tests.support.redis_process import free_port
from trainer.backends.peft_backend import PeftBackend
from trainer.config import TrainConfig
from trainer.registry import publish

STORE = "s3://supportbot-test/adapters"


@pytest.fixture
def s3_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto_server on a free port; the AWS variables that point boto (and so s3fs) at it."""
    port = free_port()
    log = tmp_path / "moto.log"
    server = Path(sys.executable).with_name("moto_server")
    assert server.exists(), f"{server} is missing: install the dev extra (moto[server])"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    import s3fs

    # fsspec keeps one filesystem per set of arguments, made when first used: one made for an
    # earlier test's server would still point at that server's port.
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        wait_for_port(port, process, log, timeout=60)
        s3fs.S3FileSystem().mkdir("supportbot-test")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def trained_adapter(tiny_model: Path, tmp_path: Path) -> Path:
    config = TrainConfig(max_steps=1, batch_size=4, max_length=96, learning_rate=1e-2)
    return PeftBackend().train(bitext_rows(4), tiny_model, config, tmp_path / "train").adapter_dir


FETCH_IN_A_FRESH_PROCESS = """
import sys
from pathlib import Path
from supportbot.adapters import fetch
print(fetch(sys.argv[1], Path(sys.argv[2])))
"""


def relative_files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_an_adapter_published_to_s3_is_fetched_by_a_fresh_process(s3_endpoint, trained_adapter, tiny_model, tmp_path):
    uri = publish(trained_adapter, STORE, "v1")
    assert uri == f"{STORE}/v1"

    cache = tmp_path / "fetched"
    completed = subprocess.run(
        [sys.executable, "-c", FETCH_IN_A_FRESH_PROCESS, uri, str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    fetched = Path(completed.stdout.strip().splitlines()[-1])
    assert fetched == cache / "v1"

    # Every file arrived, byte for byte.
    assert relative_files(fetched) == relative_files(trained_adapter)
    for name in relative_files(trained_adapter):
        assert filecmp.cmp(trained_adapter / name, fetched / name, shallow=False), name

    # And it is a working adapter: peft loads it on the base model with the trained weights.
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, fetched)
    trained = load_file(trained_adapter / "adapter_model.safetensors")
    loaded = {name: tensor for name, tensor in model.state_dict().items() if "lora_" in name}
    assert len(loaded) == len(trained) and any("lora_B" in name for name in loaded)
    for name, tensor in trained.items():
        match = [value for key, value in loaded.items() if key.replace(".default", "") == name]
        assert match and torch.equal(match[0], tensor), name


def test_a_fetched_adapter_is_downloaded_once(s3_endpoint, trained_adapter, tmp_path):
    import s3fs

    uri = publish(trained_adapter, STORE, "v2")
    cache = tmp_path / "cache"
    first = fetch(uri, cache)
    # Gone from the store: a second fetch is served from the local copy.
    s3fs.S3FileSystem().rm(f"{STORE}/v2", recursive=True)
    assert fetch(uri, cache) == first
    assert (first / "adapter_model.safetensors").exists()


def test_a_missing_version_is_a_clear_error(s3_endpoint, tmp_path):
    with pytest.raises(FileNotFoundError, match="adapters/v9"):
        fetch(f"{STORE}/v9", tmp_path / "cache")


class FailingMemoryFileSystem(MemoryFileSystem):
    """fsspec's in-memory store, except that copying the n-th file out of it fails, as a dropped
    connection would."""

    protocol = "failingmemory"
    fail_at: int | None = None
    copied = 0

    @classmethod
    def _strip_protocol(cls, path):
        return super()._strip_protocol(path.removeprefix("failingmemory://"))

    def get_file(self, rpath, lpath, **kwargs):
        FailingMemoryFileSystem.copied += 1
        if FailingMemoryFileSystem.copied == FailingMemoryFileSystem.fail_at:
            raise ConnectionResetError(f"connection reset while reading {rpath}")
        return super().get_file(rpath, lpath, **kwargs)


def test_an_interrupted_download_leaves_nothing_a_later_fetch_would_take_for_the_adapter(trained_adapter, tmp_path):
    fsspec.register_implementation("failingmemory", FailingMemoryFileSystem, clobber=True)
    store = FailingMemoryFileSystem()
    names = sorted(relative_files(trained_adapter))
    for name in names:
        store.pipe(f"/adapters/v4/{name}", (trained_adapter / name).read_bytes())
    cache = tmp_path / "cache"
    cache.mkdir()
    FailingMemoryFileSystem.fail_at, FailingMemoryFileSystem.copied = len(names), 0  # the last file fails
    with pytest.raises(ConnectionResetError):
        fetch("failingmemory://adapters/v4", cache)
    assert list(cache.iterdir()) == []  # neither a half copy under the version's name nor a leftover

    FailingMemoryFileSystem.fail_at = None
    fetched = fetch("failingmemory://adapters/v4", cache)
    assert fetched == cache / "v4" and sorted(relative_files(fetched)) == names
    assert list(cache.iterdir()) == [fetched]
