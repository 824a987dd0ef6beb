"""Tempo alignment: exact tempo-map arithmetic, region plans, and fitting generated audio onto the host grid.

Positions are exact rationals (``fractions.Fraction``): PPQ is in quarter notes, tempo in quarter
notes per minute. Floats given by a caller are read through their decimal text, so 97.5 is exactly
195/2. One rounding rule turns time into samples, everywhere: a time of ``t`` seconds is host sample
``floor(t * rate + 1/2)`` (round half up of the exact rational; :func:`seconds_to_sample`).

Limits, by choice: tempo changes are steps at PPQ positions (no ramps); one time signature for the
whole song; bars are 1-based like DAWs (bar 1 starts at PPQ 0). The model's audio is assumed to
start on a downbeat that is placed at the region start.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise

import numpy as np
import soxr

from bridge.stretch import as_audio, warp
from jen_core.errors import JenError

HOST_RATES = (44100, 48000, 88200, 96000)
MIN_BPM = Fraction(20)
MAX_BPM = Fraction(400)
SNAP_TICKS_PER_QUARTER = 960  # sample-only positions snap to this PPQ grid when the tick rounds to the same sample
PHASE_THRESHOLD_SECONDS = 0.005  # shift the audio only when its beats are off by more than this

Number = int | float | Fraction | str


def to_fraction(value: Number, name: str = "value") -> Fraction:
    """Exact rational from an int, Fraction, decimal string ("97.5", "195/2") or float (via ``str``)."""
    if isinstance(value, bool):
        raise JenError(f"{name} must be a number, got {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, numbers.Rational):
        return Fraction(value.numerator, value.denominator)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise JenError(f"{name} must be finite, got {value!r}")
        return Fraction(str(value))
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise JenError(f"{name} must be a number like '97.5' or '195/2', got {value!r}") from None
    raise JenError(f"{name} must be a number, got {type(value).__name__}")


def seconds_to_sample(seconds: Fraction, sample_rate: int) -> int:
    """The one rounding rule: ``floor(seconds * rate + 1/2)`` on exact rationals (round half up)."""
    return math.floor(Fraction(seconds) * sample_rate + Fraction(1, 2))


def _check_int(value: object, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise JenError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class TimeSignature:
    """Time signature ``numerator/denominator``; numerator 1..32, denominator a power of two <= 32."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        num = _check_int(self.numerator, "time signature numerator", minimum=1)
        den = _check_int(self.denominator, "time signature denominator", minimum=1)
        if num > 32:
            raise JenError(f"time signature numerator must be 1..32, got {num}")
        if den > 32 or den & (den - 1):
            raise JenError(f"time signature denominator must be 1, 2, 4, 8, 16 or 32, got {den}")
        object.__setattr__(self, "numerator", num)
        object.__setattr__(self, "denominator", den)

    @property
    def quarters_per_bar(self) -> Fraction:
        return Fraction(4 * self.numerator, self.denominator)


@dataclass(frozen=True)
class TempoPoint:
    """From ``ppq`` on (quarter notes, >= 0) the tempo is ``bpm`` quarter notes per minute (20..400)."""

    ppq: Fraction
    bpm: Fraction

    def __post_init__(self) -> None:
        ppq = to_fraction(self.ppq, "tempo point ppq")
        bpm = to_fraction(self.bpm, "tempo")
        if ppq < 0:
            raise JenError(f"tempo point ppq must be >= 0, got {ppq}")
        if not MIN_BPM <= bpm <= MAX_BPM:
            raise JenError(f"tempo must be within {MIN_BPM}..{MAX_BPM} BPM, got {float(bpm):g}")
        object.__setattr__(self, "ppq", ppq)
        object.__setattr__(self, "bpm", bpm)


