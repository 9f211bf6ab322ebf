"""bench/gpu_check: the GPU check's driver in its CPU dry run (peft on the tiny model, a stand-in for
vLLM's server shaped by its documented API), its report, and the clear stops where no GPU is."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import PROJECT
from tests.support.vllm_standin import VllmStandIn

DRIVER = PROJECT / "bench" / "gpu_check.py"
SCRIPT = PROJECT / "bench" / "gpu_check.sh"


def load_driver():
    spec = importlib.util.spec_from_file_location("gpu_check", DRIVER)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module
    spec.loader.exec_module(module)
    return module


def run_driver(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DRIVER), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=False,
    )


@pytest.fixture
def standin():
    server = VllmStandIn().start()
    yield server
    server.stop()


def test_the_cpu_dry_run_trains_and_serves_two_versions_by_name(tiny_model, tmp_path, standin):
    out = tmp_path / "results"
    done = run_driver(
        "--cpu",
        "--model",
        str(tiny_model),
        "--steps",
        "2",
        "--rows",
        "16",
        "--serve-url",
        standin.url,
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "gpu_check.json").read_text())
    assert results["mode"] == "cpu" and results["steps"] == 2 and results["model"] == str(tiny_model)
    assert results["machine"]["cpu"] and results["machine"]["torch"]

    (run,) = results["runs"]
    assert (run["backend"], run["quantization"], run["device"], run["steps"]) == ("peft", "lora", "cpu", 2)
    assert run["final_loss"] > 0 and run["tokens"] > 0 and run["tokens_per_s"] > 0
    assert run["peak_memory_mb"] > 0 and run["peak_memory_kind"] == "RSS"
    adapter = Path(run["adapter_dir"])
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 16
    assert (out / "runs" / "peft-lora.log").exists()

    serving = results["serving"]
    # Both versions went through POST /v1/load_lora_adapter under their immutable names, from the
    # adapter directory the run wrote, and each was asked by its name.
    assert standin.loads() == [
        {"lora_name": "supportbot-v1", "lora_path": str(adapter)},
        {"lora_name": "supportbot-v2", "lora_path": str(adapter)},
    ]
    assert set(serving["loaded_at_run_time"]) == {"supportbot-v1", "supportbot-v2"}
    assert serving["models_before"] == ["SmolLM2-135M-Instruct"]
    assert {"supportbot-v1", "supportbot-v2"} <= set(serving["models_after"])
    assert standin.asked() == ["SmolLM2-135M-Instruct", "supportbot-v1", "supportbot-v2"]
    assert [a["answer"] for a in serving["answers"]] == [f"answer from {m}" for m in standin.asked()]

    report = (out / "gpu_check.md").read_text()
    assert "| peft | lora | 2 |" in report and "supportbot-v2" in report and "(cpu mode)" in report


def test_a_failed_run_is_recorded_and_the_check_fails(tmp_path, standin):
    out = tmp_path / "results"
    done = run_driver(
        "--cpu", "--model", str(tmp_path / "no-model"), "--steps", "1", "--serve-url", standin.url, "--out", str(out)
    )
    assert done.returncode == 1
    assert "failed: peft lora, serving" in done.stderr
    results = json.loads((out / "gpu_check.json").read_text())
    assert results["runs"][0]["error"]  # the child's own error, kept
    assert "no training run succeeded" in results["serving"]["error"]
    assert "failed:" in (out / "gpu_check.md").read_text()
    assert standin.loads() == []


def test_without_cuda_the_gpu_mode_stops_with_a_clear_message(tiny_model, tmp_path):
    done = run_driver("--model", str(tiny_model), "--out", str(tmp_path / "results"))
    assert done.returncode != 0
    assert "no CUDA GPU is visible here" in done.stderr and "--cpu" in done.stderr
    assert not (tmp_path / "results" / "gpu_check.json").exists()


def run_script_with(tmp_path: Path, nvidia_smi: str) -> subprocess.CompletedProcess:
    """bench/gpu_check.sh with a stand-in ``nvidia-smi`` (the machine's edge) first on PATH."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\n" + nvidia_smi)
    (fake / "nvidia-smi").chmod(0o755)
    return subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "results")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "GPU_CHECK_WORK": str(tmp_path / "work")},
        check=False,
    )


def test_the_script_stops_before_installing_anything_without_an_nvidia_gpu(tmp_path):
    done = run_script_with(tmp_path, "echo 'NVIDIA-SMI has failed: no devices were found' >&2\nexit 9\n")
    assert done.returncode == 2
    assert "no NVIDIA GPU here" in done.stderr and "gpu_check.py --cpu" in done.stderr
    assert not (tmp_path / "work").exists()  # nothing was installed


def test_the_script_stops_before_installing_anything_with_a_driver_older_than_cuda_13(tmp_path):
    done = run_script_with(
        tmp_path,
        "echo '| NVIDIA-SMI 570.86  Driver Version: 570.86  CUDA Version: 12.8 |'\necho 'GPU 0: NVIDIA H200'\n",
    )
    assert done.returncode == 2
    assert "this NVIDIA driver runs CUDA 12" in done.stderr and "R580" in done.stderr
    assert not (tmp_path / "work" / "uv").exists()  # nothing was installed


def test_ratios_compare_backends_and_quantizations_that_both_ran():
    gpu_check = load_driver()
    runs = [
        {"backend": "unsloth", "quantization": "lora", "tokens_per_s": 3000.0, "peak_memory_mb": 1000.0},
        {"backend": "unsloth", "quantization": "qlora", "tokens_per_s": 2500.0, "peak_memory_mb": 600.0},
        {"backend": "peft", "quantization": "lora", "tokens_per_s": 1500.0, "peak_memory_mb": 2000.0},
        {"backend": "peft", "quantization": "qlora", "error": "out of memory"},
    ]
    assert gpu_check.ratios(runs) == {
        "unsloth/peft tokens/s (lora)": 2.0,
        "unsloth/peft peak memory (lora)": 0.5,
        "qlora/lora peak memory (unsloth)": 0.6,
    }


def test_vllm_is_started_with_lora_on_runtime_loading_allowed_and_v1_loaded(tmp_path):
    """vLLM itself runs only on the GPU machine: a stand-in executable records how it is started."""
    gpu_check = load_driver()
    record = tmp_path / "argv.json"
    fake = tmp_path / "vllm"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'runtime': os.environ.get('VLLM_ALLOW_RUNTIME_LORA_UPDATING')}}, "
        f"open({str(record)!r}, 'w'))\nprint('engine failed to start')\nsys.exit(3)\n"
    )
    fake.chmod(0o755)
    adapter = tmp_path / "adapter"
    process = gpu_check.start_vllm(str(fake), Path("/models/smol"), ("supportbot-v1", adapter), 8123, tmp_path)
    with pytest.raises(gpu_check.CheckError, match="vllm serve exited with 3:\nengine failed to start"):
        gpu_check.wait_healthy("http://127.0.0.1:8123/v1", process, tmp_path / "vllm.log", timeout_s=60)
    started = json.loads(record.read_text())
    assert started["runtime"] == "True"
    argv = started["argv"]
    assert argv[:2] == ["serve", "/models/smol"] and "--enable-lora" in argv
    flags = {argv[i]: argv[i + 1] for i in range(2, len(argv) - 1) if argv[i].startswith("--")}
    assert flags["--lora-modules"] == f"supportbot-v1={adapter}"
    assert flags["--served-model-name"] == "SmolLM2-135M-Instruct" and flags["--port"] == "8123"
    assert int(flags["--max-lora-rank"]) >= 16 and int(flags["--max-loras"]) >= 2
