"""The report: before/after per side and intent group, the goal's verdict, the scheduler's lines."""

from pathlib import Path

from simulation.loop import Loop
from simulation.report import Outcome, build_report, markdown, scheduler_lines
from simulation.scenario import Item, Scenario
from simulation.scoring import Phase, Verdict
from simulation.workspace import Asked, Shown
from supportbot.records import AdapterVersion
from supportbot.settings import load_settings

LOG = """\
INFO scheduled retraining at 2026-11-28T17:40:00+00:00 skipped: 3 new approved examples, MIN_NEW_EXAMPLES=10
INFO scheduled retraining at 2026-11-28T17:41:00+00:00 enqueued (10 new examples)
INFO scheduled retraining at 2026-11-28T17:42:00+00:00 skipped: a training is running
"""


def test_scheduler_lines_count_the_skipped_fire_times_and_name_the_enqueued_one():
    found = scheduler_lines(LOG)
    assert found["skipped"] == 2 and found["enqueued_at"] == ["2026-11-28T17:41:00+00:00"]


def phase(items: list[Item], version: str, right: list[bool]) -> Phase:
    asked = [
        Asked(
            item,
            "U0A",
            "C0",
            "1.1",
            {v: Shown(v, f"Fine-tuned {version}", "t", "2.2", "a") for v in ("finetuned", "prompted")},
            1.0,
        )
        for item in items
    ]
    verdicts = [Verdict(ok, ok) for ok in right]
    return Phase(asked, {"finetuned": verdicts, "prompted": [Verdict(False, False)] * len(items)})


def test_the_goal_needs_thirty_points_on_held_out_and_no_loss_over_three_elsewhere(tmp_path: Path):
    held = [Item(f"h{i}", "r", "held") for i in range(10)]
    other = [Item(f"o{i}", "r", "other") for i in range(10)]
    scenario = Scenario(["held"], ["other"], [], [], held + other, {"held": ["r"], "other": ["r"]})
    loop = Loop(load_settings(), scenario, tmp_path, lambda a, r: ([], []), lambda s, st: None, print)  # type: ignore[arg-type, return-value]
    first = AdapterVersion("v1", "base", "s1", "u1", "cli", status="promoted")
    second = AdapterVersion("v2", "base", "s2", "u2", "schedule", status="promoted",
                            report={"decision": {"reason": "b=9, c=1"}})  # fmt: skip
    before = phase(held + other, "v1", [False] * 10 + [True] * 10)
    after = phase(held + other, "v2", [True] * 4 + [False] * 6 + [True] * 10)
    outcome = Outcome(first, second, {"version": "v2", "seconds": 1.0, "probes": ["v2"]}, before, after,
                      {"corrections": 9, "by_path": {"modal": 5, "thread": 4}, "upvoted": 1, "voters": 2,
                       "new_examples": 10}, ["digest v1"], ["digest v2"], LOG)  # fmt: skip
    report = build_report(loop, outcome)
    assert report["accuracy"]["finetuned"]["held_out"]["change_pts"] == 40.0
    assert report["accuracy"]["finetuned"]["other"]["change_pts"] == 0.0
    assert report["goal"]["met"] == {"held_out_gain": True, "no_loss_elsewhere": True, "time": True, "promoted": True}
    assert report["versions"] == {"before": {"v1": 20}, "after": {"v2": 20}}
    text = markdown(report)
    assert "| fine-tuned | held out | 10 | 0.0% | 40.0% | +40.0 pts |" in text
    assert "≥ +30 pts on held-out intents: +40.0 (met)" in text
    # The training recipe is part of the record: the same loop learns differently at another rate.
    assert (report["settings"]["learning_rate"], report["settings"]["lora_rank"]) == (2e-4, 16)
    assert report["settings"]["correction_weight"] == 5
    assert "learning_rate 0.0002, lora_rank 16, correction_weight 5, upvote headline." in text

    worse = phase(held + other, "v2", [True] * 4 + [False] * 6 + [True] * 9 + [False])  # one other lost: -10 pts
    report = build_report(loop, Outcome(first, second, None, before, worse, outcome.teaching, [], [], LOG))
    assert report["goal"]["met"]["no_loss_elsewhere"] is False
    assert "no loss > 3 pts elsewhere: -10.0 (NOT met)" in markdown(report)


def test_the_report_names_the_dtype_the_bot_answered_in():
    """HARDWARE_BF16=no runs the loop in fp32 on a bf16 CPU: the report must not say bf16."""
    from cli.simulate import machine

    fp32 = machine(load_settings(hardware_bf16="no"))["hardware"]
    assert "float32" in fp32 and "no native bf16" in fp32
    named = machine(load_settings(local_dtype="float32"))["hardware"]
    assert "float32" in named
