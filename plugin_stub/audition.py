"""Audition: listen to a session's selected takes in time with the host transport.

:class:`AuditionStream` runs the bidirectional ``Audition`` call: it sends ``start`` and transport updates, a
reader thread puts chunks into a :class:`~plugin_stub.playback.PlaybackBuffer`, and each chunk the playhead has
consumed is acknowledged, so the server stays at most ``max_ahead`` chunks ahead of the playhead.

:func:`run_audition` plays the host. The stub reports a latency of ``latency_frames``: a host with plugin delay
compensation plays the stub's output that much later, which gives the stream that much time to deliver each
position; what comes back (compensated) is exactly in step with the timeline. Real time: blocks are paced by the
clock and never wait (a late chunk is an underrun: faded, counted, never a click). Offline (the host renders
faster than real time): each block waits for its audio (``offline="block"``), or the finished stems written
locally are played instead of the stream (``offline="stems"``).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import grpc
import numpy as np

from plugin_stub.client import BridgeClient, rpc_error
from plugin_stub.errors import StubError
from plugin_stub.pcm import decode
from plugin_stub.playback import PlaybackBuffer
from plugin_stub.protocol import pb
from plugin_stub.receive import FORMAT_NAMES
from plugin_stub.timeline import Clip, mixdown
from plugin_stub.transport import HostTransport

OFFLINE_MODES = ("block", "stems")


@dataclass
class AuditionReport:
    """What a run did: where its output starts on the timeline, the latency it reports and what went wrong."""

    mode: str  # "realtime", "offline-block" or "offline-stems"
    start_sample: int
    frames: int
    sample_rate: int
    latency_frames: int
    underrun_frames: int = 0
    chunks: int = 0
    jumps: int = 0
    waited_seconds: float = 0.0

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency_frames / self.sample_rate

    def as_dict(self) -> dict:
        return {"mode": self.mode, "start_sample": self.start_sample, "frames": self.frames,
                "sample_rate": self.sample_rate, "latency_frames": self.latency_frames,
                "latency_ms": round(self.latency_ms, 3), "underrun_frames": self.underrun_frames,
                "chunks": self.chunks, "jumps": self.jumps, "waited_seconds": round(self.waited_seconds, 3)}


class AuditionStream:
    """One ``Audition`` call feeding ``buffer``. Call :meth:`close` when done."""

    def __init__(self, client: BridgeClient, *, session_id: str, buffer: PlaybackBuffer, stems: Sequence[str] = (),
                 chunk_frames: int = 4096, max_ahead: int = 4, timeout: float = 600.0) -> None:
        self.client, self.buffer = client, buffer
        self._requests: queue.Queue[pb.AuditionRequest | None] = queue.Queue()
        self._requests.put(pb.AuditionRequest(start=pb.AuditionStart(
            session_id=session_id, stems=list(stems), chunk_frames=chunk_frames, max_ahead=max_ahead,
            format=pb.SAMPLE_FORMAT_FLOAT32)))
        self.error: StubError | None = None
        self._acked = -1
        self._call = client.audition_call(self._feed(), timeout=timeout)
        self._reader = threading.Thread(target=self._read, name="jen-stub-audition", daemon=True)
        self._reader.start()

    def _feed(self) -> Iterator[pb.AuditionRequest]:
        while True:
            item = self._requests.get()
            if item is None:
                return
            yield item

    def _read(self) -> None:
        try:
            for event in self._call:
                if event.WhichOneof("event") == "error":
                    raise StubError(f"audition failed ({event.error.code}): {event.error.message}")
                c = event.chunk.chunk
                fmt = FORMAT_NAMES.get(c.format)
                if fmt is None or len(c.data) != c.frames * c.channels * (4 if fmt == "float32" else 3):
                    raise StubError(f"audition chunk {event.chunk.sequence} is malformed")
                self.buffer.push(sequence=event.chunk.sequence, epoch=event.chunk.epoch, start_sample=c.start_sample,
                                 audio=decode(c.data, channels=c.channels, fmt=fmt))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                self.error = rpc_error(exc, self.client.address, "auditioning")
        except StubError as exc:
            self.error = exc
        finally:
            self.buffer.close()

    def transport(self, *, playing: bool, playhead: int, loop: tuple[int, int] | None = None) -> None:
        t = pb.Transport(playing=playing, playhead_sample=playhead)
        if loop is not None:
            t.loop_start_sample, t.loop_end_sample = loop
        self._requests.put(pb.AuditionRequest(transport=t))

    def ack_consumed(self) -> None:
        """Acknowledge every chunk the playhead has consumed (the server then sends more)."""
        acked = self.buffer.acked
        if acked > self._acked:
            self._acked = acked
            self._requests.put(pb.AuditionRequest(ack=pb.Ack(sequence=acked)))

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()
        self._reader.join(5)


def run_audition(transport: HostTransport, *, frames: int, content: tuple[int, int], client: BridgeClient | None = None,
                 session_id: str = "", clips: Sequence[Clip] = (), offline: str = "block", block_frames: int = 512,
                 chunk_frames: int = 4096, max_ahead: int = 4, latency_frames: int | None = None,
                 crossfade_frames: int = 256, wait_timeout: float = 30.0) -> tuple[np.ndarray, AuditionReport]:
    """Play ``frames`` host samples from the transport's playhead; returns (what was heard ``[2, frames]``, report).

    ``transport.offline`` picks the mode: real time (paced by the clock) or offline (``offline`` = "block" waits
    for the stream, "stems" plays ``clips``, the finished stems). ``content``: host samples covered by the takes.
    ``latency_frames`` defaults to ``2 * chunk_frames``. The output is delay-compensated: sample ``i`` is what plays
    at the ``i``-th host position after the playhead.
    """
    if offline not in OFFLINE_MODES:
        raise StubError(f"offline mode {offline!r} is unknown: use {' or '.join(OFFLINE_MODES)}")
    if frames <= 0:
        raise StubError("nothing to audition: ask for more than zero seconds")
    if block_frames < 1 or max_ahead < 2 or block_frames > (max_ahead - 1) * chunk_frames:
        raise StubError(f"block of {block_frames} frames does not fit the stream window ({max_ahead} chunks of "
                        f"{chunk_frames}): use max_ahead >= 2 and blocks smaller than (max_ahead - 1) chunks")
    rate = transport.sample_rate
    latency = 2 * chunk_frames if latency_frames is None else latency_frames
    use_stems = transport.offline and offline == "stems"
    mode = "offline-stems" if use_stems else ("offline-block" if transport.offline else "realtime")
    report = AuditionReport(mode=mode, start_sample=transport.playhead_sample, frames=frames, sample_rate=rate,
                            latency_frames=latency)
    buffer = PlaybackBuffer(crossfade_frames=crossfade_frames, content=content)
    stream = None
    if not use_stems:
        if client is None or not session_id:
            raise StubError("audition from the stream needs a server and a session: run generate or compose first")
        stream = AuditionStream(client, session_id=session_id, buffer=buffer, chunk_frames=chunk_frames,
                                max_ahead=max_ahead)
    out = np.zeros((2, frames), dtype=np.float32)
    pending: collections.deque[tuple[int, int]] = collections.deque()  # host positions not yet rendered
    done = host_frames = 0
    try:
        if stream is not None:
            stream.transport(playing=True, playhead=transport.playhead_sample, loop=transport.loop)
        clock0 = time.monotonic()
        while done < frames:
            if stream is not None and stream.error is not None:
                raise stream.error
            pending.extend(transport.block(block_frames))  # the host calls the plugin with this block
            host_frames += block_frames
            target = min(frames, host_frames - latency)  # compensated: output lags the host by the latency
            while done < target:
                pos, n = pending.popleft()
                if n > target - done:
                    pending.appendleft((pos + target - done, n - (target - done)))
                    n = target - done
                out[:, done : done + n] = _render(buffer, stream, clips, pos, n, report, wait_timeout=wait_timeout,
                                                  offline=transport.offline, use_stems=use_stems)
                done += n
            if stream is not None:
                stream.ack_consumed()
            if not transport.offline:  # pace like an audio device
                lag = clock0 + host_frames / rate - time.monotonic()
                if lag > 0:
                    time.sleep(lag)
    finally:
        if stream is not None:
            stream.transport(playing=False, playhead=transport.playhead_sample, loop=transport.loop)
            stream.close()
    report.underrun_frames = buffer.underrun_frames
    report.chunks, report.jumps = buffer.received, buffer.jumps
    return out, report


def _render(buffer: PlaybackBuffer, stream: AuditionStream | None, clips: Sequence[Clip], pos: int, n: int,
            report: AuditionReport, *, wait_timeout: float, offline: bool, use_stems: bool) -> np.ndarray:
    if use_stems:
        return mixdown(clips, start=pos, end=pos + n)
    if offline:
        if stream is not None:
            stream.ack_consumed()  # make room in the server's window before waiting on it
        t0 = time.monotonic()
        if not buffer.wait(pos, n, wait_timeout):
            if stream is not None and stream.error is not None:
                raise stream.error
            raise StubError(f"no audition audio for samples {pos}-{pos + n} after {wait_timeout:g} s of offline "
                            "rendering: the server stopped sending")
        report.waited_seconds += time.monotonic() - t0
    return buffer.read(pos, n)
