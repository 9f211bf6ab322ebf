"""Compare the training backends on this machine: peft vs unsloth (CPU fallback here), same data,
same steps, each in a fresh process so peak memory is its own. peft is the baseline.

    .venv/bin/python bench/train_backends.py --steps 8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.models import smollm2_dir  # noqa: E402

RUN = """
import json, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.support.bitext import bitext_rows
from trainer.backends import get_backend
from trainer.config import TrainConfig
result = get_backend({backend!r}).train(
    bitext_rows(64), Path({model!r}), TrainConfig(max_steps={steps}, batch_size=8, max_length=320), Path({out!r})
)
print("RESULT " + json.dumps(result.metrics()))
"""


def run(python: str, backend: str, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        code = RUN.format(root=str(ROOT), backend=backend, model=str(smollm2_dir()), steps=steps, out=out)
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--unsloth-python", default=str(ROOT / ".venv-unsloth" / "bin" / "python"))
    args = parser.parse_args()
    peft = run(sys.executable, "peft", args.steps)
    unsloth = run(args.unsloth_python, "unsloth", args.steps)
    for name, m in (("peft", peft), ("unsloth", unsloth)):
        print(
            f"{name:<8} {m['steps']} steps  loss {m['train_loss']:.4f}  {m['tokens_per_s']:7.1f} tok/s  "
            f"peak RSS {m['peak_memory_mb']:7.0f} MB  {m['duration_s']:6.1f} s"
        )
    print(
        f"ratio unsloth/peft: {unsloth['tokens_per_s'] / peft['tokens_per_s']:.2f}x tokens/s, "
        f"{unsloth['peak_memory_mb'] / peft['peak_memory_mb']:.2f}x peak memory"
    )


if __name__ == "__main__":
    main()
