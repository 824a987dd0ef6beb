"""One model worker thread with a bounded queue of jobs.

A job is a :class:`~bridge.validate.JobSpec` plus a thread-safe ``sink`` that receives its events
(:class:`StepEvent`, :class:`StemEvent`, :class:`Finished`, :class:`Failed`) on the worker thread. Submitting to a
full queue raises :class:`QueueFull` at once. ``Job.should_stop`` is passed to the pipeline as ``cancel=``,
so cancel, client disconnect and deadline all stop the job within one diffusion step. An out-of-memory error
fails that job only; the worker keeps serving.
"""

from __future__ import annotations

import collections
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jen_core.errors import CancelledError, JenError

log = logging.getLogger("jen.bridge.jobs")

QUEUED, RUNNING, FINISHED = "queued", "running", "finished"
_KEEP_FINISHED = 1000


class QueueFull(Exception):
    """The job queue is full (RESOURCE_EXHAUSTED)."""


class NotAccepting(Exception):
    """The server is loading its model or shutting down (UNAVAILABLE)."""


@dataclass(frozen=True)
class StepEvent:
    step: int
    total: int


@dataclass(frozen=True)
class StemEvent:
    result: Any  # bridge.render.StemResult


@dataclass(frozen=True)
class Finished:
    take_ids: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class Failed:
    code: str  # gRPC status name
    message: str


Event = StepEvent | StemEvent | Finished | Failed


@dataclass
class Job:
    """A queued unit of work. ``sink`` is called on the worker thread; it must not block."""

    id: str
    spec: Any  # bridge.validate.JobSpec
    sink: Callable[[Event], None]
    deadline: float | None = None  # time.monotonic() after which the job stops
    state: str = QUEUED
    cancelled: threading.Event = field(default_factory=threading.Event)
    accepted_at: float = field(default_factory=time.monotonic)
    freed_at: float | None = None  # when the worker let go of it
    cancelled_at: float | None = None  # first cancel (client gone, Cancel RPC, shutdown)

    def cancel(self) -> None:
        if self.cancelled_at is None:
            self.cancelled_at = time.monotonic()
        self.cancelled.set()

    def should_stop(self) -> bool:
        """The pipeline's ``cancel=`` callback: True once cancelled or past the deadline."""
        return self.cancelled.is_set() or (self.deadline is not None and time.monotonic() > self.deadline)

    def emit(self, event: Event) -> None:
        try:
            self.sink(event)
        except Exception:  # a closed client must never take the worker down
            log.exception("dropping event for job %s", self.id)


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    torch = sys.modules.get("torch")
    oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch is not None else None
    return oom is not None and isinstance(exc, oom)


def _free_accelerator_memory() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class JobManager:
    """Runs ``runner(job)`` for each submitted job on one worker thread, in order.

    ``runner`` returns the finished take ids and emits :class:`StemEvent` / :class:`StepEvent` itself; it raises
    to fail the job. Capacity is ``queue_size`` waiting jobs plus the one running.
    """

    def __init__(self, *, runner: Callable[[Job], tuple[str, ...]], queue_size: int,
                 warmup: Callable[[], None] | None = None) -> None:
        if queue_size < 1:
            raise JenError(f"queue size {queue_size} must be at least 1")
        self.queue_size = queue_size
        self._runner = runner
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._jobs: dict[str, Job] = {}
        self._finished: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._accepting = True
        self._thread = threading.Thread(target=self._work, name="jen-model-worker", daemon=True)
        self.current: Job | None = None
        self._warmup = warmup
        self.warmed = threading.Event()  # set once the warm-up pass ran on the worker thread
        self.idle = threading.Event()
        self.idle.set()

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> int:
        """Queue ``job``; return how many jobs are ahead of it. QueueFull / NotAccepting at once."""
        with self._lock:
            if not self._accepting:
                raise NotAccepting("the server is shutting down: retry on another server")
            ahead = self._queue.qsize() + (1 if self.current is not None else 0)
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise QueueFull(f"the job queue is full ({self.queue_size} waiting): retry later") from None
            self._jobs[job.id] = job
            self.idle.clear()
        return ahead

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> str:
        """Cancel a job; returns its state (``queued``, ``running``, ``finished``) or ``unknown``."""
        job = self.get(job_id)
        if job is None:
            return "unknown"
        job.cancel()
        return job.state

    def stop_accepting(self) -> None:
        with self._lock:
            self._accepting = False

    def shutdown(self, *, timeout: float) -> None:
        """Cancel everything still queued or running and stop the worker (waits up to ``timeout`` s)."""
        self.stop_accepting()
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if job.state != FINISHED:
                job.cancel()
        if self._thread.is_alive():
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)

    # ------------------------------------------------------------------ worker

    def _work(self) -> None:
        if self._warmup is not None:  # first-call costs (allocator, thread pools, CUDA context) before any client
            try:
                self._warmup()
            except Exception:  # noqa: BLE001 - a failed warm-up only costs latency
                log.exception("model warm-up failed")
        self.warmed.set()
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                self.current = job
                job.state = RUNNING
            start = time.monotonic()
            try:
                event = self._run_one(job, start)
            finally:
                with self._lock:
                    job.state = FINISHED
                    job.freed_at = time.monotonic()
                    self.current = None
                    self._finished.append(job.id)
                    while len(self._finished) > _KEEP_FINISHED:
                        self._jobs.pop(self._finished.popleft(), None)
            job.emit(event)
            with self._lock:
                if self._queue.empty() and self.current is None:
                    self.idle.set()

    def _run_one(self, job: Job, start: float) -> Event:
        if job.should_stop():
            return Failed("CANCELLED" if job.cancelled.is_set() else "DEADLINE_EXCEEDED", "job stopped before it ran")
        try:
            take_ids = self._runner(job)
            return Finished(tuple(take_ids), time.monotonic() - start)
        except CancelledError:
            timed_out = not job.cancelled.is_set() and job.deadline is not None
            if timed_out:
                return Failed("DEADLINE_EXCEEDED", "the deadline passed: allow more time or fewer steps")
            return Failed("CANCELLED", "job cancelled")
        except BaseException as exc:  # noqa: BLE001 - one failed job must never stop the worker
            if is_out_of_memory(exc):
                _free_accelerator_memory()
                log.warning("job %s ran out of memory: %s", job.id, exc)
                return Failed("RESOURCE_EXHAUSTED", "out of memory: ask for fewer stems or a shorter region")
            if isinstance(exc, JenError):
                return Failed("INVALID_ARGUMENT", str(exc))
            if not isinstance(exc, Exception):
                raise
            log.exception("job %s failed", job.id)
            return Failed("INTERNAL", f"the model failed: {type(exc).__name__}: {exc}"[:500])
