"""What this machine does natively, and the dtype that fits it.

bf16 is only fast where the hardware has it: measured on an AVX2-only EPYC, a bf16 training step
ran 10.5x slower than fp32, while a CPU with AVX512-BF16 trained 1.66x faster in bf16. So the
default is picked from torch's own checks, never hard-coded:

- CUDA: bf16 where the GPU supports it, else fp16;
- CPU: bf16 with AVX512-BF16 or AMX (``torch.cpu._is_avx512_bf16_supported`` /
  ``_is_amx_tile_supported``), else fp32 (fp16 on CPU is emulated and slow).

``HARDWARE_BF16=no`` treats bf16 as missing (to reproduce an AVX2-only CPU anywhere), ``yes``
as present. torch only imported inside the functions: the bot's own code never needs it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

Dtype = Literal["bfloat16", "float16", "float32"]
DtypeChoice = Literal["auto", "bfloat16", "float16", "float32"]
Bf16Override = Literal["auto", "yes", "no"]


@dataclass(frozen=True)
class Hardware:
    device: str  # "cuda" or "cpu"
    name: str  # the GPU's or the CPU's model name
    capability: str  # torch's CPU kernel level (AVX2, AVX512, ...) or the CUDA compute capability
    bf16: bool  # bf16 done natively (after HARDWARE_BF16)
    bf16_detected: bool  # what torch's checks said
    threads: int  # torch's intra-op threads

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self, dtype: str | None = None) -> str:
        bf16 = "bf16 native" if self.bf16 else "no native bf16"
        if self.bf16 != self.bf16_detected:
            bf16 += " (HARDWARE_BF16 override)"
        parts = [f"{self.device}: {self.name}", f"{self.capability}, {bf16}"]
        if dtype:
            parts.append(dtype)
        if self.device == "cpu":
            parts.append(f"{self.threads} threads")
        return " · ".join(parts)


def cpu_model_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_set_by_operator() -> bool:
    """Whether OMP_NUM_THREADS is set: then torch's thread count is the operator's, and stands."""
    return bool(os.environ.get("OMP_NUM_THREADS"))


def cpu_bf16_native() -> bool:
    """torch's own checks: AVX512-BF16 or AMX (either makes bf16 matmuls native)."""
    import torch

    cpu: Any = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


@cache
def _detect(override: Bf16Override) -> Hardware:
    import torch

    if not threads_set_by_operator():
        torch.set_num_threads(usable_cores())
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        detected = bool(torch.cuda.is_bf16_supported())
        name, device, capability = torch.cuda.get_device_name(), "cuda", f"sm_{major}{minor}"
    else:
        detected = cpu_bf16_native()
        name, device, capability = cpu_model_name(), "cpu", torch.backends.cpu.get_cpu_capability()
    bf16 = detected if override == "auto" else override == "yes"
    return Hardware(device, name, capability, bf16, detected, torch.get_num_threads())


def detect(override: Bf16Override = "auto") -> Hardware:
    """The machine, once per process. torch then uses all the cores this process may run on, unless
    OMP_NUM_THREADS is set: that limit is kept."""
    return _detect(override)


def pick_dtype(choice: DtypeChoice, hardware: Hardware) -> Dtype:
    """``auto``: bf16 where native, fp16 on a GPU without bf16, else fp32. A named dtype is kept,
    except fp16 on CPU, which torch only emulates: fp32 there."""
    if choice == "float16" and hardware.device == "cpu":
        return "float32"
    if choice != "auto":
        return choice
    if hardware.bf16:
        return "bfloat16"
    return "float16" if hardware.device == "cuda" else "float32"


def torch_dtype(name: Dtype) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]
