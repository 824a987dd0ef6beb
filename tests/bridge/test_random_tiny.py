"""Acceptance: `jen serve --model random:tiny` driven by a real gRPC client and a real UDP OSC client."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bridge.audio_io import read_wav
from tests.bridge.harness import OscClient, ServerProcess, assert_contiguous, collect, pb, stub, timeline


@pytest.mark.slow
def test_random_tiny_end_to_end_over_grpc_and_osc(tmp_path: Path) -> None:
    server = ServerProcess(["serve", "--model", "random:tiny", "--grpc-port", "0", "--osc-port", "0",
                            "--data-dir", str(tmp_path / "data")])
    osc = OscClient(server.osc_port)
    try:
        assert "model=random:tiny" in server.ready_line
        channel, bridge = stub(server.grpc_port)
        caps = bridge.GetCapabilities(pb.GetCapabilitiesRequest(), timeout=10)
        assert list(caps.stems) == ["bass", "drums", "instrument", "melody"] and list(caps.models) == ["random:tiny"]

        # bars 3-5 of 3/4 at 137 BPM, 44.1 kHz: ppq 6..12 -> samples 115883..231766 (6 * 60 / 137 * 44100)
        tl = timeline(bpm=137, num=3, den=4, rate=44100, start_bar=3, end_bar=5)
        result = collect(bridge.Generate(pb.GenerateRequest(timeline=tl, prompt="warm pads", seed=1, chunk_frames=4096, steps=6,
                                                            format=pb.SAMPLE_FORMAT_INT24), timeout=120))
        assert result.error is None, result.error
        assert sorted(result.done) == ["bass", "drums", "instrument", "melody"]
        assert_contiguous(result, start=115883, length=231766 - 115883)
        progress = [e.progress for e in result.events if e.WhichOneof("event") == "progress"]
        assert progress and progress[-1].step == progress[-1].total
        for stem, done in result.done.items():
            path = Path(done.path)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == done.sha256
            assert result.pcm_sha(stem) == done.pcm_sha256
            audio, rate = read_wav(path)
            assert rate == 44100 and audio.shape == (2, 115883)
            np.testing.assert_array_equal(audio, result.audio(stem))
            assert np.abs(audio).max() > 0  # a random model still makes sound
        channel.close()

        osc.send("/jen/ping", 1)
        assert osc.wait_for("/jen/pong").params == [1]
        osc.send("/jen/transport/tempo", 137.0)
        osc.send("/jen/transport/timesig", 3, 4)
        osc.send("/jen/transport/rate", 44100)
        osc.send("/jen/region/set", 6.0, 12.0)
        osc.send("/jen/stems", "drums")
        osc.send("/jen/steps", 4)
        osc.send("/jen/generate")
        job = osc.wait_for("/jen/job/accepted").params[0]
        ready = osc.wait_for("/jen/job/stem_ready", timeout=60)
        assert ready.params[0] == job and ready.params[2] == 115883 and ready.params[3] == "drums"
        assert Path(ready.params[1]).is_file()
        assert osc.wait_for("/jen/job/done", timeout=30).params == [job]
    finally:
        osc.close()
        server.stop()