@dataclass(frozen=True)
class TempoMap:
    """Step tempo map: ``points`` sorted by strictly increasing PPQ, the first at PPQ 0."""

    points: tuple[TempoPoint, ...]
    _starts: tuple[Fraction, ...] = field(init=False, repr=False, compare=False)  # seconds at each point

    def __post_init__(self) -> None:
        try:
            points = tuple(p if isinstance(p, TempoPoint) else TempoPoint(*p) for p in self.points)
        except TypeError:
            raise JenError("tempo map points must be TempoPoint or (ppq, bpm) pairs") from None
        if not points:
            raise JenError("tempo map needs at least one tempo point")
        if points[0].ppq != 0:
            raise JenError(f"tempo map must start at ppq 0, its first point is at ppq {points[0].ppq}")
        for a, b in pairwise(points):
            if b.ppq <= a.ppq:
                raise JenError(f"tempo points must have strictly increasing ppq, got {a.ppq} then {b.ppq}")
        starts = [Fraction(0)]
        for a, b in pairwise(points):
            starts.append(starts[-1] + (b.ppq - a.ppq) * 60 / a.bpm)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "_starts", tuple(starts))

    @classmethod
    def constant(cls, bpm: Number) -> TempoMap:
        return cls((TempoPoint(Fraction(0), to_fraction(bpm, "tempo")),))

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[Number, Number]]) -> TempoMap:
        """``[(ppq, bpm), ...]``; floats are read through ``str`` so 97.5 is exact."""
        return cls(tuple(TempoPoint(to_fraction(p, "tempo point ppq"), to_fraction(b, "tempo")) for p, b in pairs))

    def _index(self, ppq: Fraction) -> int:
        return bisect.bisect_right(self.points, ppq, key=lambda p: p.ppq) - 1

    def seconds_at(self, ppq: Number) -> Fraction:
        """Exact seconds from PPQ 0 to ``ppq``."""
        q = _non_negative(ppq, "ppq")
        i = self._index(q)
        point = self.points[i]
        return self._starts[i] + (q - point.ppq) * 60 / point.bpm

    def ppq_at_seconds(self, seconds: Number) -> Fraction:
        """Exact inverse of :meth:`seconds_at`."""
        s = _non_negative(seconds, "seconds")
        i = bisect.bisect_right(self._starts, s) - 1
        point = self.points[i]
        return point.ppq + (s - self._starts[i]) * point.bpm / 60

    def sample_at(self, ppq: Number, sample_rate: int) -> int:
        """Host sample of ``ppq``: ``floor(seconds_at(ppq) * rate + 1/2)``."""
        return seconds_to_sample(self.seconds_at(ppq), _check_int(sample_rate, "sample rate", minimum=1))

    def bpm_at(self, ppq: Number) -> Fraction:
        return self.points[self._index(_non_negative(ppq, "ppq"))].bpm

    def mean_bpm(self, start_ppq: Number, end_ppq: Number) -> Fraction:
        """Quarter notes per minute over ``[start_ppq, end_ppq)``: PPQ span / minutes."""
        a, b = _non_negative(start_ppq, "start ppq"), _non_negative(end_ppq, "end ppq")
        if b <= a:
            raise JenError(f"end ppq {b} must be after start ppq {a}")
        return (b - a) * 60 / (self.seconds_at(b) - self.seconds_at(a))


def _non_negative(value: Number, name: str) -> Fraction:
    q = to_fraction(value, name)
    if q < 0:
        raise JenError(f"{name} must be >= 0, got {q}")
    return q


def bar_to_ppq(bar: int | Fraction, ts: TimeSignature) -> Fraction:
    """PPQ of a 1-based bar (bar 1 starts at PPQ 0; fractional bars allowed). One time signature per song."""
    b = to_fraction(bar, "bar")
    if b < 1:
        raise JenError(f"bars are numbered from 1, got bar {b}")
    return (b - 1) * ts.quarters_per_bar


