"""The gRPC side of the stub: connect, upload context tracks, run jobs, sessions and takes.

Every call carries ``authorization: Bearer <token>`` when a token is given; every gRPC failure becomes a one-line
:class:`StubError` that says what went wrong and what to do.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

import grpc
import numpy as np

from plugin_stub.errors import StubError
from plugin_stub.pcm import encode_float32
from plugin_stub.protocol import pb, pb_grpc
from plugin_stub.receive import ExpectedRegion, JobResult, receive_job

UPLOAD_CHUNK_BYTES = 256 * 1024  # the contract's limit for one data message
_UNREACHABLE = ("failed to connect", "connection refused", "dns resolution failed", "name resolution",
                "unavailable", "socket closed", "no route")


def rpc_error(exc: grpc.RpcError, address: str, what: str) -> StubError:
    """A one-line error for a failed call."""
    code = exc.code() if hasattr(exc, "code") else None
    details = (exc.details() if hasattr(exc, "details") else "") or ""
    details = " ".join(details.split())[:300]
    if code == grpc.StatusCode.UNAVAILABLE and any(s in details.lower() for s in _UNREACHABLE):
        return StubError(f"cannot reach the JEN server at {address} ({details or 'unavailable'}): "
                         "start it with `jen serve` or fix --server")
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return StubError(f"the server at {address} refused the token: {details} (pass the right --token)")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return StubError(f"{what} took too long (deadline exceeded): allow more time with --timeout or use fewer steps")
    name = code.name if code is not None else "UNKNOWN"
    return StubError(f"{what} failed ({name}): {details}")


class BridgeClient:
    """A connection to one bridge server. Use as a context manager, or call :meth:`close`.

    ``address``: ``host:port``. ``timeout``: seconds allowed for a job stream. ``tls_ca``: PEM root certificate
    for a TLS server (needed with a non-loopback server).
    """

    def __init__(self, address: str = "127.0.0.1:50051", *, token: str | None = None, timeout: float = 300.0,
                 connect_timeout: float = 10.0, tls_ca: bytes | None = None) -> None:
        self.address = address
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        options = [("grpc.max_receive_message_length", 8 << 20), ("grpc.enable_retries", 0)]
        if tls_ca is not None:
            self.channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(tls_ca), options=options)
        else:
            self.channel = grpc.insecure_channel(address, options=options)
        self.stub = pb_grpc.BridgeStub(self.channel)
        self._caps: pb.Capabilities | None = None

    def __enter__(self) -> BridgeClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def _call(self, what: str, method: Callable[..., Any], request: Any, timeout: float | None = None) -> Any:
        try:
            return method(request, timeout=timeout or self.timeout, metadata=self.metadata)
        except grpc.RpcError as exc:
            raise rpc_error(exc, self.address, what) from None

    # ------------------------------------------------------------------ capabilities

    def capabilities(self) -> pb.Capabilities:
        """The server's capabilities; waits up to ``connect_timeout`` while its model is still loading."""
        if self._caps is not None:
            return self._caps
        deadline = time.monotonic() + self.connect_timeout
        while True:
            left = max(0.5, deadline - time.monotonic())
            try:
                self._caps = self.stub.GetCapabilities(pb.GetCapabilitiesRequest(), timeout=left, metadata=self.metadata)
                return self._caps
            except grpc.RpcError as exc:
                loading = exc.code() == grpc.StatusCode.UNAVAILABLE and "loading" in (exc.details() or "")
                if not loading or time.monotonic() >= deadline:
                    raise rpc_error(exc, self.address, "asking the server for its capabilities") from None
                time.sleep(0.2)

    # ------------------------------------------------------------------ upload

    def upload(self, audio: np.ndarray, *, name: str, sample_rate: int, start_sample: int,
               chunk_bytes: int = UPLOAD_CHUNK_BYTES) -> str:
        """Upload ``audio: [C, N]`` (float32, C 1 or 2) sitting at host sample ``start_sample``; returns its context id.

        Data goes in chunks of at most ``chunk_bytes`` (<= 256 KiB), then a trailer with the SHA-256 of all data.
        """
        if not 0 < chunk_bytes <= UPLOAD_CHUNK_BYTES:
            raise StubError(f"upload chunk size {chunk_bytes} must be 1-{UPLOAD_CHUNK_BYTES} bytes")
        data = encode_float32(audio)
        frame = 4 * int(audio.shape[0])
        step = max(frame, chunk_bytes - chunk_bytes % frame)  # whole frames a chunk
        digest = hashlib.sha256(data).hexdigest()

        def parts() -> Iterator[pb.UploadContextRequest]:
            yield pb.UploadContextRequest(header=pb.UploadHeader(
                name=name[:200], sample_rate=sample_rate, channels=int(audio.shape[0]), frames=int(audio.shape[1]),
                format=pb.SAMPLE_FORMAT_FLOAT32, start_sample=start_sample))
            for i in range(0, len(data), step):
                yield pb.UploadContextRequest(data=data[i : i + step])
            yield pb.UploadContextRequest(trailer=pb.UploadTrailer(sha256=digest))

        reply = self._call(f"uploading track {name!r}", self.stub.UploadContext, parts())
        if reply.frames != audio.shape[1]:
            raise StubError(f"the server stored {reply.frames} frames of track {name!r}, not {audio.shape[1]}")
        return str(reply.context_id)

    # ------------------------------------------------------------------ jobs

    def _job(self, what: str, method: Callable[..., Any], request: Any, expected: ExpectedRegion,
             on_progress: Callable[[int, int], None] | None) -> JobResult:
        call = method(request, timeout=self.timeout, metadata=self.metadata)
        try:
            return receive_job(call, expected, on_progress=on_progress)
        except grpc.RpcError as exc:
            raise rpc_error(exc, self.address, what) from None
        finally:
            call.cancel()  # a refused stream (bad chunk) must stop the server's job too

    def generate(self, request: pb.GenerateRequest, expected: ExpectedRegion, *,
                 on_progress: Callable[[int, int], None] | None = None) -> JobResult:
        """Run a Generate job and return its verified stems (see :func:`plugin_stub.receive.receive_job`)."""
        return self._job("generating", self.stub.Generate, request, expected, on_progress)

    def regenerate(self, request: pb.RegenerateRequest, expected: ExpectedRegion, *,
                   on_progress: Callable[[int, int], None] | None = None) -> JobResult:
        return self._job("regenerating", self.stub.Regenerate, request, expected, on_progress)

    # ------------------------------------------------------------------ sessions

    def create_session(self, timeline: pb.Timeline, *, prompt: str, stems: Sequence[str], name: str = "") -> pb.Session:
        return self._call("creating a session", self.stub.CreateSession, pb.CreateSessionRequest(
            timeline=timeline, prompt=prompt, stems=list(stems), name=name), timeout=30)

    def get_session(self, session_id: str) -> pb.Session:
        return self._call("reading the session", self.stub.GetSession, pb.GetSessionRequest(session_id=session_id),
                          timeout=30)

    def list_takes(self, session_id: str, stem: str = "") -> list[pb.Take]:
        reply = self._call("listing takes", self.stub.ListTakes, pb.ListTakesRequest(session_id=session_id, stem=stem),
                           timeout=30)
        return list(reply.takes)

    def keep_takes(self, session_id: str, take_ids: Sequence[str]) -> pb.Session:
        return self._call("keeping takes", self.stub.KeepTakes,
                          pb.KeepTakesRequest(session_id=session_id, take_ids=list(take_ids)), timeout=30)

    def audition_call(self, requests: Iterator[pb.AuditionRequest], *, timeout: float) -> Any:
        """The raw bidirectional Audition call (see :mod:`plugin_stub.audition`)."""
        return self.stub.Audition(requests, timeout=timeout, metadata=self.metadata)
