"""The GPU check: train the bundled SmolLM2 on the Bitext sample with the unsloth and peft backends,
LoRA and QLoRA (tokens/s, peak VRAM, final loss), then serve two adapter versions from vLLM by name,
one loaded at run time through /v1/load_lora_adapter, and ask each a question. Every figure goes to
<out>/gpu_check.json and <out>/gpu_check.md.

On a CUDA machine, bench/gpu_check.sh installs what this needs and runs it:
    python bench/gpu_check.py --model DIR --vllm /path/to/bin/vllm --out OUT
The CPU dry run (what the tests run): the peft backend alone for a few steps, and the serving part
against an already running OpenAI-compatible server with runtime LoRA loading:
    .venv/bin/python bench/gpu_check.py --cpu --model DIR --steps 2 --serve-url URL --out OUT

Each training run is its own process (Unsloth patches transformers when imported, and the peak
memory of a run must be its own).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GPU_RUNS = [("unsloth", "lora"), ("unsloth", "qlora"), ("peft", "lora"), ("peft", "qlora")]
CPU_RUNS = [("peft", "lora")]
QUESTION = "I ordered the wrong size. How do I cancel my order?"
SERVED_BASE = "SmolLM2-135M-Instruct"
PREFIX = "supportbot-"


class CheckError(RuntimeError):
    """The check cannot go on; the message says why."""


# --- training -------------------------------------------------------------------------------------


def bitext_rows(n: int) -> list[dict[str, Any]]:
    """The first ``n`` rows of the bundled Bitext sample, in the chat format the trainer takes."""
    from supportbot.prompts import FINETUNED_SYSTEM_PROMPT
    from trainer.demo import sample_path

    rows = []
    for line in sample_path().read_text().splitlines()[:n]:
        row = json.loads(line)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": FINETUNED_SYSTEM_PROMPT},
                    {"role": "user", "content": row["question"]},
                    {"role": "assistant", "content": row["answer"]},
                ],
                "label": row["intent"],
            }
        )
    return rows


def train_one(backend: str, quantization: str, *, model: Path, steps: int, rows: int, run_dir: Path) -> dict[str, Any]:
    """One training run in this process (called in a child by ``train_all``)."""
    from trainer.backends import get_backend
    from trainer.config import TrainConfig

    config = TrainConfig(
        max_steps=steps,
        epochs=1.0,
        batch_size=8,
        max_length=320,
        lora_r=16,
        lora_alpha=32,
        load_in_4bit=quantization == "qlora",
    )
    result = get_backend(backend).train(bitext_rows(rows), model, config, run_dir)
    metrics = result.metrics()
    return {
        "backend": backend,
        "quantization": quantization,
        "device": result.device,
        "steps": result.steps,
        "final_loss": result.loss_curve[-1]["loss"] if result.loss_curve else None,
        "train_loss": metrics["train_loss"],
        "tokens": metrics["tokens"],
        "tokens_per_s": metrics["tokens_per_s"],
        # torch.cuda.max_memory_allocated on CUDA; the process's peak RSS on CPU
        "peak_memory_mb": metrics["peak_memory_mb"],
        "peak_memory_kind": "VRAM (torch.cuda.max_memory_allocated)" if result.device == "cuda" else "RSS",
        "duration_s": metrics["duration_s"],
        "dtype": metrics["dtype"],
        "adapter_dir": str(result.adapter_dir),
    }


def train_all(runs: list[tuple[str, str]], model: Path, steps: int, rows: int, out: Path) -> list[dict[str, Any]]:
    """Every run in a child process; a failed run is recorded with its error and the others go on."""
    results = []
    for backend, quantization in runs:
        run_dir = out / "runs" / f"{backend}-{quantization}"
        command = [sys.executable, str(Path(__file__).resolve()), "--train-one", backend, quantization]
        command += ["--model", str(model), "--steps", str(steps), "--rows", str(rows), "--out", str(run_dir)]
        print(f"== train {backend} {quantization}", flush=True)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        (out / "runs").mkdir(parents=True, exist_ok=True)
        (out / "runs" / f"{backend}-{quantization}.log").write_text(done.stdout + done.stderr)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode == 0 and lines:
            result = json.loads(lines[-1].removeprefix("RESULT "))
        else:
            tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
            result = {"backend": backend, "quantization": quantization, "error": "\n".join(tail)}
        result["wall_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


# --- serving --------------------------------------------------------------------------------------


def wait_healthy(base_url: str, process: subprocess.Popen[bytes] | None, log: Path, timeout_s: float) -> float:
    """Seconds until ``<server>/health`` answers 200 (vLLM's readiness route)."""
    started = time.perf_counter()
    health = base_url.removesuffix("/v1") + "/health"
    while time.perf_counter() - started < timeout_s:
        if process is not None and process.poll() is not None:
            raise CheckError(f"vllm serve exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(1)
    raise CheckError(f"vllm serve did not answer {health} within {timeout_s:g} s:\n{log.read_text()[-4000:]}")


def start_vllm(vllm: str, model: Path, preloaded: tuple[str, Path], port: int, out: Path) -> subprocess.Popen[bytes]:
    """vLLM's OpenAI server with LoRA on, runtime loading allowed, and one adapter loaded at start."""
    name, path = preloaded
    command = [vllm, "serve", str(model), "--served-model-name", SERVED_BASE, "--port", str(port)]
    command += ["--host", "127.0.0.1", "--dtype", "bfloat16", "--enable-lora", "--max-lora-rank", "16"]
    command += ["--max-loras", "2", "--lora-modules", f"{name}={path}", "--gpu-memory-utilization", "0.3"]
    # Eager mode: no CUDA graph capture at start-up (tens of seconds); the check times loading, not peak speed.
    command += ["--max-model-len", "2048", "--enforce-eager"]
    env = {**os.environ, "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"}
    print("== " + " ".join(command), flush=True)
    with (out / "vllm.log").open("w") as log:  # the child keeps its own copy of the file
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def exercise_server(base_url: str, adapters: list[tuple[str, Path]]) -> dict[str, Any]:
    """Make sure every adapter is served under its name through the project's own client (what
    promotion calls: one listed from the same path is left alone, any other is loaded with POST
    /v1/load_lora_adapter), then ask the base model and every adapter the same question by name."""
    from openai import OpenAI

    from supportbot.lora_server import LoraServer
    from supportbot.records import AdapterVersion

    server = LoraServer(base_url, prefix=PREFIX)
    before = sorted(server.models())
    load_s: dict[str, float] = {}
    for name, path in adapters:
        version = AdapterVersion(
            version=name.removeprefix(PREFIX), base_model=SERVED_BASE, snapshot="", uri=str(path), trigger="gpu_check"
        )
        started = time.perf_counter()
        if server.ensure_loaded(version) != name:
            raise CheckError(f"{name} was loaded under another name")
        if name not in before:
            load_s[name] = round(time.perf_counter() - started, 3)
    after = sorted(server.models())
    missing = [name for name, _ in adapters if name not in after]
    server.close()
    if missing:
        raise CheckError(f"{base_url} does not list {missing} after loading them (it lists {after})")

    client = OpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=120)
    answers = []
    for model in [SERVED_BASE, *(name for name, _ in adapters)]:
        started = time.perf_counter()
        reply = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": QUESTION}],
            max_tokens=64,
            temperature=0,
        )
        answers.append(
            {
                "model": model,
                "answer": reply.choices[0].message.content,
                "completion_tokens": reply.usage.completion_tokens if reply.usage else None,
                "latency_s": round(time.perf_counter() - started, 3),
            }
        )
    return {
        "models_before": before,
        "models_after": after,
        "loaded_at_run_time": load_s,
        "question": QUESTION,
        "answers": answers,
    }


