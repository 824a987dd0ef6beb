"""Optional pitch (torchcrepe) and transcription (basic-pitch) figures (training/eval/metrics_pitch.py)."""

from __future__ import annotations

import numpy as np
import pytest

from jen_core.conditioning import parse_key
from training.eval import metrics_pitch as mp

SR = 48000
C_MAJOR = parse_key("C major")


def melody(midis: list[int], *, note_s: float = 0.4) -> np.ndarray:
    """Monophonic sine-ish line (3 harmonics), one note per ``note_s``: [2, L]."""
    t = np.arange(int(note_s * SR)) / SR
    env = np.minimum(t / 0.01, 1.0) * np.minimum((note_s - t) / 0.02, 1.0)
    notes = []
    for m in midis:
        f = 440.0 * 2 ** ((m - 69) / 12)
        notes.append(env * sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3)))
    x = (np.concatenate(notes) * 0.2).astype(np.float32)
    return np.stack([x, x])


def test_share_in_key_counts_weights() -> None:
    assert mp.share_in_key(np.array([60, 61, 62]), np.array([1.0, 1.0, 2.0]), C_MAJOR) == pytest.approx(0.75)
    assert mp.share_in_key(np.zeros(0), np.zeros(0), C_MAJOR) is None


def test_crepe_pitch_in_key_of_scale_and_chromatic_lines() -> None:
    why = mp.crepe_status()
    if why:
        pytest.skip(why)
    assert mp.pitch_in_key(melody([60, 62, 64, 65, 67, 69, 71, 72]), SR, key=C_MAJOR, fmin=100.0) == 1.0
    assert mp.pitch_in_key(melody([61, 63, 66, 68, 70, 73]), SR, key=C_MAJOR, fmin=100.0) <= 0.1
    assert mp.pitch_in_key(np.zeros((2, SR), np.float32), SR, key=C_MAJOR) is None
    f0, _ = mp.crepe_pitch(melody([69] * 4), SR, fmin=100.0)
    assert np.median(f0) == pytest.approx(440.0, rel=0.02)


def test_basic_pitch_notes_in_key() -> None:
    why = mp.transcription_status()
    if why:
        pytest.skip(why)
    notes = mp.transcribe(melody([60, 64, 67, 72], note_s=0.5), SR)
    assert {p for _, _, p in notes} >= {60, 64, 67, 72}
    assert mp.notes_in_key(melody([60, 64, 67, 72], note_s=0.5), SR, key=C_MAJOR) >= 0.9
    assert mp.notes_in_key(melody([61, 66, 70], note_s=0.5), SR, key=C_MAJOR) <= 0.2
