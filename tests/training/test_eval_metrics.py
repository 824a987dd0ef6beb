"""`jen eval` metrics on synthetic signals with known answers (training/eval/metrics_*)."""

from __future__ import annotations

import numpy as np
import pytest

from jen_core.conditioning import parse_key
from training.eval import metrics_key as mk
from training.eval import metrics_rhythm as mr
from training.eval import metrics_stems as ms
from training.eval.codec_opus import latent_bitrate, opus_backend, opus_roundtrip
from training.eval.evalset import derangement
from training.eval.metrics_frechet import embed, frechet_distance
from training.eval.metrics_recon import reconstruction_metrics, si_sdr_db

SR = 48000


@pytest.fixture(scope="module", autouse=True)
def warm_librosa() -> None:
    """librosa's first calls compile with numba; pay that once for the module."""
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    mr.estimate_tempo(noise, SR)
    mk.chroma(noise, SR)


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def kick(times: np.ndarray, seconds: float) -> np.ndarray:
    """Decaying 60 Hz thumps with a click at each time: [L]."""
    out = np.zeros(int(seconds * SR), np.float32)
    n = int(0.15 * SR)
    tt = np.arange(n) / SR
    hit = (np.sin(2 * np.pi * 60 * tt) * np.exp(-tt * 30)).astype(np.float32)
    hit[:48] += np.random.default_rng(1).standard_normal(48).astype(np.float32) * 0.5
    for t in times:
        i = int(round(t * SR))
        out[i : i + n] += hit[: len(out) - i]
    return out


def sine_notes(times: np.ndarray, freqs: np.ndarray, seconds: float, *, length: float) -> np.ndarray:
    """Sine notes (5 ms attack, exponential decay) starting at ``times``: [L]."""
    out = np.zeros(int(seconds * SR), np.float32)
    n = int(length * SR)
    tt = np.arange(n) / SR
    env = np.minimum(tt / 0.005, 1.0) * np.exp(-tt * 4)
    for t, f in zip(times, freqs, strict=True):
        i = int(round(t * SR))
        seg = (np.sin(2 * np.pi * f * tt) * env)[: len(out) - i]
        out[i : i + len(seg)] += seg.astype(np.float32)
    return out


def chord_progression(chords: list[list[int]], *, seconds_each: float = 1.5) -> np.ndarray:
    """MIDI chords as tones with 4 decaying harmonics, one after another: [2, L]."""
    parts = []
    tt = _t(seconds_each)
    for chord in chords:
        x = np.zeros_like(tt)
        for midi in chord:
            f = 440.0 * 2 ** ((midi - 69) / 12)
            x += sum(np.sin(2 * np.pi * f * h * tt) / h**1.5 for h in range(1, 5))
        parts.append(x * np.exp(-tt * 0.8))
    mono = np.concatenate(parts).astype(np.float32) * 0.05
    return np.stack([mono, mono])


# ---------------------------------------------------------------- tempo and onsets
def test_click_track_at_120_bpm_measures_120_within_2_percent() -> None:
    clicks = kick(np.arange(0, 8, 0.5), 8.0)
    est = mr.estimate_tempo(np.stack([clicks, clicks]), SR)
    assert est.bpm == pytest.approx(120.0, rel=0.02)
    assert mr.tempo_matches(est.bpm, 120.0) and mr.tempo_matches(est.bpm, 60.0, octave=True)
    assert not mr.tempo_matches(est.bpm, 60.0) and not mr.tempo_matches(est.bpm, 130.0)
    assert mr.grid_alignment_ms(clicks, SR, bpm=120.0) < 15.0


def test_tempo_of_silence_is_nan_and_never_matches() -> None:
    est = mr.estimate_tempo(np.zeros((2, 4 * SR), np.float32), SR)
    assert np.isnan(est.bpm) and not mr.tempo_matches(est.bpm, 120.0, octave=True)
    assert mr.onset_times(np.zeros(SR), SR).size == 0


def test_sine_bass_and_kick_on_the_same_onsets_align_within_a_few_ms() -> None:
    times = np.arange(0.25, 6.0, 0.6)
    drums = kick(times, 6.0)
    bass = sine_notes(times, np.full(times.size, 55.0), 6.0, length=0.4)
    assert mr.onset_alignment_ms(bass, drums, SR) <= 6.0
    late = sine_notes(times + 0.08, np.full(times.size, 55.0), 6.0, length=0.4)  # 80 ms behind the kicks
    assert 60.0 <= mr.onset_alignment_ms(late, drums, SR) <= 100.0
    assert mr.onset_alignment_ms(np.zeros(6 * SR), drums, SR) is None


def test_nearest_distances() -> None:
    d = mr.nearest_distances_ms(np.array([0.0, 0.26, 1.0]), np.array([0.25, 0.5]))
    np.testing.assert_allclose(d, [250.0, 10.0, 500.0])


# ---------------------------------------------------------------- key
C_MAJOR = [[48, 60, 64, 67], [53, 60, 65, 69], [55, 59, 62, 67], [48, 60, 64, 67]]  # C F G C
A_MINOR = [[45, 57, 60, 64], [50, 57, 62, 65], [52, 56, 59, 64], [45, 57, 60, 64]]  # Am Dm E Am


def test_c_major_progression_is_c_major_and_a_minor_is_a_minor() -> None:
    assert mk.estimate_key(chord_progression(C_MAJOR), SR) == parse_key("C major")
    assert mk.estimate_key(chord_progression(A_MINOR), SR) == parse_key("A minor")
    assert mk.estimate_key(np.zeros((2, SR)), SR) is None


