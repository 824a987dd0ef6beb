"""Synthesised drum kits of the built-in renderer: kick, snare, hats, clap, ride, crash, rim, shaker.

A kit is made once per song (noise drawn from the song's rng) as mono one-shots keyed by
General MIDI drum note, each with a pan position; voices a kit lacks fall back to a
neighbour (a clap on the acoustic kit is the snare, and so on).
"""

from __future__ import annotations

import numpy as np

from training.data.styles import CLAP, CRASH, HAT, KICK, OPEN_HAT, RIDE, RIM, SHAKER, SNARE
from training.data.timbres import TWO_PI, band_noise

Kit = dict[int, tuple[np.ndarray, float]]  # GM note -> (mono one-shot [n], pan -1..1)


def _t(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr)) / sr


def kick(sr: int, rng: np.random.Generator, *, f_start: float, f_end: float, sweep: float, decay: float) -> np.ndarray:
    t = _t(min(6 * decay, 1.5), sr)
    freq = f_end + (f_start - f_end) * np.exp(-t / sweep)
    body = np.sin(TWO_PI * np.cumsum(freq) / sr) * np.exp(-t / decay)
    click = band_noise(len(t), sr, rng, low=1500.0, high=9000.0) * np.exp(-t / 0.002) * 0.25
    y = body + click
    return y / np.max(np.abs(y))


def snare(sr: int, rng: np.random.Generator, *, tone: float, noise_decay: float, low: float, high: float) -> np.ndarray:
    t = _t(6 * noise_decay, sr)
    body = (np.sin(TWO_PI * tone * t) + 0.5 * np.sin(TWO_PI * 1.75 * tone * t)) * np.exp(-t / 0.06)
    rattle = band_noise(len(t), sr, rng, low=low, high=high) * np.exp(-t / noise_decay) * 0.35
    y = 0.6 * body + rattle
    return y / np.max(np.abs(y))


def metal(sr: int, rng: np.random.Generator, *, seconds: float, decay: float, scale: float, low: float) -> np.ndarray:
    """808-style cymbal: six detuned square waves plus noise, high-passed."""
    t = _t(seconds, sr)
    sq = sum(
        np.sign(np.sin(TWO_PI * f * scale * t + rng.uniform(0, TWO_PI)))
        for f in (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)
    )
    raw = np.asarray(sq) / 6.0 + 0.2 * rng.standard_normal(len(t))
    f = np.fft.rfftfreq(len(t), 1.0 / sr)
    f[0] = 1e-3
    spec = np.fft.rfft(raw) / (1.0 + (low / f) ** 4) / (1.0 + (f / 16000.0) ** 4)
    y = np.fft.irfft(spec, len(t)) * np.exp(-t / decay)
    return y / np.max(np.abs(y))


def hat(sr: int, rng: np.random.Generator, *, decay: float, low: float = 7000.0) -> np.ndarray:
    t = _t(max(6 * decay, 0.05), sr)
    y = band_noise(len(t), sr, rng, low=low, high=16000.0) * np.exp(-t / decay)
    return y / np.max(np.abs(y))


def clap(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.35, sr)
    env = np.exp(-t / 0.12) * 0.6
    for offset in (0.0, 0.011, 0.022, 0.031):
        env = np.maximum(env, (t >= offset) * np.exp(-np.maximum(t - offset, 0) / 0.006))
    y = band_noise(len(t), sr, rng, low=900.0, high=3500.0) * env
    return y / np.max(np.abs(y))


def rim(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.06, sr)
    y = (
        np.sin(TWO_PI * 1700.0 * t) * np.exp(-t / 0.008)
        + band_noise(len(t), sr, rng, low=2000.0, high=8000.0) * np.exp(-t / 0.004) * 0.5
    )
    return y / np.max(np.abs(y))


def shaker(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.12, sr)
    env = np.minimum(t / 0.012, 1.0) * np.exp(-t / 0.035)
    y = band_noise(len(t), sr, rng, low=5000.0, high=13000.0) * env
    return y / np.max(np.abs(y))


def make_kit(name: str, sr: int, rng: np.random.Generator) -> Kit:
    """One-shots and pans for ``drum_kit``, ``electronic_kit`` or ``jazz_kit`` (relative levels applied)."""
    if name == "electronic_kit":
        k = kick(sr, rng, f_start=110.0, f_end=47.0, sweep=0.05, decay=0.45)
        s = snare(sr, rng, tone=200.0, noise_decay=0.12, low=1200.0, high=10000.0)
        h = metal(sr, rng, seconds=0.12, decay=0.025, scale=1.0, low=7000.0)
        oh = metal(sr, rng, seconds=0.6, decay=0.18, scale=1.0, low=6000.0)
        ride_, crash_ = (
            metal(sr, rng, seconds=1.2, decay=0.5, scale=1.4, low=5000.0),
            metal(sr, rng, seconds=1.8, decay=0.7, scale=1.0, low=4000.0),
        )
    elif name == "jazz_kit":
        k = kick(sr, rng, f_start=95.0, f_end=55.0, sweep=0.03, decay=0.18)
        s = snare(sr, rng, tone=210.0, noise_decay=0.18, low=500.0, high=6000.0)
        h = hat(sr, rng, decay=0.02, low=1500.0)
        oh = hat(sr, rng, decay=0.25)
        ride_, crash_ = (
            metal(sr, rng, seconds=1.0, decay=0.3, scale=1.9, low=3000.0),
            metal(sr, rng, seconds=2.0, decay=0.9, scale=1.2, low=3000.0),
        )
    else:
        k = kick(sr, rng, f_start=130.0, f_end=52.0, sweep=0.035, decay=0.28)
        s = snare(sr, rng, tone=185.0, noise_decay=0.14, low=1000.0, high=9000.0)
        h = hat(sr, rng, decay=0.035)
        oh = hat(sr, rng, decay=0.3, low=6000.0)
        ride_, crash_ = (
            metal(sr, rng, seconds=1.2, decay=0.5, scale=1.6, low=4000.0),
            hat(sr, rng, decay=0.9, low=3500.0),
        )
    levels = {KICK: 1.0, SNARE: 0.75, HAT: 0.32, OPEN_HAT: 0.3, RIDE: 0.3, CRASH: 0.4}
    kit: Kit = {
        KICK: (k * levels[KICK], 0.0),
        SNARE: (s * levels[SNARE], 0.05),
        HAT: (h * levels[HAT], 0.3),
        OPEN_HAT: (oh * levels[OPEN_HAT], 0.3),
        RIDE: (ride_ * levels[RIDE], -0.35),
        CRASH: (crash_ * levels[CRASH], -0.25),
        RIM: (rim(sr, rng) * 0.45, 0.05),
        SHAKER: (shaker(sr, rng) * 0.25, 0.4),
        CLAP: (clap(sr, rng) * 0.7 if name == "electronic_kit" else s * levels[SNARE], 0.0),
    }
    return kit
