"""OSC control and status over UDP (python-osc parsing inside our own asyncio datagram endpoint).

Address space (requests -> replies go to the sender's address):
  /jen/ping [any]                   -> /jen/pong [same args]
  /jen/transport/tempo f            (BPM 20-400)        /jen/transport/timesig ii   /jen/transport/rate i
  /jen/region/set ff                (start and end PPQ)  /jen/prompt s   /jen/stems s ("bass,drums"; "" = all)
  /jen/task s   /jen/seed i   /jen/steps i   /jen/context s s (stem, WAV path inside the data dir)   /jen/context/clear
  /jen/generate                     -> /jen/job/accepted s, /jen/job/progress s i i,
                                       /jen/job/stem_ready s <path> <start_sample> <stem>, /jen/job/done s,
                                       /jen/job/error s s
  /jen/cancel s                     -> /jen/job/cancel s s (job id, state)
  /jen/reply_port i                 replies to this sender's host go to that port (0: back to the sender's port);
                                    lets one-shot senders such as liblo's oscsend reach a listener (oscdump)
A bad value gets ``/jen/error s s`` (address, message). The library is wrapped, not trusted: every parse error
(invalid UTF-8 included) is caught and logged at a limited rate, bundle timetags are ignored (no sleeping),
datagrams up to 64 KiB are read, replies stay under 4 KiB, and OSC can only name files inside the data dir.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from bridge.audio_io import FLOAT32, read_wav, write_wav
from bridge.engine import Engine
from bridge.jobs import Failed, Finished, NotAccepting, QueueFull, StemEvent, StepEvent
from bridge.specs import generate_spec
from bridge.store import ContextRow, inside_data_dir, new_id
from bridge.validate import TASKS, ValidationError, check_bpm, check_prompt, check_rate, check_steps, timeline_spec
from jen_core.errors import JenError

log = logging.getLogger("jen.bridge.osc")
MAX_DATAGRAM = 65536
MAX_REPLY = 4096
INT32_MAX = 2**31 - 1


class RateLimitedLog:
    """At most ``per_second`` warnings a second; the rest are counted and reported with the next one."""

    def __init__(self, logger: logging.Logger, *, per_second: float = 5.0) -> None:
        self.logger, self.per_second = logger, per_second
        self.tokens, self.last, self.suppressed, self.total = per_second, time.monotonic(), 0, 0

    def warning(self, message: str, *args: Any) -> None:
        self.total += 1
        now = time.monotonic()
        self.tokens = min(self.per_second, self.tokens + (now - self.last) * self.per_second)
        self.last = now
        if self.tokens < 1:
            self.suppressed += 1
            return
        self.tokens -= 1
        extra = f" ({self.suppressed} similar messages suppressed)" if self.suppressed else ""
        self.suppressed = 0
        self.logger.warning(message + extra, *args)


def build_message(address: str, *args: Any) -> bytes:
    """Encode one OSC message; ints outside int32 go as int64, strings are capped so the datagram stays small."""
    builder = OscMessageBuilder(address=address)
    for arg in args:
        if isinstance(arg, bool) or arg is None:
            builder.add_arg(bool(arg))
        elif isinstance(arg, int):
            builder.add_arg(arg, "i" if -INT32_MAX - 1 <= arg <= INT32_MAX else "h")
        elif isinstance(arg, float):
            builder.add_arg(arg, "f")
        elif isinstance(arg, bytes):
            builder.add_arg(arg, "b")
        else:
            builder.add_arg(str(arg)[:1024], "s")
    return builder.build().dgram


@dataclass
class ControlState:
    """What the DAW has told us over OSC so far (one shared state: one host talks to one server)."""

    bpm: float = 120.0
    numerator: int = 4
    denominator: int = 4
    sample_rate: int = 48000
    region: tuple[float, float] | None = None
    prompt: str = ""
    stems: tuple[str, ...] = ()
    task: str = "generate"
    seed: int = 0
    steps: int = 0
    context: dict[str, str] = field(default_factory=dict)  # stem -> absolute WAV path inside the data dir


class OscServer:
    """Serves the address space above on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""

    def __init__(self, *, engine: Engine, host: str = "127.0.0.1", port: int = 9000) -> None:
        self.engine, self.host, self.requested_port = engine, host, port
        self.state = ControlState()
        self.malformed = RateLimitedLog(log)
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.packets = 0
        self.bad_packets = 0
        self._routes: dict[str, Callable[[tuple[str, int], list[Any]], None]] = {
            "/jen/ping": self._ping, "/jen/transport/tempo": self._tempo, "/jen/transport/timesig": self._timesig,
            "/jen/transport/rate": self._rate, "/jen/region/set": self._region, "/jen/prompt": self._prompt,
            "/jen/stems": self._stems, "/jen/task": self._task, "/jen/seed": self._seed, "/jen/steps": self._steps,
            "/jen/context": self._context, "/jen/context/clear": self._context_clear, "/jen/generate": self._generate,
            "/jen/cancel": self._cancel, "/jen/reply_port": self._reply_port,
        }
        self._reply_ports: dict[str, int] = {}  # sender host -> port replies go to (replies never leave that host)

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        server = self

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                server.handle(data, addr)

            def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable after a reply
                log.debug("OSC socket error: %s", exc)

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)  # survive bursts (capped by the kernel)
            sock.bind((self.host, self.requested_port))
        except OSError as exc:
            sock.close()
            raise JenError(f"cannot bind OSC to {self.host}:{self.requested_port}: {exc}; pick another --osc-port") from exc
        sock.setblocking(False)
        self.transport, _ = await loop.create_datagram_endpoint(Protocol, sock=sock)
        self.port = int(sock.getsockname()[1])
        return self.port

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------------ packets

    def handle(self, data: bytes, addr: tuple[str, int]) -> None:
        """Parse one datagram and run its messages; never raises."""
        self.packets += 1
        try:
            if len(data) > MAX_DATAGRAM:
                raise ValueError(f"datagram of {len(data)} bytes is over {MAX_DATAGRAM}")
            messages = [timed.message for timed in OscPacket(data).messages]  # timetags ignored: no sleeping
        except Exception as exc:  # noqa: BLE001 - ParseError, UnicodeDecodeError, struct.error, RecursionError, ...
            self.bad_packets += 1
            self.malformed.warning("malformed OSC packet of %d bytes from %s: %s", len(data), addr[0],
                                   f"{type(exc).__name__}: {exc}"[:200])
            return
        for message in messages:
            try:
                address, params = message.address, list(message.params)
            except Exception as exc:  # noqa: BLE001 - lazily parsed arguments can still fail
                self.bad_packets += 1
                self.malformed.warning("malformed OSC message from %s: %s", addr[0], f"{type(exc).__name__}: {exc}"[:200])
                continue
            route = self._routes.get(address)
            if route is None:
                self.malformed.warning("unknown OSC address %r from %s", address[:80], addr[0])
                continue
            try:
                route(addr, params)
            except (JenError, ValueError, TypeError, IndexError, OverflowError) as exc:
                self.send(addr, "/jen/error", address, str(exc))
            except Exception:  # noqa: BLE001 - a handler bug must not stop the server
                log.exception("OSC handler for %s failed", address)
                self.send(addr, "/jen/error", address, "internal error")

    def send(self, addr: tuple[str, int], address: str, *args: Any) -> None:
        """Send one reply (only from the event loop thread)."""
        dgram = build_message(address, *args)
        if len(dgram) > MAX_REPLY:
            dgram = build_message("/jen/error", address, "reply too large")
        port = self._reply_ports.get(addr[0])
        if port:
            addr = (addr[0], port)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(dgram, addr)

    def send_threadsafe(self, loop: asyncio.AbstractEventLoop, addr: tuple[str, int], address: str, *args: Any) -> None:
        try:
            loop.call_soon_threadsafe(self.send, addr, address, *args)
        except RuntimeError:  # the loop closed during shutdown
            pass

    # ------------------------------------------------------------------ handlers

    def _ping(self, addr: tuple[str, int], args: list[Any]) -> None:
        self.send(addr, "/jen/pong", *args[:8])

    def _reply_port(self, addr: tuple[str, int], args: list[Any]) -> None:
        port = int(_number(args, 0))
        if not 0 <= port <= 65535:
            raise ValidationError(f"reply port {port} is outside 0-65535 (0: reply to the sending port)")
        if port:
            self._reply_ports[addr[0]] = port
            if len(self._reply_ports) > 1024:  # bounded: drop the oldest host
                self._reply_ports.pop(next(iter(self._reply_ports)))
        else:
            self._reply_ports.pop(addr[0], None)

    def _tempo(self, addr: tuple[str, int], args: list[Any]) -> None:
        self.state.bpm = check_bpm(_number(args, 0), "/jen/transport/tempo")

    def _timesig(self, addr: tuple[str, int], args: list[Any]) -> None:
        num, den = int(_number(args, 0)), int(_number(args, 1))
        timeline_spec(bpm=self.state.bpm, tempo_map=(), numerator=num, denominator=den, sample_rate=48000,
                      region={"start_ppq": 0.0, "end_ppq": 1.0})  # validates the pair
        self.state.numerator, self.state.denominator = num, den

    def _rate(self, addr: tuple[str, int], args: list[Any]) -> None:
        self.state.sample_rate = check_rate(int(_number(args, 0)), "/jen/transport/rate")

    def _region(self, addr: tuple[str, int], args: list[Any]) -> None:
        start, end = _number(args, 0), _number(args, 1)
        if not (0 <= start < end):
            raise ValidationError(f"region {start:g}-{end:g} PPQ: the end must be after the start, both >= 0")
        self.state.region = (start, end)

    def _prompt(self, addr: tuple[str, int], args: list[Any]) -> None:
        self.state.prompt = check_prompt(_string(args, 0))

    def _stems(self, addr: tuple[str, int], args: list[Any]) -> None:
        text = _string(args, 0)
        self.state.stems = tuple(s for s in text.replace(",", " ").split() if s)

    def _task(self, addr: tuple[str, int], args: list[Any]) -> None:
        task = _string(args, 0)
        if task not in TASKS:
            raise ValidationError(f"task {task[:40]!r} is unknown: use {', '.join(TASKS)}")
        self.state.task = task

    def _seed(self, addr: tuple[str, int], args: list[Any]) -> None:
        self.state.seed = max(0, int(_number(args, 0)))

    def _steps(self, addr: tuple[str, int], args: list[Any]) -> None:
        steps = int(_number(args, 0))
        check_steps(steps)
        self.state.steps = steps

    def _context(self, addr: tuple[str, int], args: list[Any]) -> None:
        stem, path = _string(args, 0), _string(args, 1)
        resolved = inside_data_dir(self.engine.data_dir, path)  # never a file outside the data directory
        if not resolved.is_file():
            raise ValidationError(f"context file {path[:200]} does not exist inside the data directory")
        self.state.context[stem] = str(resolved)

    def _context_clear(self, addr: tuple[str, int], args: list[Any]) -> None:
        self.state.context.clear()

    def _cancel(self, addr: tuple[str, int], args: list[Any]) -> None:
        job_id = _string(args, 0)
        self.send(addr, "/jen/job/cancel", job_id[:64], self.engine.cancel(job_id))

    def _generate(self, addr: tuple[str, int], args: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        try:
            spec = self._spec()
        except (JenError, NotAccepting) as exc:
            self.send(addr, "/jen/job/error", "", str(exc))
            return

        def sink(event: Any) -> None:
            jid = spec.job_id
            if isinstance(event, StepEvent):
                self.send_threadsafe(loop, addr, "/jen/job/progress", jid, event.step, event.total)
            elif isinstance(event, StemEvent):
                r = event.result
                self.send_threadsafe(loop, addr, "/jen/job/stem_ready", jid, str(r.path), r.start_sample, r.stem)
            elif isinstance(event, Finished):
                self.send_threadsafe(loop, addr, "/jen/job/done", jid)
            elif isinstance(event, Failed):
                self.send_threadsafe(loop, addr, "/jen/job/error", jid, f"{event.code}: {event.message}")

        try:
            job, _ = self.engine.submit(spec, sink)
        except (QueueFull, NotAccepting) as exc:
            self.send(addr, "/jen/job/error", "", str(exc))
            return
        self.send(addr, "/jen/job/accepted", job.id)

    def _spec(self) -> Any:
        model = self.engine.require_model()
        st = self.state
        if st.region is None:
            raise ValidationError("no region: send /jen/region/set <start_ppq> <end_ppq> first")
        timeline = timeline_spec(bpm=st.bpm, tempo_map=(), numerator=st.numerator, denominator=st.denominator,
                                 sample_rate=st.sample_rate, region={"start_ppq": st.region[0], "end_ppq": st.region[1]})
        plan = timeline.plan()
        refs = [(self._register_context(stem, path, plan, st), stem) for stem, path in st.context.items()]
        return generate_spec(store=self.engine.store, model=model, timeline=timeline, session_id="", prompt=st.prompt,
                             stems=st.stems, task=st.task, seed=st.seed, steps=st.steps, sampler="", key="",
                             fmt=FLOAT32, chunk_frames=0, context=refs, name="osc")

    def _register_context(self, stem: str, path: str, plan: Any, st: ControlState) -> str:
        """Copy a WAV named over OSC into the store as a context track placed for the current task."""
        audio, rate = read_wav(inside_data_dir(self.engine.data_dir, path))
        frames = int(audio.shape[1])
        start = plan.start_sample - frames if st.task == "continue" else plan.start_sample
        if start < 0:
            raise ValidationError(f"context {path[:200]} is longer than the time before the region")
        store = self.engine.store
        context_id = new_id("c")
        target = store.context_path(context_id)
        sha = write_wav(target, audio, sample_rate=rate, fmt=FLOAT32, time_reference=start)
        store.add_context(ContextRow(id=context_id, name=f"osc:{stem}", path=store.relative(target), sample_rate=rate,
                                     channels=int(audio.shape[0]), frames=frames, start_sample=start, sha256=sha,
                                     created=time.time()))
        return context_id


def _number(args: list[Any], i: int) -> float:
    if i >= len(args):
        raise ValidationError(f"argument {i + 1} is missing: send a number")
    value = args[i]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"argument {i + 1} must be a number, got {type(value).__name__}")
    return float(value)


def _string(args: list[Any], i: int) -> str:
    value = args[i] if i < len(args) else ""
    if not isinstance(value, str):
        raise ValidationError(f"argument {i + 1} must be a string, got {type(value).__name__}")
    return value