@dataclass(frozen=True)
class RegionPlan:
    """Where a region sits on the host timeline and what to ask the model for.

    ``length = end_sample - start_sample`` host samples; ``bars`` is the region length in bars and
    ``whole_bars = ceil(bars)`` (>= 1) the bars asked of the model, at ``model_bpm`` (the mean tempo over
    the region), which lasts ``model_seconds`` at 48 kHz.
    """

    start_ppq: Fraction
    end_ppq: Fraction
    start_sample: int
    end_sample: int
    length: int
    host_rate: int
    bars: Fraction
    whole_bars: int
    model_bpm: float
    model_seconds: float
    time_signature: TimeSignature


def _resolve_position(
    which: str, ppq: Number | None, bar: Number | None, sample: int | None, tempo_map: TempoMap,
    ts: TimeSignature, rate: int,
) -> tuple[Fraction, int]:
    if ppq is not None and bar is not None:
        raise JenError(f"give {which}_ppq or {which}_bar, not both")
    if bar is not None:
        ppq = bar_to_ppq(bar, ts)
    if ppq is not None:
        q = _non_negative(ppq, f"{which}_ppq")
        exact = tempo_map.sample_at(q, rate)
        if sample is not None:
            given = _check_int(sample, f"{which}_sample", minimum=0)
            if abs(given - exact) > 1:
                raise JenError(f"{which}_sample {given} disagrees with {which}_ppq {q}, which is sample {exact} "
                               f"at {rate} Hz under this tempo map; send matching positions")
        return q, exact
    if sample is not None:
        s = _check_int(sample, f"{which}_sample", minimum=0)
        q = tempo_map.ppq_at_seconds(Fraction(s, rate))
        tick = Fraction(round(q * SNAP_TICKS_PER_QUARTER), SNAP_TICKS_PER_QUARTER)
        return (tick if tempo_map.sample_at(tick, rate) == s else q), s
    raise JenError(f"give the region {which} as {which}_ppq, {which}_bar or {which}_sample")


def plan_region(
    *,
    tempo_map: TempoMap,
    time_signature: TimeSignature,
    host_rate: int,
    start_ppq: Fraction | None = None,
    end_ppq: Fraction | None = None,
    start_bar: Fraction | int | None = None,
    end_bar: Fraction | int | None = None,
    start_sample: int | None = None,
    end_sample: int | None = None,
) -> RegionPlan:
    """Plan a region given by PPQ, 1-based bars or host samples (each end on its own).

    When a sample is given with a PPQ/bar position they must agree within one sample; the plan then
    uses the sample computed from the PPQ (the one rounding rule), so every caller gets the same numbers.
    A sample-only position becomes the exact PPQ at that sample (snapped to a 1/960-quarter tick when
    that tick rounds to the same sample).
    """
    if not isinstance(tempo_map, TempoMap):
        raise JenError("tempo_map must be a TempoMap")
    if not isinstance(time_signature, TimeSignature):
        raise JenError("time_signature must be a TimeSignature")
    if isinstance(host_rate, bool) or host_rate not in HOST_RATES:
        raise JenError(f"host sample rate must be one of {', '.join(map(str, HOST_RATES))} Hz, got {host_rate!r}")
    rate = int(host_rate)
    a_ppq, a_sample = _resolve_position("start", start_ppq, start_bar, start_sample, tempo_map, time_signature, rate)
    b_ppq, b_sample = _resolve_position("end", end_ppq, end_bar, end_sample, tempo_map, time_signature, rate)
    if b_ppq <= a_ppq:
        raise JenError(f"region end (ppq {b_ppq}) must be after its start (ppq {a_ppq})")
    if b_sample <= a_sample:
        raise JenError(f"region is shorter than one sample at {rate} Hz (ppq {a_ppq} to {b_ppq})")
    qpb = time_signature.quarters_per_bar
    bars = (b_ppq - a_ppq) / qpb
    whole_bars = max(1, math.ceil(bars))
    mean = tempo_map.mean_bpm(a_ppq, b_ppq)
    return RegionPlan(
        start_ppq=a_ppq, end_ppq=b_ppq, start_sample=a_sample, end_sample=b_sample, length=b_sample - a_sample,
        host_rate=rate, bars=bars, whole_bars=whole_bars, model_bpm=float(mean),
        model_seconds=float(whole_bars * qpb * 60 / mean), time_signature=time_signature,
    )


