"""Pitched timbres of the built-in renderer (numpy only, vectorised per note).

Each voice maps ``(f0 Hz, gate seconds, velocity 0-1, sample rate, rng)`` to a mono
``[n]`` or stereo ``[2, n]`` float64 signal of about unit peak that includes its release
tail. Harmonic series are summed with the Chebyshev recurrence
``sin((k+1)x) = 2 cos(x) sin(kx) - sin((k-1)x)`` (one multiply-add per partial) and stop
below 0.45 x the sample rate, so nothing aliases.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Voice = Callable[[float, float, float, int, np.random.Generator], np.ndarray]
TWO_PI = 2.0 * np.pi


def envelope(
    n: int, sr: int, *, attack: float, decay: float, sustain: float, gate: float, release: float
) -> np.ndarray:
    """ADSR: linear attack, exponential decay (time constant ``decay``) to ``sustain``, linear release after ``gate``."""
    t = np.arange(n) / sr
    a = max(attack, 1.0 / sr)
    rise = np.minimum(t / a, 1.0)
    fall = sustain + (1.0 - sustain) * np.exp(-np.maximum(t - a, 0.0) / max(decay, 1e-4))
    rel = np.clip(1.0 - (t - gate) / max(release, 1e-4), 0.0, 1.0)
    return rise * fall * rel


def band_noise(n: int, sr: int, rng: np.random.Generator, *, low: float, high: float) -> np.ndarray:
    """White noise shaped by smooth 24 dB/octave high- and low-pass edges (FFT filter), unit RMS."""
    x = rng.standard_normal(n)
    if n < 4:
        return x
    f = np.fft.rfftfreq(n, 1.0 / sr)
    f[0] = 1e-3
    mask = 1.0 / (1.0 + (low / f) ** 4) / (1.0 + (f / high) ** 4)
    y = np.fft.irfft(np.fft.rfft(x) * mask, n)
    return y / (np.sqrt(np.mean(y**2)) + 1e-12)


def harmonics(
    phase: np.ndarray, f0: float, sr: int, amp: Callable[[int], np.ndarray | float], *, limit: float
) -> np.ndarray:
    """Sum of ``amp(k) * sin(k * phase)`` for every k with ``k * f0`` under ``limit`` and 0.45 x ``sr``."""
    top = int(min(limit, 0.45 * sr) // max(f0, 1.0))
    s_prev, s = np.zeros_like(phase), np.sin(phase)
    c = 2.0 * np.cos(phase)
    out = np.zeros_like(phase)
    for k in range(1, max(top, 1) + 1):
        out += amp(k) * s
        s_prev, s = s, c * s - s_prev
    return out


def _phase(f0: float, n: int, sr: int, *, vibrato: float = 0.0, rate: float = 5.5, delay: float = 0.2) -> np.ndarray:
    t = np.arange(n) / sr
    if vibrato == 0.0:
        return TWO_PI * f0 * t
    depth = vibrato * np.clip((t - delay) / 0.3, 0.0, 1.0)
    freq = f0 * (1.0 + depth * np.sin(TWO_PI * rate * t))
    return TWO_PI * np.cumsum(freq) / sr


def _n(gate: float, release: float, sr: int) -> int:
    return max(int((gate + release) * sr), 16)


def _norm(x: np.ndarray) -> np.ndarray:
    return x / (np.max(np.abs(x)) + 1e-9)


# --- bass -----------------------------------------------------------------------------


def synth_bass(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.06, sr)
    t = np.arange(n) / sr
    ph = _phase(f0, n, sr)
    cutoff = f0 * (1.5 + 9.0 * vel * np.exp(-t / 0.12))
    saw = harmonics(ph, f0, sr, lambda k: (1.0 / k) / np.sqrt(1.0 + (k * f0 / cutoff) ** 4), limit=min(6000.0, 40 * f0))
    y = _norm(saw + 0.5 * np.sin(ph))
    return y * envelope(n, sr, attack=0.004, decay=0.3, sustain=0.7, gate=gate, release=0.06)


def electric_bass(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.05, sr)
    t = np.arange(n) / sr
    ph = _phase(f0, n, sr)
    y = harmonics(ph, f0, sr, lambda k: k**-1.4 * np.exp(-t * k * (0.6 + 1.2 * (1 - vel))), limit=min(4000.0, 24 * f0))
    thump = band_noise(n, sr, rng, low=60.0, high=900.0) * np.exp(-t / 0.008) * 0.15
    return _norm(y + thump) * envelope(n, sr, attack=0.003, decay=0.9, sustain=0.35, gate=gate, release=0.05)


def upright_bass(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.08, sr)
    t = np.arange(n) / sr
    ph = _phase(f0, n, sr)
    weights = (1.0, 0.45, 0.25, 0.12, 0.06)
    y = sum(
        w * np.sin((k + 1) * ph) * np.exp(-t * (1.2 + 1.5 * k))
        for k, w in enumerate(weights)
        if (k + 1) * f0 < 0.45 * sr
    )
    thump = band_noise(n, sr, rng, low=40.0, high=500.0) * np.exp(-t / 0.015) * 0.3
    return _norm(np.asarray(y) + thump) * envelope(n, sr, attack=0.008, decay=1.0, sustain=0.0, gate=gate, release=0.08)


def sub_bass(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.05, sr)
    t = np.arange(n) / sr
    glide = f0 * (1.0 + 0.06 * np.exp(-t / 0.03))
    ph = TWO_PI * np.cumsum(glide) / sr
    y = np.tanh(1.6 * (np.sin(ph) + 0.15 * np.sin(2 * ph))) / np.tanh(1.6)
    return y * envelope(n, sr, attack=0.004, decay=0.5, sustain=0.85, gate=gate, release=0.05)


# --- instrument (harmony) -------------------------------------------------------------


def electric_piano(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.15, sr)
    t = np.arange(n) / sr
    ph = _phase(f0, n, sr)
    index = (0.6 + 1.6 * vel) * np.exp(-t / 0.35)
    y = np.sin(ph + index * np.sin(ph))
    if 14 * f0 < 0.45 * sr:
        y = (y + 0.12 * vel * np.sin(14 * ph) * np.exp(-t / 0.04)) / (1.0 + 0.12 * vel)
    return y * envelope(n, sr, attack=0.002, decay=1.4, sustain=0.0, gate=gate, release=0.15)


def organ(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.05, sr)
    t = np.arange(n) / sr
    ph = _phase(f0, n, sr)
    bars = ((0.5, 0.5), (1, 1.0), (1.5, 0.4), (2, 0.6), (3, 0.35), (4, 0.25), (6, 0.12))
    y = sum(w * np.sin(r * ph) for r, w in bars if r * f0 < 0.45 * sr)
    tremolo = 1.0 + 0.1 * np.sin(TWO_PI * 5.8 * t)
    return (
        _norm(np.asarray(y))
        * tremolo
        / 1.1
        * envelope(n, sr, attack=0.005, decay=0.1, sustain=1.0, gate=gate, release=0.05)
    )


def _detuned_saws(f0: float, n: int, sr: int, cents: tuple[float, ...], bright: float, vib: float) -> list[np.ndarray]:
    out = []
    for c in cents:
        f = f0 * 2 ** (c / 1200)
        ph = _phase(f, n, sr, vibrato=vib, delay=0.1)
        out.append(
            harmonics(
                ph,
                f,
                sr,
                lambda k, f=f: (1.0 / k) / (1.0 + (k * f / (bright * f0)) ** 2),
                limit=min(5000.0, 5 * bright * f0),
            )
        )
    return out


def pad(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.5, sr)
    left, mid, right = _detuned_saws(f0, n, sr, (-9.0, 0.0, 8.0), 3.0, 0.0)
    env = envelope(n, sr, attack=0.3, decay=0.5, sustain=0.9, gate=gate, release=0.5)
    stereo = np.stack([left + 0.6 * mid, right + 0.6 * mid])
    return stereo / (np.max(np.abs(stereo)) + 1e-9) * env


def strings(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.3, sr)
    left, right = _detuned_saws(f0, n, sr, (-6.0, 5.0), 6.0, 0.004)
    env = envelope(n, sr, attack=0.15, decay=0.4, sustain=0.85, gate=gate, release=0.3)
    stereo = np.stack([left, right])
    return stereo / (np.max(np.abs(stereo)) + 1e-9) * env


def karplus_strong(f0: float, n: int, sr: int, rng: np.random.Generator, *, decay: float, bright: float) -> np.ndarray:
    """Plucked string: a noise burst through a delay line with a 3-tap loss filter and fractional delay.

    The loop ``y[i] = g * (a y[i-N] + b y[i-N-1] + c y[i-N-2])`` reads only samples at least N
    back, so it runs N samples at a time (one numpy step per period, pitch exact to 1e-3).
    """
    period = sr / f0 - 0.5  # the [0.5, 0.5] average adds half a sample of delay
    N = int(np.floor(period))
    frac = period - N
    taps = np.array([0.5 * (1 - frac), 0.5, 0.5 * frac])  # average convolved with linear interpolation
    g = 10 ** (-3 / (decay * f0))  # per-period gain for a `decay` s fall of 60 dB
    y = np.zeros(n + N + 2)
    burst = band_noise(N + 2, sr, rng, low=40.0, high=bright)
    y[: N + 2] = burst / (np.max(np.abs(burst)) + 1e-9)
    pos = N + 2
    while pos < len(y):
        end = min(pos + N, len(y))
        idx = np.arange(pos, end)
        y[pos:end] = g * (taps[0] * y[idx - N] + taps[1] * y[idx - N - 1] + taps[2] * y[idx - N - 2])
        pos = end
    return y[N + 2 : N + 2 + n]


def guitar(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.08, sr)
    y = karplus_strong(f0, n, sr, rng, decay=2.5, bright=2500.0 + 3000.0 * vel)
    return _norm(y) * envelope(n, sr, attack=0.001, decay=10.0, sustain=1.0, gate=gate, release=0.08)


def acoustic_guitar(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.1, sr)
    t = np.arange(n) / sr
    y = karplus_strong(f0, n, sr, rng, decay=1.6, bright=5000.0 + 5000.0 * vel)
    body = band_noise(n, sr, rng, low=90.0, high=400.0) * np.exp(-t / 0.02) * 0.05
    return _norm(y + body) * envelope(n, sr, attack=0.001, decay=10.0, sustain=1.0, gate=gate, release=0.1)


def piano(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.12, sr)
    t = np.arange(n) / sr
    base = 2.2 * (261.6 / f0) ** 0.3
    y = np.zeros(n)
    for k in range(1, 13):
        fk = k * f0 * np.sqrt(1.0 + 0.0004 * k * k)
        if fk >= 0.45 * sr:
            break
        amp = k**-1.1 * np.exp(-k * (1.0 - vel) * 0.35)
        y += amp * np.sin(TWO_PI * fk * t) * np.exp(-t * (1 + 0.45 * k) / base)
    hammer = band_noise(n, sr, rng, low=500.0, high=5000.0) * np.exp(-t / 0.004) * 0.08 * vel
    return _norm(y + hammer) * envelope(n, sr, attack=0.002, decay=10.0, sustain=1.0, gate=gate, release=0.12)


# --- melody ---------------------------------------------------------------------------


def lead_synth(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.08, sr)
    t = np.arange(n) / sr
    ph = _phase(f0, n, sr, vibrato=0.005, rate=5.5, delay=0.15)
    cutoff = f0 * (4.0 + 6.0 * vel * np.exp(-t / 0.2))

    def amp(k: int) -> np.ndarray:
        square = (1.0 / k) if k % 2 else 0.0
        return (square + 0.3 / k) / np.sqrt(1.0 + (k * f0 / cutoff) ** 4)

    y = _norm(harmonics(ph, f0, sr, amp, limit=min(9000.0, 30 * f0)))
    return y * envelope(n, sr, attack=0.008, decay=0.25, sustain=0.8, gate=gate, release=0.08)


def saw_lead(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.08, sr)
    a, b = _detuned_saws(f0, n, sr, (-6.0, 6.0), 8.0, 0.004)
    stereo = np.stack([a + 0.4 * b, b + 0.4 * a])
    env = envelope(n, sr, attack=0.006, decay=0.3, sustain=0.8, gate=gate, release=0.08)
    return stereo / (np.max(np.abs(stereo)) + 1e-9) * env


def flute(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(gate, 0.1, sr)
    ph = _phase(f0, n, sr, vibrato=0.006, rate=5.0, delay=0.2)
    y = np.sin(ph) + 0.3 * np.sin(2 * ph) + 0.1 * np.sin(3 * ph) + 0.04 * np.sin(4 * ph)
    breath = band_noise(n, sr, rng, low=f0 * 2, high=min(f0 * 4, 0.45 * sr)) * 0.02
    y = _norm(_norm(y) + breath)
    return y * envelope(n, sr, attack=0.06, decay=0.3, sustain=0.85, gate=gate, release=0.1)


def bell(f0: float, gate: float, vel: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = _n(max(gate, 0.1), 1.0, sr)
    t = np.arange(n) / sr
    partials = (
        (1.0, 1.0, 1.6),
        (2.0, 0.45, 0.9),
        (2.76, 0.55, 0.7),
        (4.07, 0.25, 0.45),
        (5.4, 0.25, 0.3),
        (8.93, 0.12, 0.15),
    )
    y = sum(a * np.sin(TWO_PI * r * f0 * t) * np.exp(-t / d) for r, a, d in partials if r * f0 < 0.45 * sr)
    fade = np.clip(1.0 - (t - (n / sr - 0.05)) / 0.05, 0.0, 1.0)
    return _norm(np.asarray(y)) * np.minimum(t / 0.001, 1.0) * fade


VOICES: dict[str, Voice] = {
    "synth_bass": synth_bass,
    "electric_bass": electric_bass,
    "upright_bass": upright_bass,
    "sub_bass": sub_bass,
    "electric_piano": electric_piano,
    "organ": organ,
    "pad": pad,
    "strings": strings,
    "guitar": guitar,
    "acoustic_guitar": acoustic_guitar,
    "piano": piano,
    "lead_synth": lead_synth,
    "saw_lead": saw_lead,
    "flute": flute,
    "bell": bell,
}
"""Pitched voices by instrument name (drum kits live in :mod:`training.data.drumkit`)."""
