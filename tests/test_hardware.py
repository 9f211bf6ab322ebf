"""The dtype follows what the hardware does natively, never a hard-coded choice."""

import pytest

from supportbot.hardware import Hardware, cpu_bf16_native, detect, pick_dtype, usable_cores


def machine(device: str = "cpu", bf16: bool = False) -> Hardware:
    return Hardware(device, "test CPU", "AVX2", bf16, bf16, 2)


@pytest.mark.parametrize(
    ("device", "bf16", "choice", "expected"),
    [
        ("cpu", False, "auto", "float32"),  # AVX2-only: bf16 training ran 10.5x slower than fp32
        ("cpu", True, "auto", "bfloat16"),  # AVX512-BF16 or AMX
        ("cuda", True, "auto", "bfloat16"),
        ("cuda", False, "auto", "float16"),  # older GPUs
        ("cpu", False, "bfloat16", "bfloat16"),  # asked for by name: kept
        ("cpu", True, "float32", "float32"),
        ("cpu", True, "float16", "float32"),  # emulated on CPU: fp32 instead
        ("cuda", True, "float16", "float16"),
    ],
)
def test_pick_dtype(device, bf16, choice, expected):
    assert pick_dtype(choice, machine(device, bf16)) == expected


def test_detection_asks_torch_and_the_override_wins():
    import torch

    found = detect("auto")
    assert found.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert found.bf16 == found.bf16_detected == cpu_bf16_native()
    assert found.capability == torch.backends.cpu.get_cpu_capability()
    assert found.threads == torch.get_num_threads() >= 1
    off = detect("no")
    assert (off.bf16, off.bf16_detected) == (False, found.bf16_detected)
    assert pick_dtype("auto", off) == "float32"
    assert pick_dtype("auto", detect("yes")) == "bfloat16"
    assert "no native bf16" in off.describe("float32") and "float32" in off.describe("float32")


@pytest.fixture
def fresh_detection():
    """Detection runs again (it is cached per process), and torch's threads come back after."""
    import torch

    from supportbot.hardware import _detect

    threads = torch.get_num_threads()
    _detect.cache_clear()
    yield
    _detect.cache_clear()
    torch.set_num_threads(threads)


def test_torch_uses_every_core_this_process_may_run_on(monkeypatch, fresh_detection):
    import os

    import torch

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    torch.set_num_threads(1)
    detect()
    assert torch.get_num_threads() == len(os.sched_getaffinity(0))


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores to tell a kept limit from all cores")
def test_an_operators_omp_num_threads_is_kept(monkeypatch, fresh_detection):
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)  # what torch starts with under OMP_NUM_THREADS=1
    assert detect().threads == torch.get_num_threads() == 1


@pytest.mark.parametrize(("sides", "omp", "expected"), [(1, None, None), (2, None, 3), (2, "1", None)])
def test_each_of_two_local_sides_gets_half_the_cores_this_process_may_use(monkeypatch, sides, omp, expected):
    from supportbot.responders.local_side import threads_per_side

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    if omp:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    monkeypatch.setattr("supportbot.responders.local_side.usable_cores", lambda: 6)
    assert threads_per_side(sides) == expected  # 6 usable cores


def test_the_local_model_loads_in_the_picked_dtype(tiny_model):
    import torch

    from supportbot.responders.local_model import LocalModel

    model = LocalModel(tiny_model, bf16="no")
    assert model.dtype == "float32" and model.model.dtype == torch.float32
    model = LocalModel(tiny_model, bf16="yes")
    assert model.dtype == "bfloat16" and model.model.dtype == torch.bfloat16
