"""Progress where people look: timed plain lines when stdout is not a terminal."""

import io
import time

from rich.console import Console

from cli.progress import LineReporter, eta, reporting


def test_lines_carry_step_loss_tokens_per_second_and_eta():
    out = io.StringIO()
    with LineReporter(Console(file=out, width=200), every_s=60) as lines:
        lines.stage("⚙ Training v1")
        lines.step({"step": 1, "total": 4, "loss": 2.5, "tokens": 800})
        lines.step({"step": 2, "total": 4, "loss": 2.0, "tokens": 1600})  # within every_s: not printed
        lines.step({"step": 4, "total": 4, "loss": 1.5, "tokens": 3200})  # the last: printed
        lines.answered("candidate", 8, 8, 512)
    text = out.getvalue().splitlines()
    assert text[0] == "⚙ Training v1"
    assert text[1].startswith("training step: 1/4 · loss 2.500 · ") and "tok/s" in text[1] and "ETA" in text[1]
    assert text[2].startswith("training step: 4/4 · loss 1.500") and text[2].endswith("ETA 0s")
    assert text[3].startswith("answering (candidate): 8/8 · questions")
    assert len(text) == 4


def test_a_line_at_least_every_interval_while_a_step_takes_long():
    out = io.StringIO()
    with LineReporter(Console(file=out, width=200), every_s=1.0) as lines:
        lines.step({"step": 1, "total": 10, "loss": 2.5, "tokens": 100})
        deadline = time.monotonic() + 10
        while out.getvalue().count("training step: 1/10") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert out.getvalue().count("training step: 1/10") >= 3  # the heartbeat repeats the latest state


def test_no_terminal_means_lines_and_a_terminal_means_bars():
    with reporting(Console(file=io.StringIO())) as reporter:
        assert isinstance(reporter, LineReporter)
    with reporting(Console(file=io.StringIO(), force_terminal=True)) as reporter:
        assert type(reporter).__name__ == "BarReporter"


def test_eta():
    assert eta(0, 10, 5.0) == "ETA ?"
    assert eta(5, 10, 30.0) == "ETA 30s"
    assert eta(1, 10, 60.0) == "ETA 9m00s"
    assert eta(10, 10, 60.0) == "ETA 0s"
