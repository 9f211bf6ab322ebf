"""`supportbot train`, `adapters` and `rollback` from the command line (tiny model)."""

from click.testing import CliRunner

from cli.main import main
from tests.support.paths import BITEXT


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_train_reports_the_gate_then_rollback(tiny_env, redis_client, monkeypatch):
    monkeypatch.setenv("HARDWARE_BF16", "no")
    monkeypatch.setenv("TRAIN_MAX_EXAMPLES", "8")
    monkeypatch.setenv("EVAL_LIMIT", "4")
    assert run("import", str(BITEXT)).exit_code == 0

    first = run("train", "--max-steps", "1")
    assert first.exit_code == 0, first.output
    flat = " ".join(first.output.split())
    assert "Training v1 with peft" in flat
    assert "candidate" in flat and "bare" in flat and "prompted" in flat  # the gate's three sides
    assert "v1: rejected" in flat or "v1: promoted" in flat
    # Not a terminal (as in docker logs): the machine, then plain progress lines, not bars.
    assert "training on cpu: " in flat and ("bf16 native" in flat or "no native bf16" in flat)
    assert "training step: 1/1 · loss " in flat and "tok/s" in flat and "ETA" in flat
    assert "answering (candidate): 4/4 · questions" in flat
    assert "no native bf16 (HARDWARE_BF16 override)" in flat
    from supportbot.adapters import AdapterRegistry
    from supportbot.store import Store

    (version,) = AdapterRegistry(redis_client, Store(redis_client).keys).all()
    assert version.metrics["dtype"] == "float32"  # bf16 treated as missing: fp32, stored with the version
    assert version.metrics["hardware"]["bf16"] is False and version.metrics["hardware"]["capability"]

    skipped = run("train")  # nothing new since v1
    assert "Skipped: only 0 new approved examples" in " ".join(skipped.output.split())

    listing = run("adapters")
    assert "v1" in listing.output

    rolled = run("rollback", "v1")
    assert rolled.exit_code == 0 and "v1 is now the active adapter" in rolled.output
    assert "(active)" in run("adapters").output
    missing = run("rollback", "v9")
    assert missing.exit_code == 2 and "error: no adapter version 'v9'" in missing.output


def test_train_enqueue_puts_a_job_on_the_queue(tiny_env, redis_client):
    from redis import Redis

    from supportbot.training_queue import queue_for
    from tests.conftest import TEST_REDIS_URL

    result = run("train", "--enqueue")
    assert result.exit_code == 0 and "queued training job" in result.output
    (job,) = queue_for(Redis.from_url(TEST_REDIS_URL)).jobs  # read back with the JSON serializer
    assert job.kwargs == {"trigger": "cli", "notify": None, "force": False}


def test_adapters_shows_the_strict_headline_and_the_gates_paired_test(redis_client, monkeypatch):
    from cli.common import console
    from supportbot.adapters import AdapterRegistry
    from supportbot.records import AdapterVersion
    from supportbot.store import Store

    monkeypatch.setattr(console, "width", 300)  # one line per version, whatever the terminal
    registry = AdapterRegistry(redis_client, Store(redis_client).keys)
    candidate = {"name": "candidate", "accuracy": 0.725, "ci95": [0.57, 0.84], "lenient_accuracy": 0.95, "n": 40}
    live = {"name": "bare base", "accuracy": 0.45, "ci95": [0.31, 0.6], "lenient_accuracy": 0.9, "n": 40}
    test = {"name": "McNemar exact, one-sided", "b": 12, "c": 1, "n": 40, "p_value": 14 / 2**13}
    decision = {"promote": True, "reason": "r", "confidence": 0.95, "test": test}
    registry.save(
        AdapterVersion(
            version="v1",
            base_model="base",
            snapshot="abc",
            uri="/nowhere",
            trigger="cli",
            report={"candidate": candidate, "live": live, "decision": decision},
        )
    )
    old = {"name": "live v1", "accuracy": 0.9, "ci95": [0.8, 0.95], "strict_accuracy": 0.5, "n": 40}
    registry.save(
        AdapterVersion(
            version="v2",
            base_model="base",
            snapshot="def",
            uri="/nowhere",
            trigger="cli",
            report={"candidate": old, "live": old, "decision": {"promote": False, "reason": "r"}},
        )
    )
    output = run("adapters").output.splitlines()
    lines = {v: next(line for line in output if line.lstrip("│ ").startswith(v)) for v in ("v1", "v2")}
    assert "72.5%" in lines["v1"] and "95.0%" in lines["v1"] and "bare base 45.0%" in lines["v1"]
    assert "McNemar b=12 c=1 p=0.00171 (needs < 0.05)" in lines["v1"]
    # A version gated before the strict headline: its strict figure first, no paired test.
    assert "50.0%" in lines["v2"] and "90.0%" in lines["v2"] and "live v1 50.0%" in lines["v2"]
