"""The co-composition loop and the context tasks, against the real server code with a fast fake pipeline."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from plugin_stub.client import BridgeClient
from plugin_stub.compose import CoComposer
from plugin_stub.errors import StubError
from plugin_stub.generate import run_generate
from plugin_stub.outputs import OutputFolder
from plugin_stub.project import load_project
from plugin_stub.timeline import mixdown
from plugin_stub.wav import read_info
from tests.bridge.fake_pipeline import FakePipeline
from tests.bridge.harness import running_server
from tests.plugin_stub.conftest import write_project

# bars 3-5 of 4/4 at 120 BPM, 48 kHz: samples 192000-384000
START, END = 192000, 384000


def _read(path: Path) -> np.ndarray:
    audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return audio.T


def test_keep_regenerate_and_bar_range_over_several_calls(tmp_path: Path) -> None:
    pipe = FakePipeline()
    project = load_project(write_project(tmp_path / "p", stems=[], region={"start_bar": 3, "end_bar": 5},
                                         chunk_frames=16384))
    out = OutputFolder(tmp_path / "out")
    with running_server(tmp_path, pipe) as srv, BridgeClient(f"127.0.0.1:{srv.grpc_port}") as client:
        composer = CoComposer(project, client, out)
        first = composer.start()
        assert first is not None and sorted(first.stems) == ["bass", "drums", "instrument", "melody"]
        names = sorted(p.name for p in out.path.iterdir())
        assert names == ["bass_take1_bars3-5.wav", "drums_take1_bars3-5.wav", "instrument_take1_bars3-5.wav",
                         "melody_take1_bars3-5.wav", "mixdown.wav", "takes.json"]

        composer.keep(["drums:1"])
        again = composer.regenerate(["bass"], seed=5)
        kind, call = pipe.calls[-1]
        assert kind == "compose" and call["generate"] == ["bass"] and call["keep"] == ["drums", "instrument", "melody"]
        assert out.selected["bass"] == again.stems["bass"].take_id
        assert (out.path / "bass_take2_bars3-5.wav").is_file()

        edit = composer.regenerate(["melody"], bars=(4, 5))
        assert pipe.calls[-1][1]["region"] == pytest.approx((2.0, 4.0))  # bar 4 starts 2 s into the region
        path = out.path / "melody_take2_bars3-5_edit4-5.wav"
        assert read_info(path).time_reference == START and out.selected["melody"] == edit.stems["melody"].take_id
        old, new = _read(out.path / "melody_take1_bars3-5.wav"), _read(path)
        np.testing.assert_array_equal(old[:, : 96000 - 5000], new[:, : 96000 - 5000])  # bar 3 untouched
        assert not np.array_equal(old[:, 100000:], new[:, 100000:])

        composer.keep(["bass_take1_bars3-5.wav"])  # back to the first bass take, by file name
        assert out.selected["bass"] == first.stems["bass"].take_id
        takes = composer.takes()
        assert len(takes) == 6 and {t.take_id for t in takes if t.selected} == set(out.selected.values())

        # the mixdown is the selected takes at their bext positions
        expected = mixdown(out.selected_clips(), start=START, end=END)
        assert read_info(out.path / "mixdown.wav").time_reference == START
        np.testing.assert_allclose(_read(out.path / "mixdown.wav"), expected, atol=1e-6)

        # a later call over the same folder resumes the session instead of starting another
        resumed = CoComposer(project, client, OutputFolder(out.path))
        assert resumed.start() is None and resumed.session_id == composer.session_id
        with pytest.raises(StubError, match="no take drums:9"):
            resumed.keep(["drums:9"])
        with pytest.raises(StubError, match="not inside the region"):
            resumed.regenerate(["melody"], bars=(5, 7))
        moved = load_project(write_project(tmp_path / "q", stems=[], region={"start_bar": 2, "end_bar": 4}))
        with pytest.raises(StubError, match="use a new output folder"):
            CoComposer(moved, client, OutputFolder(out.path)).start()


def test_compose_task_uploads_the_stem_tracks_in_checked_chunks(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    bass = (rng.standard_normal((2, 5 * 48000)) * 0.1).astype(np.float32)
    sf.write(tmp_path / "bass.wav", bass.T, 48000, subtype="FLOAT")
    project = load_project(write_project(
        tmp_path, stems=[], task="compose", region={"start_bar": 3, "end_bar": 5},
        tracks=[{"name": "bass", "file": "bass.wav", "start_bar": 2, "stem": "bass"},  # bars 2-4.5 of 120 BPM
                {"name": "pad", "file": "bass.wav", "start_sample": 0}]))
    pipe = FakePipeline()
    with running_server(tmp_path, pipe) as srv, BridgeClient(f"127.0.0.1:{srv.grpc_port}") as client:
        sent: list = []
        real = client.stub.UploadContext

        def spy(parts, **kwargs):  # noqa: ANN001, ANN202
            def record():  # noqa: ANN202
                for p in parts:
                    sent.append(p)
                    yield p
            return real(record(), **kwargs)

        client.stub.UploadContext = spy
        report = run_generate(project, client, OutputFolder(tmp_path / "out"))
        store = srv.server.engine.store
        stored, _ = sf.read(str(store.resolve(store.get_context(report.uploads["bass"]).path)), dtype="float32")

    assert sorted(report.result.stems) == ["drums", "instrument", "melody"]
    assert pipe.calls[-1][0] == "compose" and pipe.calls[-1][1]["keep"] == ["bass"]
    header, data, trailer = sent[0].header, [p.data for p in sent[1:-1]], sent[-1].trailer
    assert (header.start_sample, header.frames, header.sample_rate) == (START, END - START, 48000)
    assert len(data) > 5 and max(map(len, data)) <= 256 * 1024
    assert trailer.sha256 == hashlib.sha256(b"".join(data)).hexdigest()
    bounce = np.zeros((2, END - START), dtype=np.float32)
    bounce[:, :144000] = bass[:, 96000:]  # the track plays from 96000 to 336000
    np.testing.assert_array_equal(stored.T, bounce)  # only the region, only the bass-stem track


def test_inpaint_and_continue_send_what_the_task_needs(tmp_path: Path) -> None:
    tone = (0.1 * np.sin(np.arange(10 * 48000) / 9.0)).astype(np.float32)
    sf.write(tmp_path / "lead.wav", tone, 48000, subtype="FLOAT")
    track = [{"name": "lead", "file": "lead.wav", "stem": "melody"}]
    pipe = FakePipeline()
    with running_server(tmp_path, pipe) as srv, BridgeClient(f"127.0.0.1:{srv.grpc_port}") as client:
        inpaint = load_project(write_project(tmp_path / "a", tracks=[{**track[0], "file": str(tmp_path / "lead.wav")}],
                                             task="inpaint", stems=[], region={"start_bar": 3, "end_bar": 5},
                                             inpaint={"start_bar": 4, "end_bar": 5}))
        done = run_generate(inpaint, client, OutputFolder(tmp_path / "out_a"))
        assert list(done.result.stems) == ["melody"]
        kind, call = pipe.calls[-1]
        assert kind == "inpaint" and (call["start"], call["end"]) == pytest.approx((2.0, 4.0))

        cont = load_project(write_project(tmp_path / "b", tracks=[{**track[0], "file": str(tmp_path / "lead.wav")}],
                                          task="continue", stems=[], continue_seconds=3,
                                          region={"start_bar": 4, "end_bar": 5}))
        done = run_generate(cont, client, OutputFolder(tmp_path / "out_b"))
        kind, call = pipe.calls[-1]
        assert kind == "continue" and call["frames"] == 3 * 48000  # the 3 s just before bar 4
        assert done.files[0].start_sample == 288000
