"""Linear layers with their bf16 weights pre-packed for oneDNN, for answering on the CPU.

A bf16 ``nn.Linear`` on the CPU goes to oneDNN, which reorders the weight into its blocked layout
on every call: for a decode step (a few rows against a whole weight matrix) that reorder costs
as much as the product itself. Reordering each weight once (``mkldnn._reorder_linear_weight``,
what torch.compile's weight freezing does) and calling ``mkldnn._linear_pointwise`` gives the
same result, bit for bit, in about half the time:

    576 x 1536 weight, 1 thread, 2-core AMD EPYC (AVX512-BF16): 8 rows 272 -> 134 us,
    1 row 212 -> 118 us, 400 rows (a prompt) 3536 -> 3418 us (a micro-benchmark, not committed;
    the whole model: bench/packed_weights.py, 1.25x on the prompted side and 1.34x on the
    fine-tuned side on that EPYC with 2 threads, 1.17x and 1.28x on a Xeon with AMX with 1 thread,
    and bench/answer_throughput.py).

fp32 gains nothing this way (MKL's packed sgemm measured the same as plain), so only bf16 models
are packed, and only where oneDNN does bf16 natively. Only inference is packed: a packed layer
falls back to the plain product whenever autograd would need it.

The packed copy is taken from the weight as it is when ``pack_linears`` runs; a weight changed in
place afterwards (merging an adapter into it) must be repacked: ``LocalModel`` unpacks before
attaching or merging an adapter and packs again after. The packed copies take as much memory as
the linear weights themselves; a model whose linear weights exceed ``MAX_SHARE_OF_MEMORY`` of the
machine's memory is left unpacked.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)

MAX_SHARE_OF_MEMORY = 0.25
# Rows the packed layout is tuned for: a decode step of a small batch (any row count works).
ROWS_HINT = 8


class PackedForward:
    """``forward`` of one ``nn.Linear``, on a copy of its weight in oneDNN's layout."""

    def __init__(self, linear: Any, lazy: bool = False) -> None:
        self.linear = linear
        self._packed: Any = None if lazy else self._pack()

    def _pack(self) -> Any:
        import torch

        return torch.ops.mkldnn._reorder_linear_weight(self.linear.weight.detach(), ROWS_HINT)

    @property
    def packed(self) -> Any:
        if self._packed is None:
            self._packed = self._pack()
        return self._packed

    def __deepcopy__(self, memo: dict[int, Any]) -> PackedForward:
        """A copied model packs its own copy of the weight, at its first call (oneDNN's packed
        tensors have no plain storage to copy, and the layer is still being copied here)."""
        import copy

        return PackedForward(copy.deepcopy(self.linear, memo), lazy=True)

    def __call__(self, x: Any) -> Any:
        import torch

        weight, bias = self.linear.weight, self.linear.bias
        autograd = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
        if autograd or x.dtype != torch.bfloat16 or x.device.type != "cpu":
            return torch.nn.functional.linear(x, weight, bias)
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, bias, "none", [], "")


def supported(dtype: Any, device: str) -> bool:
    """Whether packing pays here: a bf16 model on a CPU where oneDNN does bf16 natively."""
    import torch

    if device != "cpu" or dtype != torch.bfloat16 or not torch.backends.mkldnn.is_available():
        return False
    ops = torch.ops.mkldnn
    needed = ("_reorder_linear_weight", "_linear_pointwise", "_is_mkldnn_bf16_supported")
    return all(hasattr(ops, name) for name in needed) and bool(ops._is_mkldnn_bf16_supported())


def _linears(model: Any) -> list[Any]:
    import torch

    return [m for m in model.modules() if type(m) is torch.nn.Linear and m.weight.dtype == torch.bfloat16]


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):  # not a POSIX system: no limit known
        return 0


def pack_linears(model: Any, device: str) -> int:
    """Pack every bf16 ``nn.Linear`` of ``model`` (see the module's docstring); returns how many.
    A layer packed before is packed again from its current weight."""
    unpack_linears(model)
    linears = _linears(model)
    if not linears or not supported(linears[0].weight.dtype, device):
        return 0
    size = sum(m.weight.numel() * m.weight.element_size() for m in linears)
    memory = _memory_bytes()
    if memory and size > MAX_SHARE_OF_MEMORY * memory:
        log.info("linear weights (%.1f GB) exceed a quarter of memory: not packed", size / 1e9)
        return 0
    for module in linears:
        module.forward = PackedForward(module)  # an instance attribute: nn.Module calls it
    return len(linears)


def unpack_linears(model: Any) -> None:
    """Back to the plain product for every layer of ``model`` (before its weights change)."""
    for module in model.modules():
        if isinstance(module.__dict__.get("forward"), PackedForward):
            del module.__dict__["forward"]


def is_packed(module: Any) -> bool:
    return isinstance(module.__dict__.get("forward"), PackedForward)