@dataclass
class AlignResult:
    """``audio``: [C, plan.length] float32 at the host rate, to be placed at host sample ``start_sample``.

    ``stretch_ratio``: global tempo correction applied (measured / asked BPM; > 1 made the audio longer),
    1.0 when none (tempo-map warping inside the region is not counted). ``phase_shift_samples``: how
    late the generated beats were, in host samples (the audio was moved earlier by that much; negative
    = early, moved later). ``measured_bpm``: the tempo found in the audio, None when not measured or
    when no clear beat was found.
    """

    audio: np.ndarray
    start_sample: int
    stretch_ratio: float
    phase_shift_samples: int
    measured_bpm: float | None


def align_to_host(
    audio: np.ndarray,
    plan: RegionPlan,
    tempo_map: TempoMap,
    *,
    model_rate: int = 48000,
    fade_ms: float = 5.0,
    tolerance: float = 0.01,
    measure: bool = True,
) -> AlignResult:
    """Fit generated audio onto the host grid of ``plan``. audio: [C, N] at ``model_rate`` -> [C, plan.length].

    ``audio`` was generated for ``plan.model_seconds`` at ``plan.model_bpm`` and starts on a downbeat.
    Steps: measure its tempo and beat phase (when ``measure``); correct the tempo only when it is off by
    more than ``tolerance`` (relative) and the phase only when it is off by more than 5 ms; resample to
    the host rate (soxr HQ); warp each constant-tempo segment of the host map to its exact host length
    (pitch-preserving WSOLA; a plain sample shift when nothing needs stretching); trim/pad to
    ``plan.length``; raised-cosine fades of ``fade_ms`` at both ends.
    """
    if not isinstance(plan, RegionPlan) or not isinstance(tempo_map, TempoMap):
        raise JenError("align_to_host needs a RegionPlan from plan_region and its TempoMap")
    if tempo_map.sample_at(plan.start_ppq, plan.host_rate) != plan.start_sample:
        raise JenError("tempo_map does not match the plan; plan the region with the same tempo map")
    x = as_audio(audio)
    model_rate = _check_int(model_rate, "model_rate", minimum=1000)
    if not (math.isfinite(fade_ms) and fade_ms >= 0) or not (math.isfinite(tolerance) and tolerance >= 0):
        raise JenError(f"fade_ms and tolerance must be >= 0, got {fade_ms!r} and {tolerance!r}")
    rate = plan.host_rate

    asked = tempo_map.mean_bpm(plan.start_ppq, plan.end_ppq)
    source_bpm: Fraction | float = asked  # tempo of the generated audio, exact unless measured otherwise
    ratio, phase, measured = 1.0, 0.0, None
    if measure:
        onsets = OnsetEnvelope(x, model_rate)
        measured = onsets.tempo(float(asked))
        if measured is not None:
            if abs(measured / float(asked) - 1.0) > tolerance:
                source_bpm, ratio = measured, measured / float(asked)
            phase = onsets.phase(float(source_bpm))
            if abs(phase) <= PHASE_THRESHOLD_SECONDS:
                phase = 0.0

    y = _resample(x, model_rate, rate)
    # The map from output sample j (played at host time (start_sample + j) / rate) to source sample is
    # linear between the region ends and every tempo change inside the region.
    changes = [b.ppq for a, b in pairwise(tempo_map.points) if plan.start_ppq < b.ppq < plan.end_ppq and b.bpm != a.bpm]
    knots = [plan.start_ppq, *changes, plan.end_ppq]
    out_k = [float(tempo_map.seconds_at(q) * rate - plan.start_sample) for q in knots]
    in_k = [phase * rate + float((q - plan.start_ppq) * 60 * rate / source_bpm) for q in knots]
    if ratio == 1.0 and len(knots) == 2:  # slope exactly 1: a plain shift, no stretching
        y = _shift(y, int(round(in_k[0] - out_k[0])), plan.length)
    else:
        y = warp(y, out_knots=np.array(out_k), in_knots=np.array(in_k), length=plan.length, sample_rate=rate)
    _fade(y, int(round(fade_ms * rate / 1000.0)))
    return AlignResult(audio=y, start_sample=plan.start_sample, stretch_ratio=float(ratio),
                       phase_shift_samples=int(round(phase * rate)), measured_bpm=measured)


