"""`supportbot worker` on the real RQ queue: a worker killed mid-training leaves the job failed
and the active adapter untouched."""

import os
import signal
import subprocess
import sys
import time

from supportbot.adapters import AdapterRegistry
from supportbot.settings import load_settings
from supportbot.store import Store
from supportbot.training_lock import TrainingLock
from supportbot.training_queue import enqueue_training, fetch_job, rq_connection
from tests.support.paths import BITEXT
from trainer.importer import Mapping, parse


def wait(predicate, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_mid_training_the_job_fails_and_the_live_adapter_stays(monkeypatch, tiny_env, redis_client, tmp_path):
    monkeypatch.setenv("TRAIN_EPOCHS", "20")  # long enough to be killed in the middle
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "1")
    settings = load_settings()
    store = Store(redis_client)
    store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:200])
    registry = AdapterRegistry(store.redis, store.keys)

    connection = rq_connection(settings)
    job = enqueue_training(connection, trigger="test")
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "cli", "worker"], env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        pid = wait(lambda: fetch_job(connection, job.id).meta.get("pid"), what="the job to start")
        wait(lambda: TrainingLock(store.redis, store.keys).held(), what="training to start")
        wait(lambda: any((settings.data_dir / "work").glob("train-v1-*")), what="the training run")
        time.sleep(2)
        os.kill(pid, signal.SIGKILL)  # the work horse dies, as under the OOM killer
        status = wait(
            lambda: (s := fetch_job(connection, job.id).get_status()) in ("failed", "finished") and s,
            what="the job to end",
        )
        assert status == "failed"
        assert registry.active() is None
        assert registry.all() == []
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()


def test_a_crashed_training_tells_its_thread_an_error_id_not_the_internals(settings, monkeypatch, caplog):
    import pytest

    from trainer import jobs
    from trainer.progress import LogReporter

    stages: list[str] = []

    class Recording(LogReporter):
        def stage(self, text: str) -> None:
            stages.append(text)

    def crash(*args, **kwargs):
        raise RuntimeError("CUDA error at /srv/internal/kernels.cu:42 token=sk-live-1")

    monkeypatch.setattr(jobs, "retrain", crash)
    monkeypatch.setattr(jobs, "_reporter_for", lambda notify: Recording())
    with pytest.raises(RuntimeError):
        jobs.training_job("test", notify={"channel": "C1", "thread_ts": "1.1"})
    failed = stages[-1]
    assert "kernels.cu" not in failed and "sk-live" not in failed
    error_id = failed.split("error id `")[1][:8]
    assert error_id in caplog.text and "kernels.cu" in caplog.text
