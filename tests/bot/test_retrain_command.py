"""/retrain and /supportbot rollback: admins only; progress and outcome in the thread."""

from bot.blocks import RETRAIN_REFUSED
from cli.wiring import training_reporters
from supportbot.training_queue import queue_for, rq_connection, worker_for
from tests.bot.conftest import command
from tests.support.paths import BITEXT
from trainer.importer import Mapping, parse
from trainer.jobs import use_reporters


def test_non_admin_retrain_is_refused(admin_bolt):
    bolt, settings = admin_bolt
    response = command(bolt, "/retrain", "", "U0ALICE")
    assert (response.status, response.body) == (200, RETRAIN_REFUSED)
    assert queue_for(rq_connection(settings)).count == 0
    assert bolt.posts() == []


def test_admin_retrain_queues_then_reports_progress_and_outcome_in_the_thread(admin_bolt):
    bolt, settings = admin_bolt
    bolt.services.store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:120])
    response = command(bolt, "/retrain", "", "U0ADMIN")
    assert (response.status, response.body) == (200, "")
    root, queued = bolt.stub.wait_for("chat.postMessage", 2)
    thread = root.response["ts"]
    assert queued.params["thread_ts"] == thread and "queued" in queued.params["text"]
    connection = rq_connection(settings)
    (job,) = queue_for(connection).jobs
    assert job.kwargs["notify"] == {"channel": "C0SUPPORT", "thread_ts": thread}

    # A worker, wired as `supportbot worker` wires it, runs it (in-process here) and reports in the thread.
    use_reporters(training_reporters(settings))
    worker_for(connection, in_process=True).work(burst=True)
    in_thread = [c.params["text"] for c in bolt.posts() if c.params.get("thread_ts") == thread]
    assert in_thread[1].startswith(":arrow_forward: Training started")
    assert any(t.startswith(":gear: Training v1") for t in in_thread)
    assert any(t.startswith(":hourglass_flowing_sand: step") for t in in_thread)
    assert any(t.startswith(":mag: Evaluating v1") for t in in_thread)
    assert in_thread[-1].startswith((":white_check_mark: Promoted v1", ":no_entry: Kept the live adapter"))
    assert job.get_status(refresh=True) == "finished"


def test_rollback_is_for_admins(admin_bolt, tmp_path):
    bolt, _ = admin_bolt
    from supportbot.records import AdapterVersion

    registry = bolt.services.adapters
    for _ in range(2):
        registry.save(AdapterVersion(registry.next_version(), "tiny", "s", str(tmp_path), "test"))
    registry.activate("v2")
    refused = command(bolt, "/supportbot", "rollback v1", "U0ALICE")
    assert "Only admins" in refused.body and registry.active().version == "v2"
    done = command(bolt, "/supportbot", "rollback v1", "U0ADMIN")
    assert "v1 is now the active adapter" in done.body and registry.active().version == "v1"
    unknown = command(bolt, "/supportbot", "rollback v7", "U0ADMIN")
    assert "no adapter version 'v7'" in unknown.body
