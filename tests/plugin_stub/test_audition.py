"""Audition against the real server code (fake pipeline): real time, offline (block / stems), loops, flow control."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from plugin_stub.audition import AuditionStream, run_audition
from plugin_stub.client import BridgeClient
from plugin_stub.errors import StubError
from plugin_stub.generate import run_generate
from plugin_stub.outputs import OutputFolder
from plugin_stub.playback import PlaybackBuffer
from plugin_stub.project import Project, load_project
from plugin_stub.timeline import mixdown
from tests.bridge.fake_pipeline import FakePipeline
from tests.bridge.harness import running_server
from tests.plugin_stub.conftest import write_project

START, END = 96000, 192000  # bars 2-3 of 4/4 at 120 BPM, 48 kHz


@dataclass
class Generated:
    client: BridgeClient
    project: Project
    out: OutputFolder
    mix: np.ndarray  # [2, END] the selected takes on the timeline


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    tmp = tmp_path_factory.mktemp("audition")
    project = load_project(write_project(tmp / "p", stems=["bass", "melody"]))
    with running_server(tmp, FakePipeline()) as srv, BridgeClient(f"127.0.0.1:{srv.grpc_port}") as client:
        out = OutputFolder(tmp / "out")
        run_generate(project, client, out)
        yield Generated(client, project, out, mixdown(out.selected_clips(), start=0, end=END))


def _play(g: Generated, *, frames: int, offline: str | None, playhead: int = START,
          loop: tuple[int, int] | None = None, **kw: object) -> tuple[np.ndarray, object]:
    t = g.project.transport
    t.offline, t.loop = offline is not None, None
    t.locate_sample(playhead)
    if loop is not None:
        t.set_loop(*loop)
    clips = g.out.selected_clips() if offline == "stems" else ()
    return run_audition(t, frames=frames, content=(START, END), client=g.client, session_id=g.out.session_id,
                        clips=clips, offline=offline or "block", **kw)


@pytest.mark.parametrize("offline", ["block", "stems"])
def test_offline_render_plays_exactly_the_takes(generated: Generated, offline: str) -> None:
    audio, report = _play(generated, frames=END - START, offline=offline, chunk_frames=4096)
    np.testing.assert_allclose(audio, generated.mix[:, START:END], atol=1e-6)
    assert report.mode == f"offline-{offline}" and report.underrun_frames == 0
    assert report.latency_frames == 8192 and report.latency_ms == pytest.approx(8192 / 48)
    assert report.chunks == (0 if offline == "stems" else -(-(END - START) // 4096))


def test_real_time_is_paced_by_the_clock_and_stays_in_step(generated: Generated) -> None:
    frames = 12000  # 0.25 s
    t0 = time.monotonic()
    audio, report = _play(generated, frames=frames, offline=None, playhead=START - 4000, chunk_frames=2048,
                          max_ahead=8, latency_frames=8192)
    assert time.monotonic() - t0 >= (frames + 8192) / 48000 * 0.9  # output lags the host by the latency
    assert report.mode == "realtime" and report.underrun_frames == 0 and report.latency_ms == pytest.approx(8192 / 48)
    assert not audio[:, :4000].any()  # before the takes: silence, not an underrun
    np.testing.assert_allclose(audio[:, 4000:], generated.mix[:, START : START + 8000], atol=1e-6)


def test_a_loop_wraps_with_a_crossfade(generated: Generated) -> None:
    loop = (START, START + 30000)
    audio, report = _play(generated, frames=60000, offline="block", loop=loop, chunk_frames=4096,
                          crossfade_frames=128)
    body = generated.mix[:, loop[0] : loop[1]]
    assert report.jumps == 1 and report.underrun_frames == 0
    np.testing.assert_allclose(audio[:, :30000], body, atol=1e-6)
    np.testing.assert_allclose(audio[:, 30128:], body[:, 128:], atol=1e-6)
    step = np.abs(np.diff(audio[:, 29990:30140], axis=1)).max()
    assert step <= np.abs(np.diff(body, axis=1)).max() + 1e-6  # no click at the wrap


def test_the_stream_stays_a_bounded_number_of_chunks_ahead(generated: Generated) -> None:
    buffer = PlaybackBuffer(content=(START, END))
    stream = AuditionStream(generated.client, session_id=generated.out.session_id, buffer=buffer, chunk_frames=1000,
                            max_ahead=3)
    try:
        stream.transport(playing=True, playhead=START)
        assert buffer.wait(START, 3000, timeout=10)
        time.sleep(0.3)
        assert buffer.received == 3  # nothing consumed: the server waits
        buffer.read(START, 1000)  # the playhead consumes one chunk
        stream.ack_consumed()
        deadline = time.monotonic() + 10
        while buffer.received < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert buffer.received == 4
    finally:
        stream.close()


def test_bad_audition_settings_are_refused(generated: Generated) -> None:
    with pytest.raises(StubError, match="does not fit the stream window"):
        _play(generated, frames=1000, offline="block", block_frames=8192, chunk_frames=1024, max_ahead=2)
    with pytest.raises(StubError, match="session .* does not exist|NOT_FOUND"):
        t = generated.project.transport
        t.offline = True
        run_audition(t, frames=1000, content=(START, END), client=generated.client, session_id="s_0000000000000000")


def test_cli_writes_what_would_have_played(generated: Generated, tmp_path: Path) -> None:
    from plugin_stub.cli import main
    from plugin_stub.wav import read_info

    project = write_project(tmp_path, stems=["bass", "melody"], transport={"playhead_bar": 2})
    args = ["audition", str(project), "--out", str(generated.out.path), "--server", generated.client.address,
            "--offline", "block", "--seconds", "0.5", "--file", "listen.wav", "--quiet"]
    assert main(args) == 0
    import soundfile as sf

    audio, _ = sf.read(str(generated.out.path / "listen.wav"), dtype="float32", always_2d=True)
    assert read_info(generated.out.path / "listen.wav").time_reference == START
    np.testing.assert_allclose(audio.T, generated.mix[:, START : START + 24000], atol=1e-6)
