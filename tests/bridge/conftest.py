"""Fixtures for the bridge tests: a fake-pipeline server in a background thread, with stubs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bridge.fake_pipeline import FakePipeline
from tests.bridge.harness import ThreadServer, running_server, stub


class Served:
    def __init__(self, server: ThreadServer, pipeline: Any) -> None:
        self.server, self.pipeline = server, pipeline
        self.channel, self.stub = stub(server.grpc_port)

    @property
    def data_dir(self) -> Path:
        assert self.server.server is not None
        return self.server.server.engine.data_dir


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A ready server on free ports with a fast fake pipeline (4 steps, no sleeping)."""
    pipe = FakePipeline()
    with running_server(tmp_path, pipe) as srv:
        s = Served(srv, pipe)
        yield s
        s.channel.close()


@pytest.fixture
def slow_served(tmp_path: Path) -> Iterator[Served]:
    """Queue of 1, 50 ms per diffusion step: for cancel, queue and disconnect tests."""
    pipe = FakePipeline(step_seconds=0.05, steps=200)
    with running_server(tmp_path, pipe, queue_size=1) as srv:
        s = Served(srv, pipe)
        yield s
        s.channel.close()
