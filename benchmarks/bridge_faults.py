"""Fault and latency figures for the bridge (issue 4's closing note), on random:tiny unless told otherwise.

    .venv/bin/python benchmarks/bridge_faults.py [--packets 10000] [--clients 16] [--json out.json]

Measures, against the real server (in this process, on free loopback ports):
  1. p50/p99/max /jen/ping round trip while --packets fuzzed OSC datagrams arrive;
  2. --clients concurrent Generate streams: chunks received, gaps/overlaps, checksum mismatches;
  3. time from SIGKILL of a streaming client process to its job being freed by the worker;
  4. time for a full queue to answer RESOURCE_EXHAUSTED;
  5. time to first audio chunk for 4 stems x 8 bars (120 BPM, 4/4, 48 kHz).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import grpc  # noqa: E402
import numpy as np  # noqa: E402

from tests.bridge.harness import (  # noqa: E402
    OscClient,
    ThreadServer,
    assert_contiguous,
    collect,
    pb,
    stub,
    timeline,
)
from tests.bridge.test_osc import _fuzz_packets  # noqa: E402

_KILLED_CLIENT = """
import sys, grpc
sys.path.insert(0, {repo!r})
from bridge.v1 import bridge_pb2 as pb, bridge_pb2_grpc as pbg
ch = grpc.insecure_channel("127.0.0.1:{port}")
tl = pb.Timeline(bpm=120, sample_rate=48000, region=pb.Region(start_bar=1, end_bar=9))
for e in pbg.BridgeStub(ch).Generate(pb.GenerateRequest(timeline=tl, steps=200)):
    if e.WhichOneof("event") == "progress":
        print("progress", e.job_id, flush=True)
