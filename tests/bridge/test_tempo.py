"""Tempo alignment: exact positions, region plans, alignment of generated audio, time stretch."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from bridge.stretch import stretch, warp
from bridge.tempo import (
    HOST_RATES,
    RegionPlan,
    TempoMap,
    TempoPoint,
    TimeSignature,
    align_to_host,
    bar_to_ppq,
    chunk_positions,
    measure_tempo,
    plan_region,
)
from jen_core.errors import JenError

MODEL_RATE = 48000


def half_up(x: Fraction) -> int:
    """Round half up, written out independently of the module under test."""
    return math.floor(x + Fraction(1, 2))


def click_track(bpm: float, seconds: float, *, offset: float = 0.0, rate: int = MODEL_RATE) -> np.ndarray:
    """Stereo clicks (2 kHz, 5 ms decay) on every quarter note from ``offset``. -> [2, seconds * rate]."""
    n = int(seconds * rate)
    t = np.arange(int(0.03 * rate)) / rate
    click = np.sin(2 * np.pi * 2000 * t) * np.exp(-t / 0.005)
    x = np.zeros(n)
    k = 0
    while (when := offset + k * 60.0 / bpm) * rate < n:
        s = int(round(when * rate))
        if s >= 0:
            m = min(click.size, n - s)
            x[s:s + m] += click[:m]
        k += 1
    return np.stack([x, 0.5 * x]).astype(np.float32)


def click_onsets(audio: np.ndarray, rate: int) -> np.ndarray:
    """First sample above 30 % of the peak of each click (clicks more than 50 ms apart)."""
    a = np.abs(audio[0])
    idx = np.flatnonzero(a > 0.3 * a.max())
    keep = np.concatenate([[True], np.diff(idx) > int(0.05 * rate)])
    return idx[keep]


def grid(tempo_map: TempoMap, plan: RegionPlan, quarters: int) -> np.ndarray:
    """Host samples (relative to the region start) of every quarter note in the region."""
    return np.array([tempo_map.sample_at(plan.start_ppq + k, plan.host_rate) - plan.start_sample
                     for k in range(quarters)])


# --- exact positions -------------------------------------------------------------------------------------------


def test_acceptance_bar5_to_bar13_at_97bpm_in_7_8_at_44k1() -> None:
    tm, ts = TempoMap.constant(97), TimeSignature(7, 8)
    plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=44100, start_bar=5, end_bar=13)
    assert plan.start_ppq == 14 and plan.end_ppq == 42  # 4 bars * 3.5 quarters
    start = half_up(Fraction(14) * Fraction(60, 97) * 44100)
    end = half_up(Fraction(42) * Fraction(60, 97) * 44100)
    assert (start, end) == (381897, 1145691)
    assert plan.start_sample == start and plan.end_sample == end and plan.length == 763794
    assert plan.bars == 8 and plan.whole_bars == 8
    assert plan.model_bpm == 97.0
    assert plan.model_seconds == pytest.approx(8 * 3.5 * 60 / 97, abs=1e-12)


def test_time_signatures_and_bars() -> None:
    assert TimeSignature(5, 4).quarters_per_bar == 5
    assert TimeSignature(7, 8).quarters_per_bar == Fraction(7, 2)
    assert TimeSignature(6, 8).quarters_per_bar == 3
    assert bar_to_ppq(1, TimeSignature(4, 4)) == 0
    assert bar_to_ppq(5, TimeSignature(5, 4)) == 20
    assert bar_to_ppq(Fraction(5, 2), TimeSignature(4, 4)) == 6
    plan = plan_region(tempo_map=TempoMap.constant(140), time_signature=TimeSignature(5, 4), host_rate=48000,
                       start_bar=3, end_bar=Fraction(11, 2))
    assert plan.bars == Fraction(5, 2) and plan.whole_bars == 3
    assert plan.start_sample == half_up(Fraction(10 * 60 * 48000, 140))


def test_floats_are_read_as_decimals() -> None:
    tm = TempoMap.from_pairs([(0, 97.5), ("8", "195/2"), (16.25, 120)])
    assert tm.points[0].bpm == Fraction(195, 2) and tm.points[1].bpm == Fraction(195, 2)
    assert tm.points[2].ppq == Fraction(65, 4)
    assert TempoMap.constant(97.5) == TempoMap.constant(Fraction(195, 2))


def test_tempo_change_inside_region_is_exact() -> None:
    tm = TempoMap.from_pairs([(0, 120), (16, 90)])
    assert tm.seconds_at(8) == 4 and tm.seconds_at(16) == 8 and tm.seconds_at(24) == Fraction(40, 3)
    assert tm.bpm_at(15) == 120 and tm.bpm_at(16) == 90
    assert tm.mean_bpm(8, 24) == Fraction(720, 7)
    for q in [Fraction(0), Fraction(1, 3), Fraction(8), Fraction(16), Fraction(161, 7), Fraction(24), Fraction(1000)]:
        assert tm.ppq_at_seconds(tm.seconds_at(q)) == q
    for s in [Fraction(0), Fraction(7, 3), Fraction(8), Fraction(1, 44100)]:
        assert tm.seconds_at(tm.ppq_at_seconds(s)) == s
    expected = {44100: (176400, 588000), 48000: (192000, 640000), 88200: (352800, 1176000), 96000: (384000, 1280000)}
    for rate in HOST_RATES:
        plan = plan_region(tempo_map=tm, time_signature=TimeSignature(4, 4), host_rate=rate,
                           start_ppq=Fraction(8), end_ppq=Fraction(24))
        assert (plan.start_sample, plan.end_sample) == expected[rate]
        assert plan.whole_bars == 4 and plan.model_bpm == 720 / 7
        assert tm.sample_at(20, rate) == half_up((8 + Fraction(4 * 60, 90)) * rate)


def test_sample_rule_is_round_half_up_and_monotone() -> None:
    tm = TempoMap.constant(120)  # half a second per quarter
    assert tm.sample_at(Fraction(1, 44100), 44100) == 1  # exactly 0.5 samples: rounds up (round() would give 0)
    assert tm.sample_at(Fraction(3, 44100), 44100) == 2  # 1.5 samples
    changing = TempoMap.from_pairs([(0, 97), (5, 133.5), (Fraction(31, 3), 61)])
    qs = [Fraction(i, 37) for i in range(0, 37 * 16)]
    for rate in HOST_RATES:
        samples = [changing.sample_at(q, rate) for q in qs]
        assert all(b >= a for a, b in zip(samples, samples[1:], strict=False))
        assert samples[-1] - samples[0] > 0


def test_plan_from_samples_matches_plan_from_ppq() -> None:
    tm = TempoMap.from_pairs([(0, 120), (16, 90)])
    for ts in (TimeSignature(5, 4), TimeSignature(7, 8)):
        for rate in HOST_RATES:
            by_ppq = plan_region(tempo_map=tm, time_signature=ts, host_rate=rate,
                                 start_ppq=Fraction(15, 2), end_ppq=Fraction(97, 4))
            by_samples = plan_region(tempo_map=tm, time_signature=ts, host_rate=rate,
                                     start_sample=by_ppq.start_sample, end_sample=by_ppq.end_sample)
            assert by_samples == by_ppq
            both = plan_region(tempo_map=tm, time_signature=ts, host_rate=rate, start_ppq=Fraction(15, 2),
                               end_ppq=Fraction(97, 4), start_sample=by_ppq.start_sample + 1,
                               end_sample=by_ppq.end_sample - 1)
            assert both == by_ppq  # within one sample: the PPQ position wins
    # a sample between ticks keeps its exact PPQ
    odd = plan_region(tempo_map=tm, time_signature=TimeSignature(4, 4), host_rate=44100,
                      start_sample=12345, end_sample=999_999)
    assert odd.start_sample == 12345 and tm.seconds_at(odd.start_ppq) == Fraction(12345, 44100)


def test_chunk_positions_cover_region_without_gaps() -> None:
    plan = plan_region(tempo_map=TempoMap.constant(97), time_signature=TimeSignature(7, 8), host_rate=44100,
                       start_bar=5, end_bar=13)
    chunks = chunk_positions(plan, 48000)
    assert chunks[0] == (381897, 48000)
    assert chunks[-1] == (381897 + 15 * 48000, 763794 - 15 * 48000)
    assert all(a[0] + a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))
    assert sum(f for _, f in chunks) == plan.length and chunks[-1][0] + chunks[-1][1] == plan.end_sample
    assert chunk_positions(plan, plan.length) == [(plan.start_sample, plan.length)]
    with pytest.raises(JenError):
        chunk_positions(plan, 0)


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [0, 1000, 19.99, -97, float("nan")])
def test_bad_tempo_raises(bpm: float) -> None:
    with pytest.raises(JenError):
        TempoMap.constant(bpm)


def test_bad_inputs_raise_jen_error() -> None:
    tm, ts = TempoMap.constant(120), TimeSignature(4, 4)
    for num, den in [(7, 6), (4, 64), (0, 4), (33, 4)]:
        with pytest.raises(JenError, match="time signature"):
            TimeSignature(num, den)
    with pytest.raises(JenError, match="ppq 0"):
        TempoMap((TempoPoint(Fraction(1), Fraction(120)),))
    with pytest.raises(JenError, match="increasing"):
        TempoMap.from_pairs([(0, 120), (8, 100), (8, 90)])
    with pytest.raises(JenError, match="after its start"):
        plan_region(tempo_map=tm, time_signature=ts, host_rate=48000, start_bar=5, end_bar=3)
    with pytest.raises(JenError, match="22050"):
        plan_region(tempo_map=tm, time_signature=ts, host_rate=22050, start_bar=1, end_bar=3)
    with pytest.raises(JenError, match="start_sample 48002 disagrees with start_ppq 2"):
        plan_region(tempo_map=tm, time_signature=ts, host_rate=48000, start_ppq=Fraction(2), start_sample=48002,
                    end_bar=3)
    with pytest.raises(JenError, match="end_sample"):
        plan_region(tempo_map=tm, time_signature=ts, host_rate=48000, start_bar=1, end_bar=3, end_sample=5)
    with pytest.raises(JenError, match="not both"):
        plan_region(tempo_map=tm, time_signature=ts, host_rate=48000, start_bar=1, start_ppq=Fraction(0), end_bar=2)
    with pytest.raises(JenError, match="region end"):
        plan_region(tempo_map=tm, time_signature=ts, host_rate=48000, start_bar=1)
    with pytest.raises(JenError, match="from 1"):
        bar_to_ppq(0, ts)
    plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=48000, start_bar=2, end_bar=3)
    with pytest.raises(JenError, match="channels"):
        align_to_host(np.zeros(100, np.float32), plan, tm)
    with pytest.raises(JenError, match="tempo_map does not match"):
        align_to_host(np.zeros((2, 100), np.float32), plan, TempoMap.constant(100))


# --- alignment --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", HOST_RATES)
def test_click_track_at_asked_tempo_is_not_stretched_and_lands_on_the_grid(rate: int) -> None:
    tm, ts = TempoMap.constant(97), TimeSignature(7, 8)
    plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=rate, start_bar=5, end_bar=13)
    out = align_to_host(click_track(97, plan.model_seconds), plan, tm, fade_ms=0.0)
    assert out.audio.shape == (2, plan.length) and out.audio.dtype == np.float32
    assert out.start_sample == plan.start_sample
    assert out.stretch_ratio == 1.0 and out.phase_shift_samples == 0
    assert out.measured_bpm == pytest.approx(97, rel=1e-3)
    expected = grid(tm, plan, 28)
    got = click_onsets(out.audio, rate)
    assert got.size == 28
    assert np.abs(got - expected).max() <= rate // 1000  # within 1 ms


def test_length_is_exact_for_every_rate_and_fades_reach_zero() -> None:
    tm, ts = TempoMap.constant(Fraction(2437, 20)), TimeSignature(5, 4)
    rng = np.random.default_rng(0)
    for rate in HOST_RATES:
        plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=rate, start_ppq=Fraction(7, 3),
                           end_ppq=Fraction(29, 2))
        audio = rng.uniform(-1, 1, (2, int(plan.model_seconds * MODEL_RATE))).astype(np.float32)
        out = align_to_host(audio, plan, tm, measure=False, fade_ms=5.0)
        assert out.audio.shape == (2, plan.length)
        assert np.all(out.audio[:, 0] == 0) and np.abs(out.audio[:, -1]).max() < 1e-4
        fade = round(0.005 * rate)
        assert np.abs(out.audio[:, : fade // 10]).max() < 0.05  # still near silence 0.5 ms in
        assert np.abs(out.audio[:, fade:2 * fade]).max() > 0.5  # full level after the fade


def test_too_fast_click_track_is_measured_and_stretched_onto_the_grid() -> None:
    tm, ts = TempoMap.constant(97), TimeSignature(7, 8)
    plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=44100, start_bar=5, end_bar=13)
    out = align_to_host(click_track(97 * 1.05, plan.model_seconds * 1.05), plan, tm, fade_ms=0.0)
    assert out.measured_bpm == pytest.approx(97 * 1.05, rel=1e-3)
    assert out.stretch_ratio == pytest.approx(1.05, rel=1e-3)
    assert out.audio.shape == (2, plan.length)
    got, expected = click_onsets(out.audio, 44100), grid(tm, plan, 28)
    assert got.size == 28
    assert np.abs(got - expected).max() < 0.010 * 44100  # the brief asks 10 ms
    assert np.abs(got - expected).max() < 0.002 * 44100  # attacks after silence are anchored: we get < 1 ms


def test_within_tolerance_tempo_is_left_alone() -> None:
    tm, ts = TempoMap.constant(120), TimeSignature(4, 4)
    plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=48000, start_bar=1, end_bar=5)
    out = align_to_host(click_track(120 * 1.005, plan.model_seconds), plan, tm, fade_ms=0.0)
    assert out.stretch_ratio == 1.0 and out.measured_bpm == pytest.approx(120.6, rel=1e-3)


@pytest.mark.parametrize(("offset", "rate"), [(0.020, 44100), (-0.015, 96000)])
def test_late_or_early_beats_are_shifted_onto_the_grid(offset: float, rate: int) -> None:
    tm, ts = TempoMap.constant(110), TimeSignature(4, 4)
    plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=rate, start_bar=2, end_bar=6)
    out = align_to_host(click_track(110, plan.model_seconds, offset=offset), plan, tm, fade_ms=0.0)
    assert out.stretch_ratio == 1.0
    assert abs(out.phase_shift_samples - offset * rate) < 0.001 * rate
    got, expected = click_onsets(out.audio, rate), grid(tm, plan, 17)
    # an early track lacks its first click (it would sit before time 0), a late one has the next downbeat's
    # click right at the region end: match every click to its nearest grid position
    nearest = np.abs(got[:, None] - expected[None, :]).min(axis=1)
    assert got.size >= 15 and nearest.max() < 0.0015 * rate


@pytest.mark.parametrize("rate", [44100, 96000])
def test_tempo_change_inside_region_warps_beats_onto_host_positions(rate: int) -> None:
    tm, ts = TempoMap.from_pairs([(0, 120), (16, 90)]), TimeSignature(4, 4)
    plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=rate, start_ppq=Fraction(8), end_ppq=Fraction(24))
    out = align_to_host(click_track(plan.model_bpm, plan.model_seconds), plan, tm, fade_ms=0.0)
    assert out.stretch_ratio == 1.0 and out.audio.shape == (2, plan.length)
    got, expected = click_onsets(out.audio, rate), grid(tm, plan, 16)
    assert got.size == 16
    assert np.abs(got - expected).max() < 0.002 * rate


def test_no_clear_beat_means_no_measurement_and_no_stretch() -> None:
    tm, ts = TempoMap.constant(120), TimeSignature(4, 4)
    plan = plan_region(tempo_map=tm, time_signature=ts, host_rate=48000, start_bar=1, end_bar=5)
    n = int(plan.model_seconds * MODEL_RATE)
    for audio in (np.zeros((2, n), np.float32),
                  np.random.default_rng(1).normal(0, 0.1, (2, n)).astype(np.float32)):
        out = align_to_host(audio, plan, tm)
        assert out.measured_bpm is None and out.stretch_ratio == 1.0 and out.phase_shift_samples == 0
    assert measure_tempo(np.zeros((1, 4800), np.float32), MODEL_RATE, expected_bpm=120) is None


# --- stretch ----------------------------------------------------------------------------------------------------


def peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * rate / x.size)


@pytest.mark.parametrize("ratio", [0.8, 0.95, 1.05, 1.3])
def test_stretch_keeps_pitch_and_has_the_right_length(ratio: float) -> None:
    t = np.arange(2 * MODEL_RATE) / MODEL_RATE
    for freq in (60.0, 440.0, 2500.0):
        x = np.stack([np.sin(2 * np.pi * freq * t), -np.sin(2 * np.pi * freq * t)]).astype(np.float32)
        y = stretch(x, ratio)
        assert y.shape == (2, round(x.shape[1] * ratio)) and y.dtype == np.float32
        assert peak_hz(y[0], MODEL_RATE) == pytest.approx(freq, rel=0.01)
        np.testing.assert_allclose(y[1], -y[0], atol=1e-6)  # one shift for all channels: the image is kept
        mid = y[0, y.shape[1] // 4:-y.shape[1] // 4]
        assert np.sqrt(2 * np.mean(mid**2)) == pytest.approx(1.0, abs=0.05)  # no phase cancellation


def test_warp_follows_a_piecewise_map() -> None:
    x = click_track(120, 4.0)  # clicks every 24000 samples
    # first second twice as slow, then normal speed
    y = warp(x, out_knots=np.array([0.0, 96000.0, 144000.0]), in_knots=np.array([0.0, 48000.0, 96000.0]),
             length=144000)
    got = click_onsets(y, MODEL_RATE)
    np.testing.assert_allclose(got, [0, 48000, 96000, 120000], atol=48)
    with pytest.raises(JenError):
        warp(x, out_knots=np.array([0.0, 0.0]), in_knots=np.array([0.0, 1.0]), length=10)
    with pytest.raises(JenError):
        stretch(x, 0.0)


def test_redundant_tempo_point_does_not_warp_and_antiphase_channels_still_measure() -> None:
    ts = TimeSignature(4, 4)
    plain, redundant = TempoMap.constant(120), TempoMap.from_pairs([(0, 120), (6, 120)])
    plan = plan_region(tempo_map=plain, time_signature=ts, host_rate=44100, start_bar=2, end_bar=4)
    assert plan_region(tempo_map=redundant, time_signature=ts, host_rate=44100, start_bar=2, end_bar=4) == plan
    x = click_track(120, plan.model_seconds)
    x[1] = -x[0]  # a mono sum would cancel to silence
    a = align_to_host(x, plan, plain)
    b = align_to_host(x, plan, redundant)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.measured_bpm == pytest.approx(120, rel=1e-3)
    found = measure_tempo(x, MODEL_RATE, expected_bpm=115)
    assert found is not None and found[0] == pytest.approx(120, rel=1e-3) and abs(found[1]) < 0.002
