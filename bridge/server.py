"""Process wiring: one asyncio loop runs the grpc.aio server, health, reflection and the OSC endpoint.

Lifecycle: bind everything with health NOT_SERVING, load the model in a background thread, then SERVING and a
one-line ready message. SIGTERM/SIGINT: health NOT_SERVING, no new jobs, in-flight streams get ``grace``
seconds to finish, then the worker stops and the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from bridge.auth import TokenInterceptor, check_bind, is_loopback, server_credentials
from bridge.engine import Engine
from bridge.osc import OscServer
from bridge.protocol import ensure_generated
from jen_core.errors import JenError

log = logging.getLogger("jen.bridge.server")

SERVICE = "jen.bridge.v1.Bridge"
MAX_RECEIVE_BYTES = 1 << 20  # an upload chunk is <= 256 KiB; everything else is small
MAX_SEND_BYTES = 4 << 20  # a stem chunk is <= 65536 frames x 2 ch x 4 bytes = 512 KiB
MAX_CONCURRENT_RPCS = 256


@dataclass
class ServerConfig:
    data_dir: Path
    model: str = "small"
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    osc_host: str = "127.0.0.1"
    osc_port: int = 9000
    token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    queue_size: int = 4
    device: str = "cpu"
    backend: str = "torch"  # torch | torch-compile | onnx | tensorrt
    grace: float = 10.0
    warmup: bool = True


def default_loader(config: ServerConfig) -> Callable[[], Any]:
    def load() -> Any:
        from export.runtimes import load_pipeline

        return load_pipeline(config.model, device=config.device, backend=config.backend)

    return load


class BridgeServer:
    """The running server. ``loader`` returns a pipeline (called once, on a background thread)."""

    def __init__(self, config: ServerConfig, *, loader: Callable[[], Any] | None = None) -> None:
        check_bind(host=config.host, token=config.token, tls=bool(config.tls_cert))
        if not is_loopback(config.osc_host):
            raise JenError(f"OSC has no authentication: keep --osc-host on loopback, not {config.osc_host}")
        ensure_generated()
        self.config = config
        self.loader = loader or default_loader(config)
        self.engine = Engine(data_dir=config.data_dir, queue_size=config.queue_size)
        self.health = HealthServicer()
        self.osc = OscServer(engine=self.engine, host=config.osc_host, port=config.osc_port)
        self.grpc_port = 0
        self.osc_port = 0
        self._server: grpc.aio.Server | None = None
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        from bridge.servicer import BridgeServicer
        from bridge.v1 import bridge_pb2, bridge_pb2_grpc

        cfg = self.config
        interceptors = [TokenInterceptor(cfg.token)] if cfg.token else []
        server = grpc.aio.server(
            interceptors=interceptors, maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
            options=[("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
                     ("grpc.max_send_message_length", MAX_SEND_BYTES), ("grpc.so_reuseport", 0),
                     ("grpc.keepalive_time_ms", 30_000), ("grpc.keepalive_timeout_ms", 10_000)],
        )
        bridge_pb2_grpc.add_BridgeServicer_to_server(BridgeServicer(self.engine), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        for name in ("", SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        if is_loopback(cfg.host):  # reflection lists the API: only for local tools (grpcurl)
            names = (bridge_pb2.DESCRIPTOR.services_by_name["Bridge"].full_name, health_pb2.DESCRIPTOR.services_by_name[
                "Health"].full_name, reflection.SERVICE_NAME)
            reflection.enable_server_reflection(names, server)
        host = f"[{cfg.host.strip('[]')}]" if ":" in cfg.host else cfg.host
        creds = server_credentials(cert=cfg.tls_cert, key=cfg.tls_key)
        try:
            address = f"{host}:{cfg.grpc_port}"
            port = server.add_secure_port(address, creds) if creds else server.add_insecure_port(address)
        except RuntimeError as exc:
            raise JenError(f"cannot bind gRPC to {cfg.host}:{cfg.grpc_port}: {exc}; pick another --grpc-port") from exc
        if not port:
            raise JenError(f"cannot bind gRPC to {cfg.host}:{cfg.grpc_port}: pick another --grpc-port")
        self.grpc_port = port
        await server.start()
        self._server = server
        self.osc_port = await self.osc.start()

    async def load_model(self) -> None:
        """Load the pipeline off the event loop, attach it, then report SERVING."""
        pipeline = await _in_daemon_thread(self.loader)
        self.engine.attach(pipeline, warmup=self.config.warmup)
        assert self.engine.jobs is not None
        await _in_daemon_thread(self.engine.jobs.warmed.wait)
        for name in ("", SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float | None = None) -> None:
        """Graceful stop: NOT_SERVING, refuse new jobs, let streams finish for ``grace`` s, then close."""
        if self._stopped.is_set():
            return
        await self.health.enter_graceful_shutdown()
        self.engine.begin_shutdown()
        if self._server is not None:
            await self._server.stop(self.config.grace if grace is None else grace)
        self.osc.close()
        await asyncio.to_thread(self.engine.close, timeout=5.0)
        self._stopped.set()

    def ready_line(self) -> str:
        cfg, model = self.config, self.engine.model
        return (f"jen serve: ready model={model.name if model else '?'} grpc={cfg.host}:{self.grpc_port} "
                f"osc={cfg.osc_host}:{self.osc_port} data_dir={self.engine.data_dir}")


async def _in_daemon_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a daemon thread (a model load must not keep a terminating process alive)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def run() -> None:
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the loop
            error = exc
            loop.call_soon_threadsafe(lambda: future.done() or future.set_exception(error))
        else:
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(result))

    threading.Thread(target=run, name="jen-model-load", daemon=True).start()
    return await future


async def serve(config: ServerConfig, *, loader: Callable[[], Any] | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status (0 after a graceful stop)."""
    server = BridgeServer(config, loader=loader)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(f"jen serve: loading model {config.model} (grpc={config.host}:{server.grpc_port} "
          f"osc={config.osc_host}:{server.osc_port})", file=sys.stderr, flush=True)
    load = asyncio.ensure_future(server.load_model())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({load, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if load.done():
        try:
            load.result()
        except BaseException:
            stopper.cancel()
            await server.stop(grace=0)
            raise
        print(server.ready_line(), flush=True)
        await stopper
    else:
        load.cancel()
    log.info("stopping: finishing in-flight streams (grace %.1f s)", config.grace)
    await server.stop()
    return 0
