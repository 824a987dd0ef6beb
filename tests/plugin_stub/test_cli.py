"""``jen-stub`` end to end on random:tiny, and bad input: one line naming the problem, exit 2, nothing half-written."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from plugin_stub.cli import main
from plugin_stub.wav import read_info
from tests.bridge.fake_pipeline import FakePipeline
from tests.bridge.harness import running_server
from tests.plugin_stub.conftest import write_project

REPO = Path(__file__).resolve().parents[2]


def test_generate_compose_and_audition_commands(tiny_server: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path, sample_rate=96000, bit_depth=24, time_signature="5/4",
                            tempo_map=[[0, 150], [7.5, 110]], region={"start_bar": 2, "end_bar": 3},
                            stems=["drums", "bass"])
    out = tmp_path / "song"
    server = ["--server", tiny_server]
    assert main(["compose", str(project), "--out", str(out), *server]) == 0
    printed = capsys.readouterr().out
    assert "drums_take1_bars2-3.wav (start sample 192000" in printed  # 5 quarters at 150 BPM = 2 s
    assert main(["compose", str(project), "--out", str(out), *server, "--keep", "drums:1", "--regenerate", "bass",
                 "--seed", "4"]) == 0
    assert main(["compose", str(project), "--out", str(out), *server, "--list"]) == 0
    listing = capsys.readouterr().out
    assert "bass_take2_bars2-3.wav" in listing and listing.count("*") == 2
    manifest = json.loads((out / "takes.json").read_text())
    bass2 = next(t for t in manifest["takes"] if t["file"] == "bass_take2_bars2-3.wav")
    assert manifest["selected"]["bass"] == bass2["take_id"] and bass2["start_sample"] == 192000
    assert read_info(out / "bass_take2_bars2-3.wav").time_reference == 192000

    assert main(["audition", str(project), "--out", str(out), *server, "--offline", "stems", "--quiet"]) == 0
    audition, _ = sf.read(str(out / "audition.wav"), dtype="float32", always_2d=True)
    mix, _ = sf.read(str(out / "mixdown.wav"), dtype="float32", always_2d=True)
    assert read_info(out / "mixdown.wav").time_reference == read_info(out / "audition.wav").time_reference == 192000
    np.testing.assert_allclose(audition, mix, atol=1e-6)  # the region, as the mixdown has it

    gen = tmp_path / "gen"
    assert main(["generate", str(project), "--out", str(gen), *server, "--quiet", "--steps", "1"]) == 0
    assert sorted(p.name for p in gen.iterdir()) == ["bass_take1_bars2-3.wav", "drums_take1_bars2-3.wav",
                                                     "mixdown.wav", "takes.json"]


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jen-stub: error: ") and "Traceback" not in err
    return err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BAD = {
    "missing audio file": ({"tracks": [{"name": "bass", "file": "nowhere.wav"}]}, "nowhere.wav does not exist"),
    "track at another rate": ({"tracks": [{"name": "keys", "file": "k44.wav"}]},
                              "k44.wav is at 44100 Hz but the project runs at 48000 Hz"),
    "zero-length region": ({"region": {"start_bar": 4, "end_bar": 4}}, "the region has zero length"),
    "region past the end": ({"length_bars": 4, "region": {"start_bar": 4, "end_bar": 6}},
                            "ends at bar 6, past the end of the song (bar 5)"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_project_is_one_line_and_writes_nothing(case: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    fields, message = BAD[case]
    sf.write(tmp_path / "k44.wav", np.zeros(441, dtype=np.float32), 44100)
    project = write_project(tmp_path, **fields)
    out = tmp_path / "out"
    err = _fails(capsys, ["generate", str(project), "--out", str(out), "--server", f"127.0.0.1:{_free_port()}"])
    assert message in err
    assert not out.exists()


def test_unreachable_server_from_the_console(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "plugin_stub.cli", "generate", str(project), "--out", str(out),
                           "--server", f"127.0.0.1:{port}", "--connect-timeout", "2"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach the JEN server at 127.0.0.1:{port}" in lines[0], proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


class FailingPipeline(FakePipeline):
    """Streams the first stems, then returns unusable audio for the melody: the job fails half-way."""

    def generate(self, prompt: str, **kw: object) -> dict[str, np.ndarray]:
        out = super().generate(prompt, **kw)
        out["melody"] = np.full_like(out["melody"], np.nan)
        return out


def test_a_job_that_fails_half_way_leaves_no_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path, stems=["bass", "drums", "melody"])
    out = tmp_path / "out"
    with running_server(tmp_path, FailingPipeline()) as srv:
        err = _fails(capsys, ["generate", str(project), "--out", str(out), "--server", f"127.0.0.1:{srv.grpc_port}"])
    assert "the server failed the job" in err and "melody" in err
    assert not out.exists()  # bass and drums had arrived, but nothing is written before the whole job checks out


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(tmp_path / "p.json")]) == 2  # --out missing (argparse)
    assert main(["generate", str(tmp_path / "p.json"), "--out", "x", "--server", "nohostport"]) == 2
    assert "must look like HOST:PORT" in capsys.readouterr().err
    err = _fails(capsys, ["generate", str(tmp_path / "p.json"), "--out", str(tmp_path / "o")])
    assert "p.json does not exist" in err
    project = write_project(tmp_path, stems=["drums"])
    err = _fails(capsys, ["compose", str(project), "--out", str(tmp_path / "o"), "--regenerate", "drums", "bass",
                          "--bars", "2-3"])
    assert "exactly one --regenerate stem" in err


def test_token_is_sent_as_bearer_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path, stems=["bass"])
    (tmp_path / "token").write_text("correct-horse-battery-staple-42\n")
    with running_server(tmp_path, FakePipeline(), token="correct-horse-battery-staple-42") as srv:
        server = ["--server", f"127.0.0.1:{srv.grpc_port}"]
        err = _fails(capsys, ["generate", str(project), "--out", str(tmp_path / "a"), *server, "--token", "wrong"])
        assert "refused the token" in err and not (tmp_path / "a").exists()
        assert main(["generate", str(project), "--out", str(tmp_path / "b"), *server, "--quiet",
                     "--token-file", str(tmp_path / "token")]) == 0
    assert (tmp_path / "b" / "bass_take1_bars2-3.wav").is_file()
