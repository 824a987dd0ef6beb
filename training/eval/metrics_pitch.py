"""Pitch (torchcrepe) and transcription (basic-pitch) figures; both optional.

- ``pitch_in_key``: torchcrepe ('tiny' model, shipped in its wheel) tracks f0 on a monophonic
  stem every 50 ms; the figure is the share of voiced frames (periodicity >= 0.5) whose nearest
  pitch class lies in the asked key's scale (major, or natural minor plus the leading tone); no
  figure when under 10 % of frames are voiced.
- ``notes_in_key``: basic-pitch (its ONNX model, shipped in its wheel, run by onnxruntime)
  transcribes the pitched stems (sum of bass, instrument and melody); the figure is the share of
  note time whose pitch class lies in the scale.

Chance level for a random pitch is 7/12 (major) or 8/12 (minor). Neither package downloads
anything. torchcrepe imports torchaudio only to read files: an empty stand-in module is put in
``sys.modules`` when torchaudio is not installed. torchcrepe loads its shipped weights with
``torch.load(weights_only=True)`` (the restricted loader, no arbitrary unpickling).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import sys
import tempfile
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from training.eval.metrics_key import scale_pitch_classes
from training.eval.signal import analysis_mono, rms_db

CREPE_SR = 16000
BASIC_PITCH_SR = 22050
VOICED = 0.5
MIN_VOICED = 0.1  # share of frames that must be voiced for a pitch figure
GATE_DB = -60.0
_BASIC_PITCH_MODEL: Any = None


def crepe_status() -> str | None:
    """None when torchcrepe can be used, else why not."""
    try:
        _import_crepe()
    except ImportError as exc:
        return f"torchcrepe not installed ({exc}); pip install --no-deps torchcrepe resampy"
    return None


def transcription_status() -> str | None:
    """None when basic-pitch (ONNX) can be used, else why not."""
    try:
        _basic_pitch_model()
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        return f"basic-pitch unavailable ({exc}); pip install --no-deps basic-pitch mir_eval pretty_midi resampy"
    return None


@contextlib.contextmanager
def _quiet_resampy_import() -> Iterator[None]:
    """resampy (imported by torchcrepe and basic-pitch) warns on import that pkg_resources is deprecated."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        yield


def _import_crepe() -> types.ModuleType:
    if "torchaudio" not in sys.modules and importlib.util.find_spec("torchaudio") is None:
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")  # only torchcrepe.load.audio uses it
    with _quiet_resampy_import():
        import torchcrepe

    return torchcrepe


def _basic_pitch_model() -> Any:
    global _BASIC_PITCH_MODEL
    if _BASIC_PITCH_MODEL is None:
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # basic-pitch warns on import about every backend it does not find
        try:
            with _quiet_resampy_import():
                from basic_pitch import FilenameSuffix, build_icassp_2022_model_path
                from basic_pitch.inference import Model
        finally:
            root.setLevel(level)

        path = build_icassp_2022_model_path(FilenameSuffix.onnx)
        if not Path(path).is_file():
            raise OSError(f"basic-pitch's ONNX model is missing at {path}")
        _BASIC_PITCH_MODEL = Model(path)
    return _BASIC_PITCH_MODEL


def crepe_pitch(wav: np.ndarray, sr: int, *, fmin: float = 32.0, fmax: float = 2000.0) -> tuple[np.ndarray, np.ndarray]:
    """wav: [C, L] or [L] -> (f0 Hz [F], periodicity [F]) every 50 ms (torchcrepe 'tiny', CPU)."""
    import torch

    torchcrepe = _import_crepe()
    y = analysis_mono(wav, sr, target_sr=CREPE_SR)
    audio = torch.from_numpy(y)[None]
    with torch.inference_mode():
        f0, periodicity = torchcrepe.predict(
            audio, CREPE_SR, hop_length=CREPE_SR // 20, fmin=fmin, fmax=fmax, model="tiny",
            return_periodicity=True, batch_size=512, device="cpu", pad=True, decoder=torchcrepe.decode.weighted_argmax,
        )  # fmt: skip
        periodicity = torchcrepe.filter.median(periodicity, 3)
    return f0[0].numpy().astype(np.float64), periodicity[0].numpy().astype(np.float64)


def share_in_key(midi: np.ndarray, weights: np.ndarray, key: int) -> float | None:
    """Weighted share of MIDI pitches [N] whose pitch class is in ``key``'s scale; None if no weight."""
    midi, weights = np.asarray(midi, np.float64), np.asarray(weights, np.float64)
    total = float(weights.sum())
    if midi.size == 0 or total <= 0:
        return None
    scale = np.array(sorted(scale_pitch_classes(key)))
    inside = np.isin(np.mod(np.rint(midi).astype(int), 12), scale)
    return float(weights[inside].sum() / total)


def pitch_in_key(wav: np.ndarray, sr: int, *, key: int, fmin: float = 32.0, fmax: float = 2000.0) -> float | None:
    """Share of voiced crepe frames of a monophonic stem [C, L] in ``key``'s scale; None if unvoiced/silent."""
    if rms_db(wav) < GATE_DB:
        return None
    f0, periodicity = crepe_pitch(wav, sr, fmin=fmin, fmax=fmax)
    voiced = (periodicity >= VOICED) & np.isfinite(f0) & (f0 > 0)
    if voiced.mean() < MIN_VOICED:  # a few stray voiced frames say nothing about the key
        return None
    midi = 69.0 + 12.0 * np.log2(f0[voiced] / 440.0)
    return share_in_key(midi, np.ones(midi.size), key)


def transcribe(wav: np.ndarray, sr: int) -> list[tuple[float, float, int]]:
    """wav: [C, L] -> notes [(start s, end s, MIDI pitch)] by basic-pitch's ONNX model."""
    import soundfile as sf

    model = _basic_pitch_model()
    from basic_pitch.inference import predict

    y = analysis_mono(wav, sr, target_sr=BASIC_PITCH_SR)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"
        sf.write(str(path), y, BASIC_PITCH_SR, subtype="FLOAT")
        with contextlib.redirect_stdout(io.StringIO()):  # basic-pitch prints a line per file
            _, _, events = predict(str(path), model)
    return [(float(s), float(e), int(p)) for s, e, p, *_ in events]


def notes_in_key(wav: np.ndarray, sr: int, *, key: int) -> float | None:
    """Share of transcribed note time of ``wav`` [C, L] in ``key``'s scale; None without notes."""
    if rms_db(wav) < GATE_DB:
        return None
    notes = transcribe(wav, sr)
    if not notes:
        return None
    pitches = np.array([p for _, _, p in notes], dtype=np.float64)
    durations = np.array([max(e - s, 0.0) for s, e, _ in notes])
    return share_in_key(pitches, durations, key)
