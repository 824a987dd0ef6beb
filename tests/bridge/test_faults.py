"""Queue limits, cancellation, disconnects, deadlines, health, out-of-memory and concurrency over real gRPC."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.bridge.conftest import Served
from tests.bridge.fake_pipeline import FakePipeline
from tests.bridge.harness import OscClient, assert_contiguous, collect, pb, running_server, stub, timeline

REGION = timeline(bpm=240, start_bar=1, end_bar=2)  # one bar: 1 s


def _start_job(served: Served, **kw) -> tuple[grpc.Future, list[pb.JobEvent], threading.Thread]:  # noqa: ANN003
    events: list[pb.JobEvent] = []
    call = served.stub.Generate(pb.GenerateRequest(timeline=REGION, stems=["bass"], **kw), timeout=30)

    def pump() -> None:
        try:
            for e in call:
                events.append(e)
        except grpc.RpcError:
            pass

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return call, events, thread


def _wait(predicate, timeout: float = 10) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.002)


def test_full_queue_answers_resource_exhausted_at_once(slow_served: Served) -> None:
    first, events, _ = _start_job(slow_served)
    _wait(lambda: slow_served.pipeline.running.is_set())
    second, _, _ = _start_job(slow_served)  # waits in the queue (size 1)
    _wait(lambda: slow_served.server.server.engine.jobs._queue.qsize() == 1)
    t0 = time.perf_counter()
    with pytest.raises(grpc.RpcError) as info:
        next(iter(slow_served.stub.Generate(pb.GenerateRequest(timeline=REGION, stems=["bass"]), timeout=10)))
    elapsed = time.perf_counter() - t0
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "queue is full" in info.value.details()
    assert elapsed < 0.5, elapsed
    first.cancel()
    second.cancel()


def test_cancel_rpc_stops_the_job_within_one_step(slow_served: Served) -> None:
    call, events, thread = _start_job(slow_served)
    _wait(lambda: any(e.WhichOneof("event") == "progress" for e in events))
    job_id = events[0].job_id
    t0 = time.monotonic()
    reply = slow_served.stub.Cancel(pb.CancelRequest(job_id=job_id))
    assert reply.found and reply.state == "running"
    thread.join(5)
    job = slow_served.server.server.engine.jobs.get(job_id)
    assert job.freed_at - t0 < 0.05 + 0.05  # one 50 ms step plus slack
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[-1] == "error" and events[-1].error.code == "CANCELLED"
    assert call.code() == grpc.StatusCode.CANCELLED
    assert slow_served.stub.Cancel(pb.CancelRequest(job_id="j_0000000000000000")).found is False


def test_client_disconnect_frees_the_job_within_one_step(slow_served: Served) -> None:
    call, events, thread = _start_job(slow_served)
    _wait(lambda: any(e.WhichOneof("event") == "progress" for e in events))
    job = slow_served.server.server.engine.jobs.get(events[0].job_id)
    t0 = time.monotonic()
    slow_served.channel.close()  # the client goes away mid-stream
    _wait(lambda: job.freed_at is not None, timeout=5)
    assert job.freed_at - t0 < 0.05 + 0.1
    # the worker is free: a new client gets a job through
    ch, st = stub(slow_served.server.grpc_port)
    slow_served.pipeline.default_steps = 2
    result = collect(st.Generate(pb.GenerateRequest(timeline=REGION, stems=["bass"]), timeout=10))
    assert result.error is None
    ch.close()


def test_deadline_stops_the_job(slow_served: Served) -> None:
    t0 = time.monotonic()
    result = collect(slow_served.stub.Generate(pb.GenerateRequest(timeline=REGION, stems=["bass"]), timeout=0.3))
    assert result.error is not None and result.error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    jobs = slow_served.server.server.engine.jobs
    _wait(lambda: jobs.idle.is_set(), timeout=5)
    assert time.monotonic() - t0 < 0.3 + 0.2


def test_health_not_serving_while_loading_then_serving(tmp_path: Path) -> None:
    gate = threading.Event()
    with running_server(tmp_path, FakePipeline(), ready=False, gate=gate) as srv:
        channel = grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}")
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "jen.bridge.v1.Bridge"):
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.RpcError) as info:
            list(pb_stub(channel).Generate(pb.GenerateRequest(timeline=REGION), timeout=5))
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE and "still loading" in info.value.details()
        osc = OscClient(srv.osc_port)
        osc.send("/jen/ping")
        osc.wait_for("/jen/pong")  # OSC answers while the model loads
        osc.send("/jen/region/set", 0.0, 4.0)
        osc.send("/jen/generate")
        assert "still loading" in osc.wait_for("/jen/job/error").params[1]
        osc.close()
        gate.set()
        srv.wait_ready()
        _wait(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
              == health_pb2.HealthCheckResponse.SERVING)
        srv.call(srv.server.health.enter_graceful_shutdown())
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.NOT_SERVING
        channel.close()


def pb_stub(channel: grpc.Channel):  # noqa: ANN201
    from bridge.v1 import bridge_pb2_grpc

    return bridge_pb2_grpc.BridgeStub(channel)


def test_out_of_memory_fails_that_request_only(served: Served) -> None:
    import torch

    served.pipeline.fail_with = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
    result = collect(served.stub.Generate(pb.GenerateRequest(timeline=REGION), timeout=10))
    assert result.error is not None and result.error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert result.events[-1].error.code == "RESOURCE_EXHAUSTED"
    served.pipeline.fail_with = None
    assert collect(served.stub.Generate(pb.GenerateRequest(timeline=REGION), timeout=10)).error is None


def test_sixteen_concurrent_streams_lose_no_chunk(tmp_path: Path) -> None:
    with running_server(tmp_path, FakePipeline(steps=2), queue_size=16) as srv:
        results: list = [None] * 16

        def client(i: int) -> None:
            ch, st = stub(srv.grpc_port)
            req = pb.GenerateRequest(timeline=timeline(bpm=240, start_bar=1, end_bar=2), seed=i, chunk_frames=2048)
            results[i] = collect(st.Generate(req, timeout=60))
            ch.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for r in results:
            assert r is not None and r.error is None
            assert sorted(r.done) == ["bass", "drums", "instrument", "melody"]
            assert_contiguous(r, start=0, length=48000)
            for stem, done in r.done.items():
                assert r.pcm_sha(stem) == done.pcm_sha256
        assert len({r.job_id for r in results}) == 16
