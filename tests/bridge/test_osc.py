"""OSC over real UDP: ping/pong, control, a generate with status replies, hostile input, liblo interop."""

from __future__ import annotations

import logging
import random
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge.audio_io import read_wav
from bridge.osc import MAX_REPLY
from tests.bridge.conftest import Served
from tests.bridge.harness import OscClient


@pytest.fixture
def osc(served: Served):  # noqa: ANN201
    client = OscClient(served.server.osc_port)
    yield client
    client.close()


def _msg(address: str, *args) -> bytes:  # noqa: ANN002
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def test_ping_pong_echoes_arguments(osc: OscClient) -> None:
    osc.send("/jen/ping", 42, "hello")
    reply = osc.wait_for("/jen/pong")
    assert reply.params == [42, "hello"]


def test_generate_over_osc_reports_progress_stem_paths_and_done(served: Served, osc: OscClient) -> None:
    osc.send("/jen/transport/tempo", 97.0)
    osc.send("/jen/transport/timesig", 7, 8)
    osc.send("/jen/transport/rate", 44100)
    osc.send("/jen/region/set", 14.0, 21.0)  # bar 5 to bar 7 of 7/8
    osc.send("/jen/prompt", "dub techno")
    osc.send("/jen/stems", "bass,drums")
    osc.send("/jen/generate")
    accepted = osc.wait_for("/jen/job/accepted")
    job_id = accepted.params[0]
    progress, ready = [], []
    while True:
        msg = osc.recv()
        assert msg.params[0] == job_id, msg.params
        if msg.address == "/jen/job/progress":
            progress.append(tuple(msg.params[1:]))
        elif msg.address == "/jen/job/stem_ready":
            ready.append(msg.params[1:])
        elif msg.address == "/jen/job/done":
            break
        else:
            raise AssertionError(msg.address)
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [r[2] for r in ready] == ["bass", "drums"]
    for path, start, _stem in ready:
        assert served.data_dir in Path(path).parents
        assert start == 381897  # ppq 14 at 97 BPM, 44.1 kHz
        audio, rate = read_wav(Path(path))
        assert rate == 44100 and audio.shape[1] == 572845 - 381897  # ppq 21 -> 572845.4
    assert served.pipeline.calls[-1][1]["prompt"] == "dub techno"


def test_bad_values_get_error_replies_and_change_nothing(served: Served, osc: OscClient) -> None:
    osc.send("/jen/transport/tempo", 1000.0)
    assert "outside 20-400" in osc.wait_for("/jen/error").params[1]
    osc.send("/jen/transport/tempo")
    assert "argument 1 is missing" in osc.wait_for("/jen/error").params[1]
    osc.send("/jen/transport/rate", "fast")
    assert "must be a number" in osc.wait_for("/jen/error").params[1]
    osc.send("/jen/generate")
    assert osc.wait_for("/jen/job/error").params == ["", "no region: send /jen/region/set <start_ppq> <end_ppq> first"]
    osc.send("/jen/context", "bass", "/etc/passwd")
    assert "outside the data directory" in osc.wait_for("/jen/error").params[1]
    osc.send("/jen/context", "bass", "../../etc/passwd")
    assert "outside the data directory" in osc.wait_for("/jen/error").params[1]
    assert served.server.server.osc.state.bpm == 120.0 and not served.server.server.osc.state.context
    osc.send("/jen/cancel", "j_0000000000000000")
    assert osc.wait_for("/jen/job/cancel").params == ["j_0000000000000000", "unknown"]


def test_context_file_inside_the_data_dir_is_used(served: Served, osc: OscClient) -> None:
    from bridge.audio_io import write_wav

    inbox = served.data_dir / "inbox"
    write_wav(inbox / "bass.wav", np.zeros((2, 96000), np.float32), sample_rate=48000, fmt="float32")
    osc.send("/jen/region/set", 0.0, 4.0)
    osc.send("/jen/task", "compose")
    osc.send("/jen/context", "bass", "inbox/bass.wav")
    osc.send("/jen/generate")
    job = osc.wait_for("/jen/job/accepted").params[0]
    osc.wait_for("/jen/job/done")
    assert served.pipeline.calls[-1][1]["keep"] == ["bass"] and job.startswith("j_")


def test_invalid_utf8_is_dropped_and_serving_goes_on(served: Served, osc: OscClient) -> None:
    osc.send_raw(b"/jen/prompt\x00,s\x00\x00\xff\xfe\x00\x00")  # escapes python-osc's own ParseError handling
    osc.send_raw(b"/\xc3\x28\x00\x00,\x00\x00\x00")
    osc.send("/jen/ping", "ok")
    assert osc.wait_for("/jen/pong").params == ["ok"]
    assert served.server.server.osc.bad_packets == 2 and served.server.server.osc.state.prompt == ""


