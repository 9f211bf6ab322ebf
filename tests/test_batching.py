"""MicroBatcher: requests that arrive together run together, one bad request fails only itself."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from supportbot.batching import MicroBatcher

FOREVER = 600.0  # a window no test waits out: batches close because they are full


class Recorder:
    """The batch function: doubles numbers, records each batch, fails on negative numbers."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.started = threading.Event()
        self.gate = gate
        self.priorities: list[int] = []

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.priorities.append(os.getpriority(os.PRIO_PROCESS, 0))
        self.started.set()
        if self.gate is not None:
            self.gate.wait(timeout=60)
        if any(i < 0 for i in items):
            raise ValueError(f"negative: {[i for i in items if i < 0]}")
        return [2 * i for i in items]


def test_requests_that_arrive_together_run_as_one_batch():
    run = Recorder()
    batcher = MicroBatcher(run, max_batch=4, window_s=FOREVER)
    futures = [batcher.submit(i) for i in range(4)]
    assert [f.result(timeout=60) for f in futures] == [0, 2, 4, 6]
    assert run.batches == [[0, 1, 2, 3]]
    assert list(batcher.batch_sizes) == [4]


def test_requests_queued_behind_a_running_batch_form_the_next_one():
    gate = threading.Event()
    run = Recorder(gate)
    batcher = MicroBatcher(run, max_batch=3, window_s=0.0)
    first = batcher.submit(1)
    assert run.started.wait(timeout=60)  # the first batch is running (and held)
    later = [batcher.submit(i) for i in (2, 3, 4, 5)]
    gate.set()
    assert first.result(timeout=60) == 2
    assert [f.result(timeout=60) for f in later] == [4, 6, 8, 10]
    # Queued while the first ran: taken at once, without waiting for a window, max_batch at a time.
    assert run.batches == [[1], [2, 3, 4], [5]]


def test_one_bad_request_fails_alone_and_the_rest_of_its_batch_is_answered():
    run = Recorder()
    batcher = MicroBatcher(run, max_batch=3, window_s=FOREVER)
    good, bad, other = batcher.submit(1), batcher.submit(-1), batcher.submit(3)
    assert good.result(timeout=60) == 2 and other.result(timeout=60) == 6
    with pytest.raises(ValueError, match=r"negative: \[-1\]"):
        bad.result(timeout=60)
    assert run.batches == [[1, -1, 3], [1], [-1], [3]]  # the batch failed; each was retried alone
    after = [batcher.submit(i) for i in (5, 6, 7)]
    assert [f.result(timeout=60) for f in after] == [10, 12, 14]  # the worker lives on


def test_a_wrong_number_of_results_is_an_error_not_a_mismatch():
    batcher = MicroBatcher(lambda items: [0], max_batch=2, window_s=FOREVER)
    a, b = batcher.submit(1), batcher.submit(2)
    assert a.result(timeout=60) == 0 and b.result(timeout=60) == 0  # alone, one result each


def test_a_cancelled_request_is_skipped():
    gate = threading.Event()
    run = Recorder(gate)
    batcher = MicroBatcher(run, max_batch=2, window_s=0.0)
    first = batcher.submit(1)
    assert run.started.wait(timeout=60)
    cancelled, kept = batcher.submit(2), batcher.submit(3)
    assert cancelled.cancel()
    gate.set()
    assert first.result(timeout=60) == 2 and kept.result(timeout=60) == 6
    assert run.batches == [[1], [3]]


def test_the_worker_takes_the_priority_of_the_thread_that_starts_it_and_exits_when_idle():
    from supportbot.priority import lower_this_thread

    run = Recorder()
    batcher = MicroBatcher(run, max_batch=1, window_s=0.0, idle_exit_s=0.05)
    caller = os.getpriority(os.PRIO_PROCESS, 0)

    def lowered() -> int:  # as the bot's responder threads are, so generation yields to acks
        lower_this_thread(3)
        return batcher(1)

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(lowered).result(timeout=60) == 2
    assert run.priorities == [min(caller + 3, 19)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == caller  # this thread's priority is untouched
    worker = batcher._worker
    if worker is not None:
        worker.join(timeout=60)
    assert batcher._worker is None
    assert batcher(2) == 4  # a new worker starts on demand, here at this thread's priority
    assert run.priorities[-1] == caller


@pytest.mark.parametrize(("max_batch", "window_s"), [(0, 0.01), (4, -1.0)])
def test_bad_options_are_refused(max_batch, window_s):
    with pytest.raises(ValueError, match="must"):
        MicroBatcher(lambda items: items, max_batch=max_batch, window_s=window_s)