def chunk_positions(plan: RegionPlan, chunk_frames: int) -> list[tuple[int, int]]:
    """(absolute host start sample, frames) for consecutive chunks covering the region, no gap or overlap."""
    size = _check_int(chunk_frames, "chunk_frames", minimum=1)
    return [(plan.start_sample + off, min(size, plan.length - off)) for off in range(0, plan.length, size)]


def _resample(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """x: [C, N] at src_rate -> [C, M] float32 at dst_rate (soxr HQ, delay-compensated)."""
    if src_rate == dst_rate or x.shape[1] == 0:
        return x
    y = soxr.resample(np.ascontiguousarray(x.T), src_rate, dst_rate, quality="HQ")
    return np.ascontiguousarray(np.asarray(y, dtype=np.float32).reshape(-1, x.shape[0]).T)


def _shift(x: np.ndarray, offset: int, length: int) -> np.ndarray:
    """y[:, j] = x[:, j + offset] for j in [0, length), silence outside x. x: [C, N] -> [C, length]."""
    y = np.zeros((x.shape[0], length), dtype=np.float32)
    lo, hi = max(0, -offset), min(length, x.shape[1] - offset)
    if hi > lo:
        y[:, lo:hi] = x[:, lo + offset:hi + offset]
    return y


def _fade(y: np.ndarray, frames: int) -> None:
    """Raised-cosine fade-in and fade-out of ``frames`` samples, in place (first and last sample become 0)."""
    frames = min(frames, y.shape[1] // 2)
    if frames <= 0:
        return
    ramp = (0.5 - 0.5 * np.cos(np.pi * np.arange(frames) / frames)).astype(np.float32)
    y[:, :frames] *= ramp
    y[:, y.shape[1] - frames:] *= ramp[::-1]


class OnsetEnvelope:
    """Spectral-flux onset strength of audio [C, N] (or [N]) at ``sample_rate``, for tempo and beat phase.

    Frames of ~5 ms (Hann), hop a quarter of that; log-compressed magnitudes; the positive frame-to-frame
    increase summed over bins. ``env[i]`` describes the time ``times[i]`` seconds.
    """

    PEAK_LEAD_HOPS = 1.0  # calibrated on clicks and noise bursts: the flux peaks one hop before the attack

    def __init__(self, audio: np.ndarray, sample_rate: int) -> None:
        x = np.asarray(audio, dtype=np.float64)
        x = x.reshape(-1, x.shape[-1])  # [C, N]; channels are analysed apart so they cannot cancel out
        self.sample_rate = sample_rate
        self.n_fft = 1 << max(4, round(math.log2(0.0053 * sample_rate)))
        self.hop = self.n_fft // 4
        self.frame_rate = sample_rate / self.hop
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        n_frames = x.shape[1] // self.hop + 1
        if peak < 1e-6:
            self.env = np.zeros(n_frames)
            return
        half = self.n_fft // 2
        padded = np.pad(x / peak, ((0, 0), (half, half + self.hop)))
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft, axis=1)[:, ::self.hop][:, :n_frames]
        window = np.hanning(self.n_fft + 1)[:-1]
        prev = np.zeros(self.n_fft // 2 + 1)
        flux = np.empty(n_frames)
        for a in range(0, n_frames, 2048):  # blocks keep memory flat for long stems
            spec = np.abs(np.fft.rfft(frames[:, a:a + 2048] * window, axis=-1)).sum(axis=0)
            mag = np.log1p(100.0 * spec)
            diff = np.diff(np.vstack([prev, mag]), axis=0)
            flux[a:a + 2048] = np.maximum(diff, 0.0).sum(axis=1)
            prev = mag[-1]
        self.env = flux

    @property
    def times(self) -> np.ndarray:
        return (np.arange(self.env.size) + self.PEAK_LEAD_HOPS) * (self.hop / self.sample_rate)

    def tempo(self, expected_bpm: float, *, max_deviation: float = 0.15, min_beats: int = 4) -> float | None:
        """Quarter-note tempo within ``expected_bpm`` * (1 +- max_deviation), or None without a clear beat.

        Autocorrelation of the onset envelope, scored at every multiple of the beat period that fits.
        Returns ``expected_bpm`` itself when it scores within 10 % of the best candidate.
        """
        e = _smooth(self.env, 0.004 * self.frame_rate)
        e = e - e.mean()
        size = e.size
        longest = 60.0 / (expected_bpm / (1.0 + max_deviation)) * self.frame_rate
        if size < min_beats * longest or not np.any(e):
            return None
        nfft = 1 << int(math.ceil(math.log2(2 * size)))
        spec = np.fft.rfft(e, nfft)
        ac = np.fft.irfft(spec * np.conj(spec), nfft)[:size] / (size - np.arange(size))
        if ac[0] <= 0:
            return None
        ac = ac / ac[0]
        multiples = np.arange(1, max(1, int(0.7 * size / longest)) + 1)
        grid = np.arange(size, dtype=np.float64)

        def score(bpms: np.ndarray) -> np.ndarray:
            lags = (60.0 / bpms * self.frame_rate)[:, None] * multiples[None, :]
            return np.interp(lags, grid, ac).mean(axis=1)

        coarse = expected_bpm * np.exp(np.arange(-math.log1p(max_deviation), math.log1p(max_deviation), 1e-3))
        best = coarse[int(np.argmax(score(coarse)))]
        fine = best * np.exp(np.arange(-2e-3, 2e-3, 2e-5))
        fine_scores = score(fine)
        i = int(np.argmax(fine_scores))
        if fine_scores[i] < 0.1:
            return None
        if float(score(np.array([expected_bpm]))[0]) >= 0.9 * fine_scores[i]:
            return float(expected_bpm)  # the asked tempo fits nearly as well: no evidence against it
        return float(fine[i])

    def phase(self, bpm: float, *, max_fraction: float = 0.125) -> float:
        """Seconds from time 0 to the first beat of the best-fitting grid at ``bpm`` (negative: before 0).

        Searched within +- ``max_fraction`` of a beat: the audio is meant to start on a downbeat, and a wider
        search would confuse beats with off-beats (hi-hats on eighths score almost as well as the beat).
        """
        period = 60.0 / bpm * self.frame_rate
        e = _smooth(self.env, 0.001 * self.frame_rate)
        reach = max_fraction * period
        offsets = np.arange(-reach, reach, 0.25) - self.PEAK_LEAD_HOPS
        beats = np.arange(int(self.env.size / period) + 2)
        pos = offsets[:, None] + beats[None, :] * period
        valid = (pos >= 0) & (pos <= e.size - 1)
        vals = np.where(valid, np.interp(pos, np.arange(e.size), e), 0.0)
        score = vals.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
        return float((offsets[int(np.argmax(score))] + self.PEAK_LEAD_HOPS) * self.hop / self.sample_rate)


def measure_tempo(audio: np.ndarray, sample_rate: int, *, expected_bpm: float) -> tuple[float, float] | None:
    """(bpm, phase seconds) of audio [C, N] near ``expected_bpm``, or None without a clear beat."""
    onsets = OnsetEnvelope(audio, sample_rate)
    bpm = onsets.tempo(expected_bpm)
    return None if bpm is None else (bpm, onsets.phase(bpm))


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing with ``sigma`` in samples (no-op below a third of a sample)."""
    if sigma < 0.34:
        return x
    radius = int(math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return np.convolve(x, k / k.sum(), mode="same")
