"""The server's model side: the loaded pipeline, the store and the job queue, shared by gRPC and OSC."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.jobs import Event, Job, JobManager, NotAccepting
from bridge.render import Renderer
from bridge.store import Store
from bridge.validate import JobSpec, ModelInfo


class Engine:
    """Owns the store from the start and the pipeline + worker once the model has loaded (:meth:`attach`)."""

    def __init__(self, *, data_dir: Path, queue_size: int) -> None:
        self.store = Store(data_dir)
        self.queue_size = queue_size
        self.model: ModelInfo | None = None
        self.pipeline: Any = None
        self.jobs: JobManager | None = None
        self.closing = False

    @property
    def data_dir(self) -> Path:
        return self.store.data_dir

    @property
    def ready(self) -> bool:
        return self.jobs is not None and not self.closing

    def attach(self, pipeline: Any, *, warmup: bool = True) -> None:
        """Start serving ``pipeline`` (a JenPipeline: ``sample_rate``, ``stems``, ``max_seconds``, ``name``).

        With ``warmup`` the worker first runs a one-step, one-second generation (wait on ``jobs.warmed``).
        """
        self.pipeline = pipeline
        self.model = ModelInfo(name=str(pipeline.name), stems=tuple(pipeline.stems),
                               max_seconds=float(pipeline.max_seconds), sample_rate=int(pipeline.sample_rate))
        renderer = Renderer(pipeline=pipeline, store=self.store, model=self.model)
        def warm() -> None:
            pipeline.generate("", seconds=min(1.0, float(pipeline.max_seconds)), steps=1)

        jobs = JobManager(runner=renderer, queue_size=self.queue_size, warmup=warm if warmup else None)
        jobs.start()
        self.jobs = jobs

    def require_model(self) -> ModelInfo:
        if self.closing:
            raise NotAccepting("the server is shutting down: retry on another server")
        if self.model is None:
            raise NotAccepting("the model is still loading: retry when health reports SERVING")
        return self.model

    def submit(self, spec: JobSpec, sink: Callable[[Event], None], *, timeout: float | None = None) -> tuple[Job, int]:
        """Queue ``spec``; returns (job, jobs ahead). QueueFull / NotAccepting at once."""
        self.require_model()
        assert self.jobs is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        job = Job(id=spec.job_id, spec=spec, sink=sink, deadline=deadline)
        return job, self.jobs.submit(job)

    def cancel(self, job_id: str) -> str:
        return "unknown" if self.jobs is None else self.jobs.cancel(job_id)

    def begin_shutdown(self) -> None:
        self.closing = True
        if self.jobs is not None:
            self.jobs.stop_accepting()

    def close(self, *, timeout: float = 5.0) -> None:
        self.begin_shutdown()
        if self.jobs is not None:
            self.jobs.shutdown(timeout=timeout)
        self.store.close()
