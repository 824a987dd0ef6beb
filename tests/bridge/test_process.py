"""The server as a separate process: `jen serve` start-up errors, SIGTERM grace, restart after kill -9."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.bridge.harness import REPO, ServerProcess, collect, pb, stub, timeline

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _jen(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jen_cli.main", *args], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def test_serve_refuses_an_open_bind_and_a_missing_model(tmp_path: Path) -> None:
    out = _jen("serve", "--host", "0.0.0.0", "--grpc-port", "0", "--osc-port", "0", "--data-dir", str(tmp_path))
    assert out.returncode == 2 and "pass --token" in out.stderr
    out = _jen("serve", "--model", str(tmp_path / "nope"), "--grpc-port", "0", "--osc-port", "0",
               "--data-dir", str(tmp_path))
    assert out.returncode == 2 and "is neither a bundled model" in out.stderr  # no silent fallback


def test_sigterm_lets_the_stream_finish_then_exits_zero(tmp_path: Path) -> None:
    server = ServerProcess(["--step-seconds", "0.05", "--steps", "16", "serve", "--grpc-port", "0", "--osc-port", "0",
                            "--data-dir", str(tmp_path), "--grace", "5"], module="tests.bridge.fake_serve")
    try:
        channel, bridge = stub(server.grpc_port)
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=20)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        events: list = []
        call = bridge.Generate(pb.GenerateRequest(timeline=timeline(bpm=240, start_bar=1, end_bar=2), stems=["bass"]))
        got_progress = threading.Event()

        def pump() -> None:
            for e in call:
                events.append(e)
                if e.WhichOneof("event") == "progress":
                    got_progress.set()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        assert got_progress.wait(10)
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
        reader.join(10)
        assert events[-1].WhichOneof("event") == "done"  # the in-flight job finished (16 steps x 50 ms)
        assert server.proc.wait(10) == 0
        assert time.monotonic() - t0 < 5
        channel.close()
    finally:
        server.stop()


def _snapshot(bridge, session_id: str) -> tuple:  # noqa: ANN001
    session = bridge.GetSession(pb.GetSessionRequest(session_id=session_id), timeout=10)
    takes = bridge.ListTakes(pb.ListTakesRequest(session_id=session_id), timeout=10).takes
    for t in takes:  # every recorded take has its complete file
        assert hashlib.sha256(Path(t.path).read_bytes()).hexdigest() == t.sha256
    return dict(session.selected), sorted((t.take_id, t.stem, t.sha256, t.frames, t.start_sample) for t in takes)


@pytest.mark.slow
def test_restart_after_kill_9_keeps_sessions_and_takes(tmp_path: Path) -> None:
    args = ["serve", "--model", "random:tiny", "--grpc-port", "0", "--osc-port", "0", "--data-dir", str(tmp_path),
            "--no-warmup"]
    server = ServerProcess(args)
    try:
        channel, bridge = stub(server.grpc_port)
        tl = timeline(bpm=240, rate=44100, start_bar=2, end_bar=3)
        session = bridge.CreateSession(pb.CreateSessionRequest(timeline=tl, prompt="rock", name="keep me"))
        sid = session.session_id
        first = collect(bridge.Generate(pb.GenerateRequest(session_id=sid, steps=2), timeout=60))
        assert first.error is None and len(first.done) == 4
        again = collect(bridge.Regenerate(pb.RegenerateRequest(session_id=sid, stems=["drums"], steps=2), timeout=60))
        assert again.error is None
        before = _snapshot(bridge, sid)
        assert len(before[1]) == 5
        # kill -9 in the middle of the next job, right after its first stem was announced
        call = bridge.Generate(pb.GenerateRequest(session_id=sid, steps=2), timeout=60)
        for event in call:
            if event.WhichOneof("event") == "stem_done":
                os.kill(server.proc.pid, signal.SIGKILL)
                break
        server.proc.wait(10)
        channel.close()
    finally:
        server.stop()

    server = ServerProcess(args)
    try:
        channel, bridge = stub(server.grpc_port)
        selected, takes = _snapshot(bridge, sid)
        assert set(before[1]) <= set(takes)  # nothing lost; the killed job left 1-4 complete takes at most
        assert 5 <= len(takes) <= 9
        assert bridge.GetSession(pb.GetSessionRequest(session_id=sid)).name == "keep me"
        assert before[0]["drums"] in [t[0] for t in takes]
        channel.close()
    finally:
        server.stop()


@pytest.mark.parametrize("signum", [signal.SIGINT])
def test_sigint_also_stops_cleanly(tmp_path: Path, signum: int) -> None:
    server = ServerProcess(["serve", "--grpc-port", "0", "--osc-port", "0", "--data-dir", str(tmp_path)],
                           module="tests.bridge.fake_serve")
    try:
        server.proc.send_signal(signum)
        assert server.proc.wait(10) == 0
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        with pytest.raises(grpc.RpcError):
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        channel.close()
    finally:
        server.stop()
