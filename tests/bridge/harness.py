"""Test helpers: the real server in a background thread or a subprocess, gRPC stubs, an OSC UDP client."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge.protocol import ensure_generated

ensure_generated()

from bridge.server import BridgeServer, ServerConfig  # noqa: E402
from bridge.v1 import bridge_pb2 as pb  # noqa: E402
from bridge.v1 import bridge_pb2_grpc as pb_grpc  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


class ThreadServer:
    """A BridgeServer on its own event loop thread; ``gate`` (if given) holds the model load until set."""

    def __init__(self, config: ServerConfig, *, pipeline: Any, gate: threading.Event | None = None) -> None:
        self.config, self.pipeline, self.gate = config, pipeline, gate
        self.loop = asyncio.new_event_loop()
        self.server: BridgeServer | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._error: BaseException | None = None
        self.loaded: asyncio.Future | None = None

    def _load(self) -> Any:
        if self.gate is not None:
            self.gate.wait(30)
        return self.pipeline

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            try:
                self.server = BridgeServer(self.config, loader=self._load)
                await self.server.start()
                self.loaded = asyncio.ensure_future(self.server.load_model())
            except BaseException as exc:  # noqa: BLE001
                self._error = exc
            finally:
                self._started.set()

        self.loop.run_until_complete(main())
        self.loop.run_forever()

    def start(self) -> ThreadServer:
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server is not None and self.loaded is not None and self.loaded.done():
                self.loaded.result()
                if hasattr(self.pipeline, "calls"):
                    self.pipeline.calls.clear()  # forget the warm-up call
                return
            time.sleep(0.01)
        raise TimeoutError("model did not load")

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, grace: float = 0.5) -> None:
        if self.server is not None:
            self.call(self.server.stop(grace))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def grpc_port(self) -> int:
        assert self.server is not None
        return self.server.grpc_port

    @property
    def osc_port(self) -> int:
        assert self.server is not None
        return self.server.osc_port


@contextmanager
def running_server(tmp_path: Path, pipeline: Any, *, ready: bool = True, gate: threading.Event | None = None,
                   **config: Any) -> Iterator[ThreadServer]:
    cfg = ServerConfig(data_dir=tmp_path / "data", grpc_port=0, osc_port=0, **config)
    srv = ThreadServer(cfg, pipeline=pipeline, gate=gate).start()
    try:
        if ready:
            srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def stub(port: int, **kwargs: Any) -> tuple[grpc.Channel, pb_grpc.BridgeStub]:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", **kwargs)
    return channel, pb_grpc.BridgeStub(channel)


def timeline(*, bpm: float = 120.0, num: int = 4, den: int = 4, rate: int = 48000, start_bar: int | None = None,
             end_bar: int | None = None, start_ppq: float | None = None, end_ppq: float | None = None,
             start_sample: int | None = None, end_sample: int | None = None,
             tempo_map: list[tuple[float, float]] | None = None) -> pb.Timeline:
    region = pb.Region()
    for name, value in (("start_bar", start_bar), ("end_bar", end_bar), ("start_ppq", start_ppq),
                        ("end_ppq", end_ppq), ("start_sample", start_sample), ("end_sample", end_sample)):
        if value is not None:
            setattr(region, name, value)
    msg = pb.Timeline(bpm=bpm if not tempo_map else 0, sample_rate=rate,
                      time_signature=pb.TimeSignature(numerator=num, denominator=den), region=region)
    for ppq, b in tempo_map or []:
        msg.tempo_map.add(ppq=ppq, bpm=b)
    return msg


@dataclass
class StreamResult:
    events: list[pb.JobEvent] = field(default_factory=list)
    chunks: dict[str, list[pb.StemChunk]] = field(default_factory=dict)
    done: dict[str, pb.StemDone] = field(default_factory=dict)
    first_chunk_at: float | None = None
    error: grpc.RpcError | None = None

    @property
    def job_id(self) -> str:
        return self.events[0].job_id

    def audio(self, stem: str) -> np.ndarray:
        from bridge.audio_io import decode_pcm

        chunks = self.chunks[stem]
        fmt = "int24" if chunks[0].format == pb.SAMPLE_FORMAT_INT24 else "float32"
        return decode_pcm(b"".join(c.data for c in chunks), channels=chunks[0].channels, fmt=fmt)

    def pcm_sha(self, stem: str) -> str:
        return hashlib.sha256(b"".join(c.data for c in self.chunks[stem])).hexdigest()


def collect(stream: Any, *, on_event: Callable[[pb.JobEvent], None] | None = None) -> StreamResult:
    result = StreamResult()
    start = time.monotonic()
    try:
        for event in stream:
            result.events.append(event)
            kind = event.WhichOneof("event")
            if kind == "chunk":
                if result.first_chunk_at is None:
                    result.first_chunk_at = time.monotonic() - start
                result.chunks.setdefault(event.chunk.stem, []).append(event.chunk)
            elif kind == "stem_done":
                result.done[event.stem_done.stem] = event.stem_done
            if on_event is not None:
                on_event(event)
    except grpc.RpcError as exc:
        result.error = exc
    return result


def assert_contiguous(result: StreamResult, *, start: int, length: int) -> None:
    """Every stem: chunks indexed 0..n-1, no gap or overlap, covering exactly [start, start + length)."""
    for stem, chunks in result.chunks.items():
        position = start
        for i, chunk in enumerate(chunks):
            assert chunk.index == i, (stem, i, chunk.index)
            assert chunk.start_sample == position, (stem, i, chunk.start_sample, position)
            assert len(chunk.data) == chunk.frames * chunk.channels * (4 if chunk.format != pb.SAMPLE_FORMAT_INT24 else 3)
            position += chunk.frames
        assert position == start + length, (stem, position, start + length)


# ---------------------------------------------------------------------- OSC


class OscClient:
    """A UDP socket that sends OSC messages and reads replies."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.addr = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)

    def send(self, address: str, *args: Any) -> None:
        builder = OscMessageBuilder(address=address)
        for a in args:
            builder.add_arg(a)
        self.sock.sendto(builder.build().dgram, self.addr)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.addr)

    def recv(self, timeout: float = 5.0) -> OscMessage:
        self.sock.settimeout(timeout)
        data, _ = self.sock.recvfrom(65536)
        return OscMessage(data)

    def wait_for(self, address: str, timeout: float = 10.0) -> OscMessage:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(address)
            msg = self.recv(left)
            if msg.address == address:
                return msg

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------------- subprocess server


class ServerProcess:
    """``python -m <module> serve ...`` in a subprocess; reads the ready line for the ports."""

    def __init__(self, args: list[str], *, module: str = "jen_cli.main", timeout: float = 60.0) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ready_line = self._read_ready(timeout)
        fields = dict(part.split("=", 1) for part in self.ready_line.split() if "=" in part)
        self.grpc_port = int(fields["grpc"].rsplit(":", 1)[1])
        self.osc_port = int(fields["osc"].rsplit(":", 1)[1])

    def _read_ready(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not box or "ready" not in box[0]:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise RuntimeError(f"server did not become ready: {box} {err[-2000:]}")
        return box[0].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)
