"""`supportbot demo`: the whole loop offline, on the embedded defaults, in one command.

1. import a sample of real support answers as the team's past answers (the bundled stratified
   Bitext sample, or ``--data FILE``);
2. train the first adapter (the normal retraining run: snapshot, LoRA, gate, promotion);
3. both models answer the held-out questions: the gate's run, with the prompted model on a long
   prompt (system, the knowledge base, few-shot examples) and the fine-tuned one on its short prompt;
4. the judge's verdicts become 👍/👎 votes on those answers, stored like Slack traffic;
5. write the eval report and the weekly digest (Markdown, PNG, JSON) to the output directory.

It runs under its own Redis key prefix (``sbdemo:``, cleared first), so it never touches the
team's data, and keeps its adapters in the output directory.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console

from supportbot.cost import PriceTable
from supportbot.digest import build_digest, write_files
from supportbot.errors import InvalidImport
from supportbot.prompts import PromptSet
from supportbot.records import Answer, Question, Usage
from supportbot.redis_conn import connect
from supportbot.settings import Settings
from supportbot.store import Store
from trainer.config import TrainConfig
from trainer.dataset import build_snapshot, load_snapshot
from trainer.eval_report import api_model, cost_per_1000, example_cost, verdict, write_report
from trainer.importer import Mapping, parse
from trainer.pipeline import retrain
from trainer.progress import Reporter

DEMO_PREFIX = "sbdemo:"
JUDGE_USER = "U0JUDGE"
FEW_SHOT = 3


@dataclass(frozen=True)
class DemoSize:
    train_examples: int
    eval_questions: int
    max_steps: int  # -1: one full epoch
    # None: GATE_CONFIDENCE. 8 questions cannot show significance (at 95%, only 5 or more wins and
    # no loss can), so the quick smoke run lets the margin alone decide.
    gate_confidence: float | None = None

    @property
    def training(self) -> dict[str, Any]:
        """TrainConfig overrides: one plain epoch (or max_steps), no rows held out for early stopping."""
        return {"epochs": 1.0, "early_stopping": False, "max_steps": self.max_steps}


FULL = DemoSize(train_examples=300, eval_questions=40, max_steps=-1)
QUICK = DemoSize(train_examples=32, eval_questions=8, max_steps=4, gate_confidence=0.0)


def sample_path() -> Path:
    return Path(str(resources.files("trainer") / "demo_data" / "bitext_sample.jsonl"))


def demo_settings(settings: Settings, out: Path, size: DemoSize) -> Settings:
    return settings.model_copy(
        update={
            "key_prefix": DEMO_PREFIX,
            "adapter_store": str((out / "adapters").resolve()),
            "min_new_examples": 0,
            "train_max_examples": size.train_examples,
            "eval_limit": size.eval_questions,
            "prompt_dir": (out / "prompt").resolve(),
            "gate_confidence": settings.gate_confidence if size.gate_confidence is None else size.gate_confidence,
        }
    )


def clear(store: Store) -> int:
    keys = list(store.redis.scan_iter(match=f"{store.keys.prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        store.redis.delete(*keys[i : i + 500])
    return len(keys)


def write_prompt(directory: Path, snapshot_path: Path, knowledge: str | None, base: PromptSet) -> PromptSet:
    """The prompted side's long prompt: system text, knowledge and the shortest few-shot answers
    of different labels from the training split."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = sorted(load_snapshot(snapshot_path, "train"), key=lambda r: len(r["messages"][2]["content"]))
    examples, labels = [], set()
    for row in rows:
        if row.get("label") not in labels:
            labels.add(row.get("label"))
            examples.append({"question": row["messages"][1]["content"], "answer": row["messages"][2]["content"]})
        if len(examples) == FEW_SHOT:
            break
    (directory / "system.md").write_text(base.system + "\n", encoding="utf-8")
    (directory / "knowledge.md").write_text((knowledge or base.knowledge) + "\n", encoding="utf-8")
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)
    (directory / "examples.jsonl").write_text(lines, encoding="utf-8")
    return PromptSet.load(directory)


def record_answers(store: Store, settings: Settings, report: dict[str, Any], version: str) -> dict[str, int]:
    """The gate's held-out answers as questions and answers in the store, with the judge's verdict
    on each as a vote. Returns the votes cast per side."""
    prices = PriceTable.load(settings.price_table)
    questions: dict[str, Question] = {}
    votes: dict[str, int] = {}
    for key, variant in (("candidate", "finetuned"), ("prompted", "prompted")):
        side = report[key]
        for example in side["examples"]:
            question = questions.get(example["question"])
            if question is None:
                question = Question(text=example["question"], user=JUDGE_USER, channel="demo", source="demo")
                questions[example["question"]] = question
                store.save_question(question)
            model = api_model(settings) if variant == "prompted" else None
            answer = Answer(
                variant=variant,  # type: ignore[arg-type]
                text=example["answer"],
                model=side["name"],
                usage=Usage(example["prompt_tokens"], example["completion_tokens"]),
                latency_s=example["seconds"],
                cost_usd=example_cost(example, settings, model, prices),
                adapter_version=version if variant == "finetuned" else None,
                question_id=question.id,
                label=side["name"],
                channel="demo",
            )
            store.save_answer(answer)
            store.votes.set(answer.id, JUDGE_USER, 1 if example["correct"] else -1)
            votes[variant] = votes.get(variant, 0) + 1
    return votes