def test_bundle_timetags_never_block(osc: OscClient) -> None:
    bundle = OscBundleBuilder(time.time() + 3600)  # an hour ahead: python-osc's own server would sleep
    bundle.add_content(OscMessageBuilder(address="/jen/ping").build())
    osc.send_raw(bundle.build().dgram)
    t0 = time.perf_counter()
    osc.wait_for("/jen/pong", timeout=2)
    assert time.perf_counter() - t0 < 0.5


def test_large_datagram_is_read_and_replies_stay_small(osc: OscClient) -> None:
    osc.send_raw(_msg("/jen/ping", b"\x01" * 60000))  # ~60 KB datagram
    data, _ = osc.sock.recvfrom(65536)
    assert len(data) < MAX_REPLY and b"reply too large" in data


def _fuzz_packets(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    valid = [_msg("/jen/prompt", "hello"), _msg("/jen/transport/tempo", 120.0), _msg("/jen/region/set", 0.0, 4.0),
             _msg("/jen/stems", "bass"), _msg("/jen/ping", 1)]
    out = []
    for i in range(n):
        kind = i % 8
        if kind == 0:
            out.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64))))
        elif kind == 1:  # invalid UTF-8 in the address or a string argument
            out.append(b"/jen/prompt\x00,s\x00\x00\xff\xfe\xfd\x00" if i % 16 else b"/\xff\xfe\x00,\x00\x00\x00")
        elif kind == 2:  # truncated valid message
            m = rng.choice(valid)
            out.append(m[: rng.randint(1, len(m) - 1)])
        elif kind == 3:  # flipped bytes
            m = bytearray(rng.choice(valid))
            for _ in range(3):
                m[rng.randrange(len(m))] = rng.getrandbits(8)
            out.append(bytes(m))
        elif kind == 4:  # bundle with a lying element size
            out.append(b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", 10_000) + b"/x\x00\x00")
        elif kind == 5:  # deeply nested bundles
            inner = _msg("/jen/ping")
            for _ in range(rng.randint(1, 40)):
                inner = b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", len(inner)) + inner
            out.append(inner)
        elif kind == 6:  # wrong argument types for real addresses
            out.append(_msg(rng.choice(["/jen/transport/timesig", "/jen/region/set", "/jen/transport/rate"]), "x"))
        else:  # unknown type tags / huge blob length
            out.append(b"/jen/ping\x00\x00\x00,b\x00\x00" + struct.pack(">i", 2**30))
    return out


def test_fuzz_never_stops_the_server_and_ping_keeps_answering(served: Served, osc: OscClient,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="jen.bridge.osc")
    packets = _fuzz_packets(3000, seed=1)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    latencies = []
    t_end = time.monotonic() + 20
    for i, packet in enumerate(packets):
        sender.sendto(packet, ("127.0.0.1", served.server.osc_port))
        if i % 100 == 99:
            t0 = time.perf_counter()
            osc.send("/jen/ping", i)
            while True:  # replies to fuzzed pings may be queued first: find ours
                reply = osc.recv(timeout=2)
                if reply.address == "/jen/pong" and reply.params == [i]:
                    break
            latencies.append(time.perf_counter() - t0)
        assert time.monotonic() < t_end
    sender.close()
    assert len(latencies) == 30
    p99 = float(np.percentile(latencies, 99))
    print(f"OSC ping p99 under fuzz: {p99 * 1000:.2f} ms over {len(latencies)} pings")
    assert p99 < 0.25
    osc_server = served.server.server.osc
    assert osc_server.bad_packets >= 1000
    osc.send("/jen/ping", "still here")
    assert osc.wait_for("/jen/pong").params == ["still here"]
    logged = [r for r in caplog.records if r.name == "jen.bridge.osc"]
    assert 1 <= len(logged) <= 5 + 5 * 20  # a burst of 5, then at most 5 a second


@pytest.mark.skipif(shutil.which("oscsend") is None or shutil.which("oscdump") is None,
                    reason="liblo-tools not installed (apt-get install -y --no-install-recommends liblo-tools)")
def test_liblo_oscsend_gets_pong_in_oscdump(served: Served) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    dump_port = probe.getsockname()[1]
    probe.close()
    dump = subprocess.Popen(["oscdump", "-L", str(dump_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(0.3)
        port = str(served.server.osc_port)
        # oscsend exits at once from a random port: ask for replies on oscdump's port first
        subprocess.run(["oscsend", "localhost", port, "/jen/reply_port", "i", str(dump_port)], check=True, timeout=5)
        subprocess.run(["oscsend", "localhost", port, "/jen/ping", "si", "liblo", "7"], check=True, timeout=5)
        line = ""
        deadline = time.monotonic() + 5
        while "/jen/pong" not in line and time.monotonic() < deadline:
            line = dump.stdout.readline()  # type: ignore[union-attr]
        assert "/jen/pong" in line and '"liblo"' in line and "7" in line, line
    finally:
        dump.kill()
        dump.communicate(timeout=5)
