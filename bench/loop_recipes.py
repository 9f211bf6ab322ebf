"""The learning loop's second training again, with other recipes, scored on the loop's questions.

    .venv/bin/python bench/loop_recipes.py OUT --intents a,b,c,d,e [--seed 0] \\
        --recipe default: --recipe weight10:CORRECTION_WEIGHT=10 --recipe lr5e-4:LEARNING_RATE=5e-4

OUT is a ``supportbot simulate --out`` folder. The scenario is rebuilt from the same data, intents
and seed (the script checks that its measured questions are the report's). v2's training snapshot
is the newest under OUT/data/datasets: the seeds and what the simulated people approved. Each
recipe (settings as environment names, over the configured ones and TRAIN_EPOCHS=1, as the loop
ran) trains a fresh adapter from that snapshot with the peft backend; the base with it merged
answers every measured question once (the short prompt, greedy, --max-new-tokens, one batch), and
the project's headline judge scores them against the scenario's reference pool, as the loop does.
The adapters the loop itself trained (OUT/adapters/v1, v2) are answered and scored the same way
first, so each recipe compares with them in one run, on one CPU and one batch shape.

A development tool: it measures what a recipe would do to the loop's figures, and a single run
is one draw (the loop swings by several points between runs of one command).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulation.scenario import ScenarioSize, build_scenario
from simulation.scoring import reference_pool
from supportbot.base_model import resolve_base_model
from supportbot.errors import ConfigError
from supportbot.prompts import short_messages
from supportbot.responders.local_model import LocalModel
from supportbot.settings import Settings, load_settings
from trainer.backends import get_backend
from trainer.config import TrainConfig
from trainer.dataset import load_snapshot
from trainer.demo import sample_path
from trainer.importer import Mapping, parse
from trainer.judge import make_judge
from trainer.pipeline import training_rows


def recipe(text: str) -> tuple[str, dict[str, str]]:
    """``NAME:SETTING=VALUE,...`` as the name and the settings (environment names)."""
    name, _, pairs = text.partition(":")
    malformed = [pair for pair in pairs.split(",") if pair and "=" not in pair]
    if not name or malformed:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME:SETTING=VALUE,... (e.g. w10:CORRECTION_WEIGHT=10)")
    return name, dict(pair.split("=", 1) for pair in pairs.split(",") if pair)


def settings_with(values: dict[str, str]) -> Settings:
    """The configured settings with ``values`` (environment names) over them; the environment is
    left as it was."""
    with patch.dict(os.environ, values):
        return load_settings()


def checked_recipe(text: str) -> tuple[str, Settings]:
    """An argparse type: the recipe's name and its settings, refused before any training if a
    value is not one the settings accept."""
    name, values = recipe(text)
    try:
        return name, settings_with(values)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="a `supportbot simulate --out` folder")
    parser.add_argument("--intents", required=True, help="the held-out intents the loop ran with")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="the loop's data (default: the bundled sample)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument(
        "--recipe", action="append", default=[], type=checked_recipe, help="NAME:SETTING=VALUE,... (repeatable)"
    )
    os.environ.setdefault("TRAIN_EPOCHS", "1")  # as the loop ran; before the recipes' settings are read
    args = parser.parse_args()

    settings = load_settings()
    rows = parse(args.data or sample_path(), Mapping(), settings.max_question_chars).seeds
    scenario = build_scenario(rows, ScenarioSize(), [i.strip() for i in args.intents.split(",")], args.seed)
    report = json.loads((args.out / "simulation.json").read_text())
    reported = [q["question"] for q in report["questions"]]
    if reported != [item.question for item in scenario.measured]:
        sys.exit("the rebuilt scenario's measured questions are not the report's: check --intents, --seed, --data")
    snapshots = sorted((args.out / "data" / "datasets").rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    snapshot = [p for p in snapshots if load_snapshot(p, "train")][-1]
    train_snapshot = load_snapshot(snapshot, "train")

    base_dir = resolve_base_model(settings, show_progress=False)
    base = LocalModel(base_dir)
    judge = make_judge(settings)
    pool = reference_pool(scenario.references)
    measured = scenario.measured
    conversations = [short_messages(item.question) for item in measured]
    print(f"snapshot {snapshot.name}: {len(train_snapshot)} training rows; {len(measured)} measured questions")
    print(f"machine: {base.hardware.describe(base.dtype)}")

    def score(name: str, adapter_dir: Path, extra: str = "") -> None:
        model = base.merged_copy(adapter_dir, name)
        answers = [g.text for g in model.generate_batch(conversations, args.max_new_tokens)]
        verdicts = judge.judge(answers, [i.reference for i in measured], [i.label for i in measured], pool)
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for item, right in zip(measured, verdicts.strict, strict=True):
            for key in ("held-out" if scenario.is_held_out(item) else "others", item.label):
                tally[key][0] += int(right)
                tally[key][1] += 1
        held, others = tally["held-out"], tally["others"]
        per = " ".join(f"{label} {tally[label][0]}/{tally[label][1]}" for label in scenario.held_out)
        print(
            f"{name:<16} held-out {100 * held[0] / held[1]:5.1f}% ({held[0]}/{held[1]})  "
            f"others {100 * others[0] / others[1]:5.1f}% ({others[0]}/{others[1]})  [{per}]{extra}",
            flush=True,
        )

    for version in ("v1", "v2"):
        found = sorted((args.out / "adapters").glob(f"{version}*"))
        if found:
            score(f"loop {version}", found[0])
    backend = get_backend("peft")
    for name, configured in args.recipe:
        train = training_rows(train_snapshot, configured.train_max_examples, configured.correction_weight)
        config = TrainConfig.from_settings(configured)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="recipe-") as work:
            result = backend.train(train, base_dir, config, Path(work))
            extra = f"  ({len(train)} rows, loss {result.train_loss:.3f}, {time.perf_counter() - started:.0f} s)"
            score(name, result.adapter_dir, extra)


if __name__ == "__main__":
    main()
