"""Slakh2100 and MUSDB18-HQ importers, on tiny fixtures written in those layouts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from jen_core.errors import JenError
from training.data.adapters import import_dataset, load_yaml, parse_simple_yaml
from training.data.audio import resample
from training.data.midi import midi_bytes, read_tempo_and_meter
from training.data.stems import StemDataWarning, scan_stem_folders
from training.data.symbolic import Meter, Note

SRC_SR = 44100
N = SRC_SR  # one second per fixture stem

SLAKH_YAML = """\
UUID: 0f7c9c3a2b  # comment
audio_dir: stems
midi_dir: MIDI
normalization_factor: -13.0
overall_gain: 0.18
stems:
  S00:
    audio_rendered: true
    inst_class: Bass
    is_drum: false
    midi_program_name: Fingered Bass
    program_num: 33
  S01:
    audio_rendered: true
    inst_class: Drums
    is_drum: true
    midi_program_name: Drums
    program_num: 0
  S02:
    audio_rendered: true
    inst_class: Piano
    is_drum: false
    midi_program_name: Acoustic Grand Piano
    program_num: 0
  S03:
    audio_rendered: true
    inst_class: Guitar
    is_drum: false
    midi_program_name: 'Distortion Guitar'
    program_num: 30
  S04:
    audio_rendered: true
    inst_class: Synth Lead
    is_drum: false
    midi_program_name: Lead 1 (square)
    program_num: 80
  S05:
    audio_rendered: false
    inst_class: Brass
    is_drum: false
    midi_program_name: Trumpet
    program_num: 56
target_peak: -1.0
"""


def tone(freq: float, amp: float = 0.2, n: int = N, sr: int = SRC_SR) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float32)


def make_slakh(root: Path) -> dict[str, np.ndarray]:
    """Track00001 (good) and Track00002 (a rendered stem without audio); returns Track00001's sources."""
    sources = {"S00": tone(55), "S01": tone(3000, 0.1), "S02": tone(440), "S03": tone(660), "S04": tone(880)}
    track = root / "train" / "Track00001"
    (track / "stems").mkdir(parents=True)
    for sid, x in sources.items():
        sf.write(str(track / "stems" / f"{sid}.flac"), x, SRC_SR, subtype="PCM_24")
    sf.write(str(track / "MIX.flac"), sum(sources.values()), SRC_SR, subtype="PCM_24")
    (track / "metadata.yaml").write_text(SLAKH_YAML)
    (track / "all_src.mid").write_bytes(
        midi_bytes([Note(0.0, 0.5, 60, 90)], bpm=100.0, meter=Meter(3, 4), program=0, channel=0, end_seconds=1.0)
    )
    bad = root / "train" / "Track00002"
    (bad / "stems").mkdir(parents=True)
    sf.write(str(bad / "stems" / "S00.flac"), tone(55), SRC_SR)
    (bad / "metadata.yaml").write_text(SLAKH_YAML)
    return sources


def read_stem(folder: Path, stem: str) -> tuple[np.ndarray, int]:
    x, sr = sf.read(str(folder / f"{stem}.flac"), dtype="float32", always_2d=True)
    return x.T, sr


def test_simple_yaml_reader_matches_pyyaml() -> None:
    parsed = parse_simple_yaml(SLAKH_YAML)
    assert parsed["stems"]["S03"] == {
        "audio_rendered": True,
        "inst_class": "Guitar",
        "is_drum": False,
        "midi_program_name": "Distortion Guitar",
        "program_num": 30,
    }
    assert parsed["UUID"] == "0f7c9c3a2b" and parsed["overall_gain"] == 0.18
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed; fallback reader checked above")
    assert parsed == yaml.safe_load(SLAKH_YAML)


def test_metadata_reads_without_pyyaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "metadata.yaml"
    path.write_text(SLAKH_YAML)
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now fails
    assert load_yaml(path)["stems"]["S04"]["inst_class"] == "Synth Lead"


def test_slakh_import_maps_classes_sums_and_resamples(tmp_path: Path) -> None:
    src = make_slakh(tmp_path / "slakh")
    out = tmp_path / "out"
    with pytest.warns(StemDataWarning, match="Track00002"):
        result = import_dataset("slakh", tmp_path / "slakh", out)
    assert result.imported == ["Track00001"]
    assert [p.name for p in result.problems] == ["Track00002"] and "S01" in result.problems[0].problem
    song = out / "Track00001"
    expected = {
        "bass": src["S00"],
        "drums": src["S01"],
        "instrument": src["S02"] + src["S03"],  # piano + guitar summed
        "melody": src["S04"],  # synth lead; the unrendered brass stem is left out
    }
    for stem, x in expected.items():
        got, sr = read_stem(song, stem)
        assert sr == 48000 and got.shape == (2, 48000), stem
        want = resample(x[None].astype(np.float32), SRC_SR, 48000)[0]
        np.testing.assert_allclose(got[0], want, atol=1e-4, err_msg=stem)
        np.testing.assert_array_equal(got[0], got[1])
    meta = json.loads((song / "meta.json").read_text())
    assert meta["bpm"] == pytest.approx(100.0) and meta["time_signature"] == "3/4"
    assert meta["instruments"]["instrument"] == ["Acoustic Grand Piano", "Distortion Guitar"]
    assert meta["source"] == "slakh2100:Track00001" and "distortion guitar" in meta["caption"]
    report = scan_stem_folders(out)
    assert report.ok and [s.name for s in report.songs] == ["Track00001"]