def eval_report(settings: Settings, report: dict[str, Any], version: str) -> dict[str, Any]:
    """The gate's run as an eval report: fine-tuned, prompted and the bare base model."""
    sides = {
        "finetuned": {**report["candidate"], "name": f"fine-tuned {version}"},
        "prompted": dict(report["prompted"]),
        "base": {**report["live"], "name": "base model, no adapter"},
    }
    for key, side in sides.items():
        side["cost_per_1000"] = cost_per_1000(side, settings, api_model(settings) if key == "prompted" else None)
    return {
        "source": "held-out questions (the eval split) of the demo data",
        "n": report["candidate"]["n"],
        "judge": report["judge"],
        "sides": sides,
        "verdict": verdict(sides["finetuned"], sides["prompted"]),
    }


def run_demo(  # noqa: PLR0917 - the command's options, then where it reports
    settings: Settings, out: Path, data: Path | None, quick: bool, console: Console, reporter: Reporter
) -> dict[str, Any]:
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # ours are enough; "Loading weights" bars would interleave
    started = time.perf_counter()
    size = QUICK if quick else FULL
    team_prompt_dir = settings.prompt_dir
    settings = demo_settings(settings, out, size)
    prompt_dir = out.resolve() / "prompt"
    store = Store(connect(settings), settings.key_prefix)
    clear(store)  # a demo starts from scratch: its own keys and adapters, nothing else
    shutil.rmtree(out / "adapters", ignore_errors=True)
    path = data or sample_path()
    result = parse(path, Mapping(), settings.max_question_chars, source="demo" if data is None else None)
    if data is not None:
        for line, message in result.errors:
            console.print(f"[yellow]skipped[/] {path}:{line}: {message}", highlight=False, soft_wrap=True)
    store.seeds.add_all(result.seeds)
    console.print(f"[bold]1/4[/] imported {len(result.seeds):,} past answers from {path.name}")

    snapshot = build_snapshot(store, settings.datasets_dir, settings.eval_percent, settings.min_upvoters)
    if not load_snapshot(snapshot.path, "eval"):
        raise InvalidImport(f"{path} is too small: no question was held out for evaluation")
    if data is not None and team_prompt_dir is not None:  # the team's own prompt, as in production
        settings = settings.model_copy(update={"prompt_dir": team_prompt_dir})
        prompt = PromptSet.load(team_prompt_dir)
    else:  # the bundled system prompt; Bitext's KB with the sample; few-shot answers from the data
        knowledge = (path.parent / "knowledge.md").read_text(encoding="utf-8") if data is None else None
        prompt = write_prompt(prompt_dir, snapshot.path, knowledge, PromptSet.load(None))
    console.print(
        f"    prompted model's prompt: system, {len(prompt.knowledge):,} characters of knowledge, "
        f"{len(prompt.examples)} examples ({settings.prompt_dir})"
    )

    console.print(f"[bold]2/4[/] training the first adapter on up to {size.train_examples} examples…")
    config = TrainConfig.from_settings(settings, **size.training)
    outcome = retrain(settings, store, trigger="demo", reporter=reporter, config=config, force=True)
    if outcome.version is None:
        raise InvalidImport(f"training did not run: {outcome.reason}")
    version = outcome.version
    report = version.report

    votes = record_answers(store, settings, report, version.version)
    console.print(
        f"[bold]3/4[/] both models answered {report['candidate']['n']} held-out questions; "
        f"the judge's verdicts are stored as {sum(votes.values())} votes"
    )
    evaluation = eval_report(settings, report, version.version)
    out.mkdir(parents=True, exist_ok=True)
    eval_paths = write_report(evaluation, out)
    digest = build_digest(store, settings, now=time.time() + 1)
    digest_paths = write_files(digest, out)
    seconds = time.perf_counter() - started
    summary = {
        "seconds": round(seconds, 1),
        "quick": quick,
        "data": str(path),
        "version": version.version,
        "status": outcome.status,
        "train": version.metrics,
        "training_cost_usd": version.cost_usd,
        "eval": {
            key: {field: side[field] for field in ("name", "accuracy", "ci95", "cost_per_1000")}
            for key, side in evaluation["sides"].items()
        },
        "verdict": evaluation["verdict"],
        "recommendation": digest.recommendation,
        "files": [str(p) for p in [*eval_paths, *digest_paths]],
    }
    (out / "demo.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    console.print(f"[bold]4/4[/] wrote the eval report and the digest to {out}/ in {seconds / 60:.1f} min")
    return summary
