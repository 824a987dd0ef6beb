from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
import torch

from bridge.jobs import FINISHED, Failed, Finished, Job, JobManager, QueueFull, StepEvent
from tests.bridge.fake_pipeline import FakePipeline


def _runner(pipe: FakePipeline):
    def run(job: Job) -> tuple[str, ...]:
        pipe.generate("p", seconds=0.01, steps=job.spec.steps, cancel=job.should_stop,
                      on_step=lambda s, t: job.emit(StepEvent(s, t)))
        return ("t_1",)

    return run


def _job(i: int, steps: int = 4, **kw) -> tuple[Job, list]:
    events: list = []
    return Job(id=f"j_{i}", spec=SimpleNamespace(steps=steps), sink=events.append, **kw), events


def test_jobs_run_in_order_and_report_steps() -> None:
    manager = JobManager(runner=_runner(FakePipeline()), queue_size=2)
    manager.start()
    (a, ea), (b, eb) = _job(1), _job(2)
    assert manager.submit(a) == 0
    manager.submit(b)
    assert manager.idle.wait(5)
    assert [e.step for e in ea if isinstance(e, StepEvent)] == [1, 2, 3, 4]
    assert isinstance(ea[-1], Finished) and isinstance(eb[-1], Finished)
    assert a.state == FINISHED
    manager.shutdown(timeout=2)


def test_full_queue_refuses_at_once_and_cancel_stops_within_a_step() -> None:
    pipe = FakePipeline(step_seconds=0.05)
    manager = JobManager(runner=_runner(pipe), queue_size=1)
    manager.start()
    (running, er), (waiting, ew), (extra, _) = _job(1, steps=200), _job(2), _job(3)
    manager.submit(running)
    assert pipe.running.wait(5)
    manager.submit(waiting)
    t0 = time.perf_counter()
    with pytest.raises(QueueFull, match="queue is full"):
        manager.submit(extra)
    assert time.perf_counter() - t0 < 0.05
    t0 = time.monotonic()
    assert manager.cancel("j_1") == "running"
    while running.freed_at is None:
        time.sleep(0.001)
    assert running.freed_at - t0 < 0.05 + 0.04  # one step plus scheduling slack
    assert er[-1] == Failed("CANCELLED", "job cancelled")
    assert manager.idle.wait(5) and isinstance(ew[-1], Finished)  # the worker goes on
    assert manager.cancel("j_nope") == "unknown"
    manager.shutdown(timeout=2)


def test_deadline_stops_the_job() -> None:
    manager = JobManager(runner=_runner(FakePipeline(step_seconds=0.02)), queue_size=1)
    manager.start()
    job, events = _job(1, steps=500, deadline=time.monotonic() + 0.1)
    manager.submit(job)
    assert manager.idle.wait(5)
    assert events[-1].code == "DEADLINE_EXCEEDED"
    manager.shutdown(timeout=2)


@pytest.mark.parametrize("error", [MemoryError("boom"), torch.cuda.OutOfMemoryError("CUDA out of memory")])
def test_out_of_memory_fails_only_that_job(error: BaseException) -> None:
    calls = {"n": 0}
    lock = threading.Lock()

    def runner(job: Job) -> tuple[str, ...]:
        with lock:
            calls["n"] += 1
        if job.id == "j_1":
            raise error
        return ("t_ok",)

    manager = JobManager(runner=runner, queue_size=2)
    manager.start()
    (a, ea), (b, eb) = _job(1), _job(2)
    manager.submit(a)
    manager.submit(b)
    assert manager.idle.wait(5)
    assert ea[-1].code == "RESOURCE_EXHAUSTED" and "out of memory" in ea[-1].message
    assert isinstance(eb[-1], Finished) and eb[-1].take_ids == ("t_ok",)
    manager.shutdown(timeout=2)


def test_a_crashing_job_reports_internal_and_the_worker_survives() -> None:
    def runner(job: Job) -> tuple[str, ...]:
        if job.id == "j_1":
            raise RuntimeError("kaput")
        return ()

    manager = JobManager(runner=runner, queue_size=2)
    manager.start()
    (a, ea), (b, eb) = _job(1), _job(2)
    manager.submit(a)
    manager.submit(b)
    assert manager.idle.wait(5)
    assert ea[-1].code == "INTERNAL" and "kaput" in ea[-1].message
    assert isinstance(eb[-1], Finished)
    manager.shutdown(timeout=2)