def test_slakh_strict_import_names_the_track(tmp_path: Path) -> None:
    make_slakh(tmp_path / "slakh")
    with pytest.raises(JenError, match="Track00002"):
        import_dataset("slakh", tmp_path / "slakh", tmp_path / "out", strict=True)


def test_silent_stem_when_no_source_maps_to_it(tmp_path: Path) -> None:
    track = tmp_path / "s" / "Track00009"
    (track / "stems").mkdir(parents=True)
    sf.write(str(track / "stems" / "S00.flac"), tone(55), SRC_SR)
    (track / "metadata.yaml").write_text("stems:\n  S00:\n    inst_class: Bass\n    is_drum: false\n")
    import_dataset("slakh", tmp_path / "s", tmp_path / "out", sample_rate=None)
    for stem in ("drums", "instrument", "melody"):
        x, sr = read_stem(tmp_path / "out" / "Track00009", stem)
        assert sr == SRC_SR and x.shape == (2, N) and not x.any()
    assert "bpm" not in json.loads((tmp_path / "out" / "Track00009" / "meta.json").read_text())


def test_musdb_import_maps_vocals_to_melody_and_other_to_instrument(tmp_path: Path) -> None:
    sources = {"bass": tone(60), "drums": tone(2500, 0.1), "other": tone(330), "vocals": tone(520)}
    track = tmp_path / "musdb" / "train" / "Some Artist - Some Title"
    track.mkdir(parents=True)
    for name, x in sources.items():
        sf.write(str(track / f"{name}.wav"), np.stack([x, 0.5 * x], 1), SRC_SR, subtype="PCM_16")
    sf.write(str(track / "mixture.wav"), np.stack([sum(sources.values())] * 2, 1), SRC_SR, subtype="PCM_16")
    broken = tmp_path / "musdb" / "test" / "Other - Broken"
    broken.mkdir(parents=True)
    sf.write(str(broken / "mixture.wav"), np.zeros((100, 2)), SRC_SR)
    with pytest.warns(StemDataWarning, match="Other - Broken"):
        result = import_dataset("musdb", tmp_path / "musdb", tmp_path / "out")
    assert result.imported == ["Some Artist - Some Title"]
    song = tmp_path / "out" / "Some Artist - Some Title"
    for src_name, stem in (("bass", "bass"), ("drums", "drums"), ("other", "instrument"), ("vocals", "melody")):
        got, sr = read_stem(song, stem)
        want = resample(np.round(sources[src_name] * 32768)[None] / 32768, SRC_SR, 48000)[0]
        assert sr == 48000
        np.testing.assert_allclose(got[0], want, atol=1e-4, err_msg=stem)
        np.testing.assert_allclose(got[1], 0.5 * got[0], atol=1e-4)  # stereo image kept
    meta = json.loads((song / "meta.json").read_text())
    assert "Some Title by Some Artist" in meta["caption"] and meta["instruments"]["melody"] == ["vocals"]
    assert scan_stem_folders(tmp_path / "out").ok


def test_cli_import_and_unknown_layout(tmp_path: Path) -> None:
    from training.cli_data import register

    make_slakh(tmp_path / "slakh")
    parser = argparse.ArgumentParser(prog="jen")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["data", "import", "--layout", "slakh", str(tmp_path / "slakh"), "--out", str(tmp_path / "o")]
    )
    assert args.func(args) == 1  # one track skipped
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["Track00001"]
    with pytest.raises(JenError, match="unknown layout"):
        import_dataset("medleydb", tmp_path, tmp_path / "x")
    with pytest.raises(JenError, match="no musdb tracks"):
        import_dataset("musdb", tmp_path / "slakh", tmp_path / "x")


def test_midi_writer_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.mid"
    path.write_bytes(
        midi_bytes([Note(0.0, 0.25, 36, 100)], bpm=87.0, meter=Meter(7, 8), program=0, channel=9, end_seconds=2)
    )
    bpm, meter = read_tempo_and_meter(path)
    assert bpm == pytest.approx(87.0, rel=1e-5) and meter == (7, 8)
    assert read_tempo_and_meter(tmp_path / "missing.mid") == (None, None)
