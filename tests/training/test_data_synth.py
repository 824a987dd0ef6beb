"""`jen data synth`: the synthetic multi-track dataset (built-in renderer), its material and captions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from jen_core.errors import JenError
from training.data.chorales import load_chorale
from training.data.procedural import generate_song
from training.data.render_builtin import midi_hz, render_part
from training.data.styles import KICK, STYLES, downbeat_kick
from training.data.symbolic import STEMS, Meter
from training.data.synth import SynthConfig, plan_dataset, plan_song, synthesize
from training.data.theory import tonic_name
from training.data.timbres import VOICES

FILES = (*STEMS, "mix")
SMALL = SynthConfig(minutes=0.2, seed=7, clip_seconds=(3.0, 5.0), chorale_fraction=0.3)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "a"
    synthesize(out, SMALL)
    return out


def _songs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())


def estimate_bpm(x: np.ndarray, sr: int, lo: float = 60.0, hi: float = 180.0) -> float:
    """Tempo from the autocorrelation of a spectral-flux onset envelope (comb over 4 beat multiples)."""
    mono = x.mean(0)
    hop, n_fft = 128, 1024
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop] * np.hanning(n_fft)
    flux = np.maximum(np.diff(np.log1p(100 * np.abs(np.fft.rfft(frames, axis=1))), axis=0), 0).sum(1)
    o = flux - flux.mean()
    n, fps = len(o), sr / hop
    ac = np.fft.irfft(np.abs(np.fft.rfft(o, 2 * n)) ** 2)[:n]
    grid = np.arange(lo, hi, 0.01)
    score = np.zeros_like(grid)
    for k in range(1, 5):
        lags = k * 60 * fps / grid
        score += np.where(lags < 0.6 * n, np.interp(lags, np.arange(n), ac), 0.0)
    return float(grid[np.argmax(score)])


def test_every_song_has_five_aligned_48k_stereo_stems_and_meta(dataset: Path) -> None:
    songs = _songs(dataset)
    index = json.loads((dataset / "dataset.json").read_text())
    assert [p.name for p in songs] == index["songs"] and len(songs) >= 3
    assert index["total_seconds"] >= 0.2 * 60
    for song in songs:
        meta = json.loads((song / "meta.json").read_text())
        for key in ("caption", "bpm", "key", "time_signature", "instruments", "style", "source"):
            assert meta[key], (song.name, key)
        assert 60 <= meta["bpm"] <= 180 and set(meta["instruments"]) == set(STEMS)
        infos = [sf.info(str(song / f"{f}.wav")) for f in FILES]
        assert {(i.samplerate, i.channels, i.subtype) for i in infos} == {(48000, 2, "PCM_16")}
        frames = {i.frames for i in infos}
        assert frames == {round(meta["duration_s"] * 48000)}, song.name
        num, den = map(int, meta["time_signature"].split("/"))
        assert meta["duration_s"] == pytest.approx(meta["n_bars"] * Meter(num, den).bar_seconds(meta["bpm"]), abs=1e-5)
        audio = np.stack([sf.read(str(song / f"{f}.wav"), dtype="float32")[0] for f in FILES])
        assert np.abs(audio).max() < 0.95  # -1 dBFS peak, nothing clips
        assert np.abs(audio[:4].sum(0) - audio[4]).max() < 4 / 32768  # mix = sum of stems (up to 16-bit rounding)
        assert all(np.sqrt(np.mean(a**2)) > 1e-3 for a in audio), song.name  # no stem is silent


def test_same_seed_gives_identical_bytes_whatever_the_worker_count(dataset: Path, tmp_path: Path) -> None:
    again = tmp_path / "b"
    synthesize(again, SynthConfig(**{**SMALL.__dict__, "workers": 2}))
    files = sorted(p.relative_to(dataset) for p in dataset.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (dataset / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_other_seed_gives_other_songs() -> None:
    a = [p.caption for p in plan_dataset(SMALL)]
    b = [p.caption for p in plan_dataset(SynthConfig(**{**SMALL.__dict__, "seed": 8}))]
    assert a != b


def test_clips_start_on_a_downbeat_with_the_kick_at_sample_zero(dataset: Path) -> None:
    checked = 0
    for song in _songs(dataset):
        meta = json.loads((song / "meta.json").read_text())
        style = meta.get("groove", meta["style"])
        num, den = map(int, meta["time_signature"].split("/"))
        if not downbeat_kick(style, Meter(num, den)):
            continue
        drums = sf.read(str(song / "drums.wav"), dtype="float32")[0]
        env = np.abs(drums).max(axis=1)
        assert env[:240].max() > 0.4 * env.max(), song.name  # the loudest kind of hit sits in the first 5 ms
        assert np.argmax(env[:2400] > 0.2 * env.max()) < 48, song.name  # and starts within 1 ms
        checked += 1
    assert checked >= 1
    for i in range(40):  # symbolically, every procedural clip with a downbeat kick has one at t = 0
        song = generate_song(np.random.default_rng(i))
        if downbeat_kick(song.style, song.meter):
            assert any(n.onset == 0.0 and n.pitch == KICK for n in song.part("drums").notes)


@pytest.mark.parametrize(("style", "bpm"), [("rock", 132), ("house", 124), ("funk", 97), ("pop", 109)])
def test_stated_bpm_is_what_an_onset_autocorrelation_measures(style: str, bpm: int) -> None:
    song = generate_song(np.random.default_rng(bpm), style=style, meter=Meter(4, 4), bpm=bpm, clip_seconds=(8.0, 10.0))
    length = round(song.duration * 48000)
    drums = render_part(song.part("drums"), length=length, sample_rate=48000, rng=np.random.default_rng(0))[:, :length]
    assert estimate_bpm(drums, 48000) == pytest.approx(bpm, rel=0.02)


@pytest.mark.slow
def test_stated_bpm_is_what_librosa_beat_track_measures() -> None:
    librosa = pytest.importorskip(
        "librosa", reason="librosa not installed (pip install librosa); beat-tracker check skipped"
    )
    for style, bpm in (("rock", 112), ("house", 124), ("pop", 100)):
        song = generate_song(np.random.default_rng(bpm), style=style, meter=Meter(4, 4), bpm=bpm, clip_seconds=(8, 10))
        n = round(song.duration * 48000)
        drums = render_part(song.part("drums"), length=n, sample_rate=48000, rng=np.random.default_rng(0))[:, :n]
        y = librosa.resample(drums.mean(0), orig_sr=48000, target_sr=22050)
        _, beats = librosa.beat.beat_track(y=y, sr=22050, hop_length=128, units="time")
        slope = np.polyfit(np.arange(len(beats)), beats, 1)[0]
        assert 60.0 / slope == pytest.approx(bpm, rel=0.02)


def test_chorale_material_is_the_bach_voices() -> None:
    plan = plan_song(SynthConfig(minutes=1, seed=3, chorale_fraction=1.0, clip_seconds=(6.0, 9.0)), 0)
    song = plan.song
    assert song.style == "chorale" and song.source.startswith("bach-chorale:")
    chorale = load_chorale("bach/" + song.extra["chorale"])
    assert chorale is not None and str(chorale.meter) == str(song.meter)
    start, shift = float(song.extra["start_quarter"]), int(song.extra["transpose"])
    assert start in chorale.downbeats
    end = start + song.n_bars * song.meter.quarters
    for voice, stem in ((chorale.voices[0], "melody"), (chorale.voices[3], "bass")):
        expected = [p + shift for off, dur, p in voice if off + dur > start + 1e-6 and off < end - 1e-6]
        assert [n.pitch for n in song.part(stem).notes] == expected
    assert len(song.part("instrument").notes) >= len(song.part("melody").notes)  # alto + tenor
    assert "chorale" in plan.caption.lower()


def test_captions_vary_and_name_tempo_and_key() -> None:
    plans = plan_dataset(SynthConfig(minutes=2.5, seed=11, chorale_fraction=0.2))
    captions = [p.caption for p in plans]
    assert len(set(captions)) == len(captions) >= 10
    assert len({c.split()[0].lower() for c in captions}) >= 5  # openings differ, not one template
    for p in plans:
        assert str(int(p.song.bpm)) in p.caption
        assert tonic_name(p.song.tonic, p.song.mode) in p.caption


def test_procedural_covers_all_keys_meters_and_tempi() -> None:
    songs = [generate_song(np.random.default_rng([5, i])) for i in range(150)]
    assert {(s.tonic, s.mode) for s in songs} == {(t, m) for t in range(12) for m in ("major", "minor")}
    assert {str(s.meter) for s in songs} == {"4/4", "3/4", "6/8", "5/4", "7/8"}
    assert min(s.bpm for s in songs) >= 60 and max(s.bpm for s in songs) <= 180
    assert {s.style for s in songs} == set(STYLES)
    for style in STYLES.values():  # every groove fills exactly one bar of its meter
        for meter, groove in style.grooves.items():
            num, den = map(int, meter.split("/"))
            assert {len(v) for v in groove.values()} == {Meter(num, den).steps}, (style.name, meter)


@pytest.mark.parametrize("name", sorted(VOICES))
def test_every_builtin_voice_is_in_tune_and_bounded(name: str) -> None:
    pitch = 40 if "bass" in name else 69
    sig = VOICES[name](midi_hz(pitch), 0.5, 0.8, 48000, np.random.default_rng(0))
    mono = sig.mean(0) if sig.ndim == 2 else sig
    assert np.isfinite(mono).all() and 0.05 < np.abs(mono).max() <= 1.01
    seg = mono[2400:26400] * np.hanning(24000)
    spec = np.abs(np.fft.rfft(seg, 8 * len(seg)))
    freqs = np.fft.rfftfreq(8 * len(seg), 1 / 48000)
    f0 = midi_hz(pitch)
    peak = freqs[np.argmax(spec * (freqs > 0.7 * f0) * (freqs < 1.3 * f0))]
    assert peak == pytest.approx(f0, rel=0.006), name  # fundamental within 10 cents (Karplus-Strong included)


def test_config_errors_are_one_line_jen_errors(tmp_path: Path) -> None:
    with pytest.raises(JenError, match="minutes"):
        SynthConfig(minutes=0)
    with pytest.raises(JenError, match="renderer"):
        SynthConfig(minutes=1, renderer="vst")
    with pytest.raises(JenError, match="style"):
        SynthConfig(minutes=1, styles=("polka",))
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(JenError, match="not empty"):
        synthesize(tmp_path, SynthConfig(minutes=0.01))


def test_cli_synth_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.cli_data import register

    parser = argparse.ArgumentParser(prog="jen")
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "ds"
    args = parser.parse_args(["data", "synth", "--out", str(out), "--minutes", "0.05", "--seed", "2",
                              "--chorale-fraction", "0", "--styles", "house"])  # fmt: skip
    assert args.func(args) == 0
    meta = json.loads((out / "song_00000" / "meta.json").read_text())
    assert meta["style"] == "house" and meta["renderer"] == "builtin"
    args = parser.parse_args(["data", "check", str(out)])
    assert args.func(args) == 0
    assert "1 good song(s), 0 bad" in capsys.readouterr().out
