"""Built-in renderer: symbolic parts -> stereo stems with numpy only (no system packages).

Pitched parts use :data:`training.data.timbres.VOICES`, the drum part a kit from
:mod:`training.data.drumkit`; parts are placed with a constant-power pan and the harmony
and melody get a short synthetic room. Stems come back un-normalised; the dataset writer
balances and scales them (:func:`training.data.synth.balance`).
"""

from __future__ import annotations

import numpy as np

from training.data.drumkit import make_kit
from training.data.styles import SNARE
from training.data.symbolic import Part, SymbolicSong
from training.data.timbres import VOICES, band_noise

_TAIL_SECONDS = 2.0


def pan_gains(pan: float) -> np.ndarray:
    """Constant-power gains ``[2]`` for a pan position in -1 (left) .. 1 (right)."""
    angle = (float(np.clip(pan, -1.0, 1.0)) + 1.0) * np.pi / 4.0
    return np.array([np.cos(angle), np.sin(angle)])


def midi_hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def _add(buf: np.ndarray, sig: np.ndarray, start: int, gains: np.ndarray) -> None:
    if start >= buf.shape[1]:
        return
    n = min(sig.shape[-1], buf.shape[1] - start)
    if sig.ndim == 1:
        buf[:, start : start + n] += gains[:, None] * sig[None, :n]
    else:
        buf[:, start : start + n] += gains[:, None] * np.sqrt(2.0) * sig[:, :n]


def render_part(part: Part, *, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One stem ``[2, length + tail]`` float64 (the caller trims the release tail)."""
    buf = np.zeros((2, length + int(_TAIL_SECONDS * sample_rate)))
    if part.stem == "drums":
        kit = make_kit(part.instrument, sample_rate, rng)
        for note in part.notes:
            shot, pan = kit.get(note.pitch, kit[SNARE])
            gain = (note.velocity / 127.0) ** 1.3
            _add(buf, shot * gain, int(round(note.onset * sample_rate)), pan_gains(pan + part.pan))
        return buf
    voice = VOICES[part.instrument]
    gains = pan_gains(part.pan)
    for note in part.notes:
        vel = note.velocity / 127.0
        sig = voice(midi_hz(note.pitch), max(note.duration, 0.02), vel, sample_rate, rng)
        _add(buf, sig * (0.35 + 0.65 * vel), int(round(note.onset * sample_rate)), gains)
    return buf


def room(x: np.ndarray, sample_rate: int, rng: np.random.Generator, *, decay: float, wet: float) -> np.ndarray:
    """A small decorrelated stereo room: ``x`` [2, n] convolved with exponentially decaying noise."""
    n_ir = int(4 * decay * sample_rate)
    t = np.arange(n_ir) / sample_rate
    n = x.shape[1] + n_ir
    nfft = 1 << (n - 1).bit_length()
    out = np.empty_like(x)
    for ch in range(2):
        ir = band_noise(n_ir, sample_rate, rng, low=250.0, high=7000.0) * np.exp(-t / decay) * (t > 0.012)
        ir /= np.sqrt(np.sum(ir**2)) + 1e-12
        conv = np.fft.irfft(np.fft.rfft(x[ch], nfft) * np.fft.rfft(ir, nfft), nfft)[: x.shape[1]]
        out[ch] = (1.0 - wet) * x[ch] + wet * conv
    return out


def render_builtin(song: SymbolicSong, *, sample_rate: int = 48000, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Render every part of ``song``: ``{stem: float64 [2, L]}`` with ``L = round(duration * sample_rate)``."""
    length = int(round(song.duration * sample_rate))
    stems: dict[str, np.ndarray] = {}
    for part in song.parts:
        buf = render_part(part, length=length, sample_rate=sample_rate, rng=rng)
        if part.stem in ("instrument", "melody"):
            buf = room(buf, sample_rate, rng, decay=float(rng.uniform(0.15, 0.35)), wet=float(rng.uniform(0.12, 0.3)))
        stems[part.stem] = buf[:, :length]
    return stems