def test_key_relations_and_scores() -> None:
    c, g, am, cm = (parse_key(k) for k in ("C major", "G major", "A minor", "C minor"))
    assert mk.key_relation(c, c) == "exact" and mk.mirex_key_score(c, c) == 1.0
    assert mk.key_relation(g, c) == "fifth" and mk.mirex_key_score(g, c) == 0.5
    assert mk.key_relation(am, c) == "relative" and mk.key_relation(c, am) == "relative"
    assert mk.key_relation(cm, c) == "parallel" and mk.mirex_key_score(None, c) == 0.0
    assert mk.keys_match(am, c, relative=True) and not mk.keys_match(am, c)
    assert mk.scale_pitch_classes(c) == {0, 2, 4, 5, 7, 9, 11}
    assert mk.scale_pitch_classes(am) == {9, 11, 0, 2, 4, 5, 7, 8}


def test_stem_key_agreement_needs_two_pitched_stems() -> None:
    prog = chord_progression(C_MAJOR)
    assert mk.stem_key_agreement({"instrument": prog, "melody": prog}, SR) == (1.0, 1.0)
    assert mk.stem_key_agreement({"instrument": prog, "melody": np.zeros_like(prog)}, SR) is None


# ---------------------------------------------------------------- stems
def test_silence_is_not_present_and_families_follow_register() -> None:
    seconds = 4.0
    times = np.arange(0.0, seconds, 0.5)
    bass = sine_notes(times, np.full(times.size, 55.0), seconds, length=0.45)
    melody = sine_notes(times, np.full(times.size, 880.0), seconds, length=0.45)
    drums = kick(times, seconds) + np.random.default_rng(2).standard_normal(int(seconds * SR)).astype(np.float32) * (
        np.exp(-((np.arange(int(seconds * SR)) / SR) % 0.25) * 40) * 0.2
    )
    mix = bass + melody + drums
    assert not ms.stem_present(np.zeros_like(mix), mix)
    assert ms.stem_present(bass, mix) and ms.stem_present(drums, mix)
    assert not ms.stem_present(bass * 1e-3, mix)  # -60 dB below the mix
    fb, fm, fd = (ms.stem_features(x, SR) for x in (bass, melody, drums))
    assert ms.family_plausible("bass", fb) and not ms.family_plausible("bass", fm)
    assert ms.family_plausible("melody", fm) and not ms.family_plausible("melody", fb)
    assert ms.family_plausible("drums", fd) and not ms.family_plausible("drums", fm)
    assert not ms.family_plausible("instrument", ms.stem_features(np.zeros(SR), SR))


# ---------------------------------------------------------------- reconstruction, codec, Frechet
def test_si_sdr_and_distances_know_identity_from_noise() -> None:
    rng = np.random.default_rng(3)
    x = chord_progression(C_MAJOR, seconds_each=0.5)
    noise = rng.standard_normal(x.shape).astype(np.float32) * 0.05
    assert si_sdr_db(x, x) > 100.0 and si_sdr_db(x, 0.5 * x) > 100.0  # scale-invariant
    assert si_sdr_db(x, noise) < -20.0
    snr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((0.01 * noise.astype(np.float64)) ** 2))
    assert si_sdr_db(x, x + 0.01 * noise) == pytest.approx(snr, abs=0.5)  # independent noise: SI-SDR ~ SNR
    same, other = reconstruction_metrics(x, x, SR), reconstruction_metrics(x, noise, SR)
    assert same["mel_distance"] == 0.0 and same["mrstft_distance"] == 0.0
    assert other["mel_distance"] > 0.5 and other["mrstft_distance"] > 1.0


def test_frechet_distance_of_a_set_with_itself_is_zero() -> None:
    rng = np.random.default_rng(4)
    tones = [chord_progression([[60 + i, 64 + i, 67 + i]], seconds_each=3.0) for i in range(4)]
    noises = [rng.standard_normal((2, 3 * SR)).astype(np.float32) * 0.1 for _ in range(4)]
    a = np.concatenate([embed(x, SR) for x in tones])
    b = np.concatenate([embed(x, SR) for x in noises])
    assert a.shape == (4 * 5, 32)
    assert frechet_distance(a, a) < 1e-3
    assert frechet_distance(a, b) > 100 * max(frechet_distance(a, a), 1e-2)


def test_latent_bitrate() -> None:
    assert latent_bitrate(frame_rate=50.0, k=58) == 46400.0  # small preset
    assert latent_bitrate(frame_rate=150.0, k=7) == 16800.0  # tiny preset


def test_opus_at_64_kbps_keeps_a_chord() -> None:
    backend, why = opus_backend()
    if backend is None:
        pytest.skip(why)
    x = chord_progression(C_MAJOR, seconds_each=0.5)
    res = opus_roundtrip(x, SR, bitrate=64000, backend=backend)
    assert res.audio.shape == x.shape
    assert si_sdr_db(x, res.audio) > 10.0
    assert 32000 < res.bitrate < 128000


def test_derangement_has_no_fixed_point_and_is_seeded() -> None:
    for n in (2, 3, 7):
        perm = derangement(n, seed=5)
        assert sorted(perm) == list(range(n)) and all(p != i for i, p in enumerate(perm))
        assert perm == derangement(n, seed=5)
    assert derangement(1, seed=0) == [0]
