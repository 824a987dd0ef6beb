"""The `jen` CLI: info figures, generate output files, one-line errors with exit status 2."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from jen_cli.main import main

STEMS = ("bass", "drums", "instrument", "melody", "mix")
FAST = ["--steps", "3", "--sampler", "ddim"]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_paper_json(capsys) -> None:
    code, out, _ = _run(capsys, "info", "--preset", "paper", "--json")
    info = json.loads(out)
    assert code == 0
    assert abs(info["unet_parameters"] - 726e6) / 726e6 < 0.05
    assert (info["sample_rate"], info["channels"], info["hop"], info["frame_rate"], info["latent_dim"], info["k"]) == (
        48000, 2, 320, 150.0, 128, 115,
    )
    assert info["cross_attn_dim"] == 1024


def _digest(folder: Path) -> dict[str, str]:
    return {s: hashlib.sha256((folder / f"{s}.wav").read_bytes()).hexdigest() for s in STEMS}


def test_generate_writes_stems_and_is_bit_reproducible(capsys, tmp_path) -> None:
    args = ["generate", "--model", "random:tiny", "--prompt", "funky bass", "--seconds", "2", "--bpm", "110", *FAST]
    assert _run(capsys, *args, "--seed", "7", "--out", str(tmp_path / "a"))[0] == 0
    for stem in STEMS:
        info = sf.info(str(tmp_path / "a" / f"{stem}.wav"))
        assert (info.samplerate, info.channels, info.frames) == (48000, 2, 96000)
    assert _run(capsys, *args, "--seed", "7", "--out", str(tmp_path / "b"))[0] == 0
    assert _run(capsys, *args, "--seed", "8", "--out", str(tmp_path / "c"))[0] == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["bass"] != _digest(tmp_path / "c")["bass"]


def test_inpaint_continue_compose(capsys, tmp_path) -> None:
    audio = (0.1 * np.random.default_rng(0).standard_normal((24000, 2))).astype(np.float32)
    src = tmp_path / "in.wav"
    sf.write(src, audio, 48000)
    m = ["--model", "random:tiny", *FAST]
    assert _run(capsys, "inpaint", *m, "--input", str(src), "--start", "0.1", "--end", "0.3", "--out", str(tmp_path))[0] == 0
    assert sf.info(str(tmp_path / "inpaint.wav")).frames == 24000
    assert _run(capsys, "continue", *m, "--input", str(src), "--seconds", "0.5", "--out", str(tmp_path))[0] == 0
    assert sf.info(str(tmp_path / "continue.wav")).frames == 48000
    code, _, err = _run(capsys, "compose", *m, "--keep", f"drums={src}", "--generate", "bass", "--out", str(tmp_path / "c"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["bass.wav", "mix.wav"]


@pytest.fixture()
def mono_wav(tmp_path) -> Path:
    path = tmp_path / "mono.wav"
    sf.write(path, np.zeros(4800, np.float32), 48000)
    return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "--preset", "huge"], "unknown preset 'huge'"),
        (["generate", "--model", "random:tiny", "--prompt", "x", "--stems", "bass,cowbell", "--out", "{tmp}/o"], "unknown stem"),
        (["generate", "--model", "random:tiny", "--prompt", "x", "--seconds", "0", "--out", "{tmp}/o"], "positive"),
        (["generate", "--model", "random:tiny", "--prompt", "x", "--seconds", "400", "--out", "{tmp}/o"], "maximum"),
        (["generate", "--model", "random:tiny", "--prompt", "x", "--out", "{tmp}/file.txt/o"], "cannot create output directory"),
        (["generate", "--model", "{tmp}/no_such_model", "--prompt", "x", "--out", "{tmp}/o"], "neither a bundled model"),
        (["generate", "--model", "random:huge", "--prompt", "x", "--out", "{tmp}/o"], "unknown preset"),
        (["compose", "--model", "random:tiny", "--keep", "drums={tmp}/file.txt", "--generate", "bass", "--out", "{tmp}/o"], "not a readable audio file"),
        (["compose", "--model", "random:tiny", "--keep", "drums={mono}", "--generate", "bass", "--out", "{tmp}/o"], "1 channel"),
        (["compose", "--model", "random:tiny", "--keep", "drums", "--generate", "bass", "--out", "{tmp}/o"], "STEM=FILE"),
        (["inpaint", "--model", "random:tiny", "--input", "{tmp}/missing.wav", "--start", "0", "--end", "1", "--out", "{tmp}/o"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_error(capsys, tmp_path, mono_wav, argv, message) -> None:
    (tmp_path / "file.txt").write_text("not audio")
    argv = [a.format(tmp=tmp_path, mono=mono_wav) for a in argv]
    code, _, err = _run(capsys, *argv)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err


def test_console_script_errors_without_traceback(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jen_cli", "generate", "--model", "random:tiny", "--prompt", "x", "--stems", "kazoo",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: unknown stem") and "Traceback" not in proc.stderr