def serve(args: argparse.Namespace, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Two adapter versions by name: v1 from the first successful run (vLLM loads it at start with
    --lora-modules), v2 from the second (loaded at run time); with one run, both from it."""
    trained = [run for run in runs if "error" not in run]
    if not trained:
        raise CheckError("no training run succeeded: there is no adapter to serve")
    first, second = trained[0], trained[min(1, len(trained) - 1)]
    adapters = [(f"{PREFIX}v1", Path(first["adapter_dir"])), (f"{PREFIX}v2", Path(second["adapter_dir"]))]
    process = None
    if args.serve_url:
        base_url, startup_s = args.serve_url.rstrip("/"), None
    else:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}/v1"
        process = start_vllm(args.vllm, args.model, adapters[0], port, args.out)
        startup_s = round(wait_healthy(base_url, process, args.out / "vllm.log", args.vllm_timeout_s), 1)
    try:
        result = exercise_server(base_url, adapters)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)
    adapters_from = {
        name: f"{run['backend']} {run['quantization']}"
        for (name, _), run in zip(adapters, (first, second), strict=True)
    }
    return {"server": base_url, "startup_s": startup_s, "adapters_from": adapters_from, **result}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the report -----------------------------------------------------------------------------------


def machine(cpu_mode: bool) -> dict[str, Any]:
    import torch

    from supportbot.hardware import cpu_model_name

    info: dict[str, Any] = {
        "cpu": cpu_model_name(),
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if not cpu_mode:
        info |= {
            "gpu": torch.cuda.get_device_name(0),
            "gpu_memory_gb": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1),
            "cuda": torch.version.cuda,
        }
    return info


def ratios(runs: list[dict[str, Any]]) -> dict[str, float]:
    """unsloth against peft (same quantization) and QLoRA against LoRA (same backend), where both ran."""
    done = {(r["backend"], r["quantization"]): r for r in runs if "error" not in r}
    found: dict[str, float] = {}
    for quantization in ("lora", "qlora"):
        u, p = done.get(("unsloth", quantization)), done.get(("peft", quantization))
        if u and p and p["tokens_per_s"] and p["peak_memory_mb"]:
            found[f"unsloth/peft tokens/s ({quantization})"] = round(u["tokens_per_s"] / p["tokens_per_s"], 2)
            found[f"unsloth/peft peak memory ({quantization})"] = round(u["peak_memory_mb"] / p["peak_memory_mb"], 2)
    for backend in ("unsloth", "peft"):
        q, lo = done.get((backend, "qlora")), done.get((backend, "lora"))
        if q and lo and lo["peak_memory_mb"]:
            found[f"qlora/lora peak memory ({backend})"] = round(q["peak_memory_mb"] / lo["peak_memory_mb"], 2)
    return found


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    where = f"{m.get('gpu', 'no GPU')} · {m['cpu']} · torch {m['torch']}"
    lines = [
        f"# GPU check ({results['mode']} mode)",
        "",
        f"{where}; {results['steps']} steps of 8 Bitext examples (max 320 tokens), LoRA r=16 alpha=32.",
        "",
        "| backend | quantization | steps | final loss | tokens/s | peak memory (MB) | time (s) | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["runs"]:
        if "error" in r:
            note = r["error"].splitlines()[-1][:120] if r["error"] else "failed"
            lines.append(f"| {r['backend']} | {r['quantization']} | | | | | | failed: {note} |")
            continue
        loss = f"{r['final_loss']:.4f}" if r["final_loss"] is not None else ""
        lines.append(
            f"| {r['backend']} | {r['quantization']} | {r['steps']} | {loss} | {r['tokens_per_s']} | "
            f"{r['peak_memory_mb']} ({r['peak_memory_kind']}) | {r['duration_s']} | {r['dtype']} |"
        )
    if results["ratios"]:
        lines += ["", "Ratios (same run): " + "; ".join(f"{k} {v}x" for k, v in results["ratios"].items())]
    serving = results.get("serving")
    if serving and "error" not in serving:
        startup = "already running" if serving["startup_s"] is None else f"vllm serve ready in {serving['startup_s']} s"
        lines += [
            "",
            f"Serving at {serving['server']} ({startup}): listed at start "
            f"{', '.join(serving['models_before'])}; loaded at run time: "
            + (", ".join(f"{name} in {s} s" for name, s in serving["loaded_at_run_time"].items()) or "none")
            + ". Adapters: "
            + ", ".join(f"{name} from {source}" for name, source in serving["adapters_from"].items()),
            "",
            f"Question: {serving['question']}",
            "",
            "| model | latency (s) | tokens | answer |",
            "| --- | --- | --- | --- |",
        ]
        for a in serving["answers"]:
            text = (a["answer"] or "").replace("|", "\\|").replace("\n", " ")[:200]
            lines.append(f"| {a['model']} | {a['latency_s']} | {a['completion_tokens']} | {text} |")
    elif serving:
        lines += ["", f"Serving failed: {serving['error']}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(os.environ.get("OUT") or "/tmp/supportbot-gpu-check/results"), help="$OUT"
    )
    parser.add_argument("--model", type=Path, help="base model directory (default: the bundled SmolLM2)")
    parser.add_argument("--steps", type=int, default=30, help="training steps per run")
    parser.add_argument("--rows", type=int, default=240, help="Bitext examples to train on")
    parser.add_argument("--cpu", action="store_true", help="the dry run: peft on CPU only, no vLLM start")
    parser.add_argument("--vllm", default="vllm", help="the vllm executable")
    parser.add_argument("--vllm-timeout-s", type=float, default=420.0)
    parser.add_argument("--serve-url", help="an OpenAI-compatible server already running (…/v1) instead of vLLM")
    parser.add_argument("--train-one", nargs=2, metavar=("BACKEND", "QUANTIZATION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.model is None:
        from supportbot.base_model import resolve_base_model
        from supportbot.settings import load_settings

        args.model = resolve_base_model(load_settings(), show_progress=False)

    if args.train_one:
        backend, quantization = args.train_one
        print(
            "RESULT "
            + json.dumps(
                train_one(backend, quantization, model=args.model, steps=args.steps, rows=args.rows, run_dir=args.out)
            )
        )
        return 0

    import torch

    if not args.cpu and not torch.cuda.is_available():
        raise SystemExit(
            "gpu_check: no CUDA GPU is visible here (torch.cuda.is_available() is False): run it on a machine "
            "with an NVIDIA GPU and a CUDA build of torch (bench/gpu_check.sh installs one), or pass --cpu "
            "for the CPU dry run"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    runs = train_all(CPU_RUNS if args.cpu else GPU_RUNS, args.model, args.steps, args.rows, args.out)
    results: dict[str, Any] = {
        "mode": "cpu" if args.cpu else "gpu",
        "machine": machine(args.cpu),
        "model": str(args.model),
        "steps": args.steps,
        "rows": args.rows,
        "runs": runs,
        "ratios": ratios(runs),
    }
    if args.cpu and not args.serve_url:
        results["serving"] = None
    else:
        try:
            results["serving"] = serve(args, runs)
        except Exception as exc:  # recorded, and the exit status says it failed
            results["serving"] = {"error": f"{type(exc).__name__}: {exc}"}
    results["total_s"] = round(time.perf_counter() - started, 1)
    (args.out / "gpu_check.json").write_text(json.dumps(results, indent=1))
    (args.out / "gpu_check.md").write_text(markdown(results))
    print((args.out / "gpu_check.md").read_text())
    failed = [f"{r['backend']} {r['quantization']}" for r in runs if "error" in r]
    if results["serving"] and "error" in results["serving"]:
        failed.append("serving")
    if failed:
        print(f"gpu_check: failed: {', '.join(failed)} (see {args.out})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