"""


def fuzz_ping(srv: ThreadServer, packets: int) -> dict:
    osc = OscClient(srv.osc_port)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    latencies = []
    t0 = time.monotonic()
    for i, packet in enumerate(_fuzz_packets(packets, seed=7)):
        sender.sendto(packet, ("127.0.0.1", srv.osc_port))
        if i % 50 == 49:
            start = time.perf_counter()
            osc.send("/jen/ping", i)
            while True:
                reply = osc.recv(timeout=2)
                if reply.address == "/jen/pong" and reply.params == [i]:
                    break
            latencies.append(time.perf_counter() - start)
    elapsed = time.monotonic() - t0
    osc.close()
    sender.close()
    ms = np.array(latencies) * 1000
    return {"packets": packets, "pings": len(ms), "seconds": round(elapsed, 2), "p50_ms": round(float(np.median(ms)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3), "max_ms": round(float(ms.max()), 3),
            "bad_packets_seen": srv.server.osc.bad_packets}


def concurrent_clients(srv: ThreadServer, clients: int) -> dict:
    results: list = [None] * clients

    def client(i: int) -> None:
        ch, st = stub(srv.grpc_port)
        req = pb.GenerateRequest(timeline=timeline(bpm=120, start_bar=1, end_bar=2), seed=i, steps=4, chunk_frames=4096)
        results[i] = collect(st.Generate(req, timeout=600))
        ch.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lost, bad_sha, errors, chunks = 0, 0, 0, 0
    for r in results:
        if r.error is not None or len(r.done) != 4:
            errors += 1
            continue
        try:
            assert_contiguous(r, start=0, length=96000)
        except AssertionError:
            lost += 1
        bad_sha += sum(r.pcm_sha(s) != d.pcm_sha256 for s, d in r.done.items())
        chunks += sum(len(c) for c in r.chunks.values())
    return {"clients": clients, "chunks": chunks, "streams_with_gaps": lost, "checksum_mismatches": bad_sha,
            "errors": errors, "seconds": round(time.monotonic() - t0, 2)}


def killed_client(srv: ThreadServer, trials: int = 5) -> dict:
    """SIGKILL a streaming client process mid-job; time until the server noticed and until the worker was free."""
    code = _KILLED_CLIENT.format(repo=str(REPO), port=srv.grpc_port)
    detect, freed, steps = [], [], []
    for _ in range(trials):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
        line = proc.stdout.readline().split()  # type: ignore[union-attr]
        job = srv.server.engine.jobs.get(line[1])
        step_times = [srv.pipeline_last_step()]
        while len(step_times) < 4:  # measure the step length while it runs; kill right after a step ends
            now = srv.pipeline_last_step()
            if now != step_times[-1]:
                step_times.append(now)
            time.sleep(0.0005)
        steps.append(float(np.median(np.diff(step_times[1:]))))
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        while job.freed_at is None:
            time.sleep(0.0005)
        detect.append((job.cancelled_at - killed_at) * 1000)
        freed.append((job.freed_at - killed_at) * 1000)
    return {"trials": trials, "kill_to_cancel_ms": [round(x, 1) for x in detect],
            "kill_to_freed_ms": [round(x, 1) for x in freed], "step_ms": [round(x * 1000, 1) for x in steps]}


def full_queue(srv: ThreadServer, repeats: int = 20) -> dict:
    ch, st = stub(srv.grpc_port)
    long_req = pb.GenerateRequest(timeline=timeline(bpm=120, start_bar=1, end_bar=9), steps=500)
    holders = [st.Generate(long_req, timeout=600) for _ in range(1 + srv.server.engine.queue_size)]
    for h in holders:
        next(h)  # accepted
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            next(st.Generate(pb.GenerateRequest(timeline=timeline(start_bar=1, end_bar=2)), timeout=10))
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc
        times.append((time.perf_counter() - t0) * 1000)
    for h in holders:
        h.cancel()
    ch.close()
    return {"median_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2), "repeats": repeats}


def first_chunk(srv: ThreadServer, repeats: int = 3) -> dict:
    ch, st = stub(srv.grpc_port)
    firsts, totals = [], []
    srv.server.engine.jobs.idle.wait(600)
    for seed in range(repeats):
        req = pb.GenerateRequest(timeline=timeline(bpm=120, start_bar=1, end_bar=9), seed=seed)
        t0 = time.monotonic()
        r = collect(st.Generate(req, timeout=600))
        assert r.error is None, r.error
        firsts.append(r.first_chunk_at)
        totals.append(time.monotonic() - t0)
    ch.close()
    steps = [e.progress.total for e in r.events if e.WhichOneof("event") == "progress"][-1]
    return {"stems": 4, "bars": 8, "audio_seconds": 16.0, "steps": steps,
            "first_chunk_s": [round(x, 2) for x in firsts], "total_s": [round(x, 2) for x in totals]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="random:tiny")
    parser.add_argument("--packets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--only", default="ttfa,fuzz,concurrent,kill,queue", help="comma-separated subset")
    args = parser.parse_args()

    import torch

    from bridge.server import ServerConfig
    from jen_core.pipelines import load_pipeline

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    pipe = load_pipeline(args.model)
    last_step = {"t": 0.0}
    original = pipe.generate

    def generate(*a, on_step=None, **kw):  # noqa: ANN002, ANN003, ANN202 - records step times for figure 3
        def step(done: int, total: int) -> None:
            last_step["t"] = time.monotonic()
            if on_step is not None:
                on_step(done, total)

        return original(*a, on_step=step, **kw)

    pipe.generate = generate  # type: ignore[method-assign]
    figures: dict = {"model": args.model, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = ServerConfig(data_dir=Path(tmp), grpc_port=0, osc_port=0, queue_size=max(args.clients, 1))
        srv = ThreadServer(cfg, pipeline=pipe).start()
        srv.pipeline_last_step = lambda: last_step["t"]  # type: ignore[attr-defined]
        srv.wait_ready(600)
        try:
            for key, name, run in (("ttfa", "ttfa_4stems_8bars", lambda: first_chunk(srv)),
                                   ("fuzz", "osc_fuzz", lambda: fuzz_ping(srv, args.packets)),
                                   ("concurrent", "concurrent_streams", lambda: concurrent_clients(srv, args.clients)),
                                   ("kill", "client_kill", lambda: killed_client(srv))):
                if key in args.only.split(","):
                    figures[name] = run()
                    print(f"{name}: {figures[name]}", flush=True)
        finally:
            srv.stop()
        cfg = ServerConfig(data_dir=Path(tmp) / "q", grpc_port=0, osc_port=0, queue_size=2)
        srv = ThreadServer(cfg, pipeline=pipe).start()
        srv.wait_ready(600)
        try:
            if "queue" in args.only.split(","):
                figures["full_queue"] = full_queue(srv)
                print("full_queue:", figures["full_queue"], flush=True)
        finally:
            srv.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
