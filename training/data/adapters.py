"""Import Slakh2100 and MUSDB18-HQ into the stem-folder format (`jen data import`).

* Slakh2100: ``TrackNNNNN/{MIX.flac, stems/SNN.flac, metadata.yaml[, all_src.mid]}``; each
  rendered source stem goes to a stem by its ``inst_class`` (:data:`SLAKH_CLASS_TO_STEM`), stems
  of one class are summed, a stem with no source is written silent; tempo and meter come from
  ``all_src.mid`` when present.
* MUSDB18-HQ: ``[train|test/]<Artist - Title>/{mixture,drums,bass,other,vocals}.wav``;
  vocals -> melody, other -> instrument.

Output: ``OUT/<track>/{bass,drums,instrument,melody}.flac`` (24-bit, stereo, ``sample_rate``)
+ ``meta.json``; the loader recomputes the mix as the stems' sum. When the summed stems
would clip, every stem gets the same gain, so relative levels are kept.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from jen_core.errors import JenError
from training.data.audio import read_audio, resample, to_stereo
from training.data.midi import read_tempo_and_meter
from training.data.stems import SongProblem, StemDataWarning
from training.data.symbolic import STEMS

LAYOUTS = ("slakh", "musdb")
SLAKH_CLASS_TO_STEM: dict[str, str] = {
    "Bass": "bass",
    "Drums": "drums",
    "Percussive": "drums",
    "Piano": "instrument",
    "Chromatic Percussion": "instrument",
    "Organ": "instrument",
    "Guitar": "instrument",
    "Strings": "instrument",
    "Strings (continued)": "instrument",
    "Synth Pad": "instrument",
    "Synth Effects": "instrument",
    "Ethnic": "instrument",
    "Sound Effects": "instrument",
    "Sound effects": "instrument",
    "Synth Lead": "melody",
    "Brass": "melody",
    "Reed": "melody",
    "Pipe": "melody",
}
"""Slakh ``inst_class`` -> stem; classes not listed go to ``instrument``; ``is_drum: true`` is always drums."""
MUSDB_TO_STEM = {"bass": "bass", "drums": "drums", "other": "instrument", "vocals": "melody"}


@dataclass
class ImportResult:
    out_dir: Path
    imported: list[str] = field(default_factory=list)
    problems: list[SongProblem] = field(default_factory=list)


# --- tiny YAML reader (PyYAML is used when installed) ----------------------------------


def _scalar(text: str) -> Any:
    text = text.strip()
    if not text or text in ("~", "null", "Null", "NULL"):
        return None
    if text[0] in "'\"" and text[-1] == text[0] and len(text) >= 2:
        return text[1:-1]
    if text in ("true", "True", "TRUE", "yes"):
        return True
    if text in ("false", "False", "FALSE", "no"):
        return False
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_simple_yaml(text: str) -> dict[str, Any]:
    """Nested ``key: value`` mappings by indentation (comments, blank lines and list items are skipped)."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith(("#", "-", "---")):
            continue
        indent = len(line) - len(line.lstrip())
        key, sep, value = line.strip().partition(":")
        if not sep:
            continue
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        key = str(_scalar(key))
        if value.strip():
            parent[key] = _scalar(value)
        else:
            child: dict[str, Any] = {}
            parent[key] = child
            stack.append((indent, child))
    return root


def load_yaml(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        import yaml
    except ModuleNotFoundError:
        return parse_simple_yaml(text)
    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else {}


# --- shared writing --------------------------------------------------------------------


def _write_song(folder: Path, stems: dict[str, np.ndarray], meta: dict[str, Any], sample_rate: int) -> None:
    """``stems``: {stem: float32 [2, n]} (all four, equal length)."""
    arr = np.stack([stems[s] for s in STEMS])
    top = max(float(np.max(np.abs(arr.sum(axis=0)))), float(np.max(np.abs(arr))), 1e-9)
    if top > 0.99:
        arr *= np.float32(0.99 / top)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, x in zip(STEMS, arr, strict=True):
        sf.write(str(folder / f"{stem}.flac"), x.T, sample_rate, subtype="PCM_24", format="FLAC")
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _load(path: Path, sample_rate: int | None) -> tuple[np.ndarray, int]:
    x, sr = read_audio(path)
    x = to_stereo(x)
    if sample_rate is not None and sr != sample_rate:
        return resample(x, sr, sample_rate), sample_rate
    return x, sr


def _sum_to(arrays: list[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((2, length), dtype=np.float32)
    for a in arrays:
        n = min(length, a.shape[1])
        out[:, :n] += a[:, :n]
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --- Slakh2100 --------------------------------------------------------------------------


def _slakh_track(track: Path, out: Path, sample_rate: int | None) -> str:
    meta_yaml = load_yaml(track / "metadata.yaml")
    sources = meta_yaml.get("stems")
    if not isinstance(sources, dict) or not sources:
        raise ValueError("metadata.yaml lists no stems")
    audio_dir = track / str(meta_yaml.get("audio_dir") or "stems")
    grouped: dict[str, list[np.ndarray]] = {s: [] for s in STEMS}
    names: dict[str, list[str]] = {s: [] for s in STEMS}
    rate: int | None = None
    for sid, info in sorted(sources.items()):
        info = info if isinstance(info, dict) else {}
        if info.get("audio_rendered") is False:
            continue
        files = [audio_dir / f"{sid}{ext}" for ext in (".flac", ".wav") if (audio_dir / f"{sid}{ext}").is_file()]
        if not files:
            raise ValueError(f"stem {sid} ({info.get('inst_class', '?')}) has no audio file in {audio_dir.name}/")
        stem = "drums" if info.get("is_drum") else SLAKH_CLASS_TO_STEM.get(str(info.get("inst_class")), "instrument")
        x, sr = _load(files[0], sample_rate)
        if rate not in (None, sr):
            raise ValueError(f"stem {sid} is at {sr} Hz, others at {rate} Hz")
        rate = sr
        grouped[stem].append(x)
        label = str(info.get("midi_program_name") or info.get("inst_class") or sid)
        if label not in names[stem]:
            names[stem].append(label)
    if rate is None:
        raise ValueError("no rendered stem audio")
    length = max(a.shape[1] for arrs in grouped.values() for a in arrs)
    stems = {s: _sum_to(grouped[s], length) for s in STEMS}
    bpm, meter = read_tempo_and_meter(track / "all_src.mid")
    present = [n.lower() for s in STEMS for n in names[s]]
    meta: dict[str, Any] = {
        "caption": f"a multi-instrument arrangement with {_join(present)}" + (f" at {round(bpm)} BPM" if bpm else ""),
        "instruments": {s: names[s] for s in STEMS},
        "source": f"slakh2100:{track.name}",
        "caption_source": "template",
    }
    if bpm:
        meta["bpm"] = round(bpm, 3)
    if meter:
        meta["time_signature"] = f"{meter[0]}/{meter[1]}"
    _write_song(out / track.name, stems, meta, rate)
    return track.name


# --- MUSDB18-HQ -------------------------------------------------------------------------


def _musdb_track(track: Path, out: Path, sample_rate: int | None) -> str:
    stems: dict[str, np.ndarray] = {}
    rate: int | None = None
    for src, stem in MUSDB_TO_STEM.items():
        path = track / f"{src}.wav"
        if not path.is_file():
            raise ValueError(f"missing {src}.wav")
        x, sr = _load(path, sample_rate)
        if rate not in (None, sr):
            raise ValueError(f"{src}.wav is at {sr} Hz, others at {rate} Hz")
        rate = sr
        stems[stem] = x
    assert rate is not None
    lengths = {x.shape[1] for x in stems.values()}
    if len(lengths) > 1:
        raise ValueError(f"stem lengths differ ({sorted(lengths)} samples)")
    artist, _, title = track.name.partition(" - ")
    who = f"{title.strip()} by {artist.strip()}" if title else track.name
    meta = {
        "caption": f"{who}: a song with vocals, bass, drums and other instruments",
        "instruments": {"bass": ["bass"], "drums": ["drums"], "instrument": ["other"], "melody": ["vocals"]},
        "source": f"musdb18hq:{track.parent.name}/{track.name}",
        "caption_source": "template",
    }
    name = re.sub(r"[^\w\-. ]+", "_", track.name).strip() or "track"
    _write_song(out / name, stems, meta, rate)
    return name


# --- entry point ------------------------------------------------------------------------

_FINDERS: dict[str, tuple[str, Callable[[Path, Path, int | None], str]]] = {
    "slakh": ("metadata.yaml", _slakh_track),
    "musdb": ("mixture.wav", _musdb_track),
}


def import_dataset(
    layout: str,
    src: str | Path,
    out: str | Path,
    *,
    sample_rate: int | None = 48000,
    strict: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> ImportResult:
    """Convert every track of a Slakh2100 (``layout="slakh"``) or MUSDB18-HQ (``"musdb"``) folder.

    A track that cannot be converted is reported by name and skipped (warning), or raises
    :class:`JenError` with ``strict=True``. ``sample_rate=None`` keeps the source rate.
    """
    if layout not in _FINDERS:
        raise JenError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise JenError(f"source folder {src} does not exist")
    marker, convert = _FINDERS[layout]
    tracks = sorted({p.parent for p in src.rglob(marker)})
    if not tracks:
        raise JenError(f"no {layout} tracks under {src} (looked for */{marker})")
    out.mkdir(parents=True, exist_ok=True)
    result = ImportResult(out_dir=out)
    for i, track in enumerate(tracks):
        try:
            result.imported.append(convert(track, out, sample_rate))
        except (ValueError, OSError, RuntimeError, sf.LibsndfileError) as exc:
            problem = SongProblem(track.name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            if strict:
                raise JenError(f"cannot import {layout} track {problem}") from exc
            result.problems.append(problem)
            warnings.warn(f"skipping {layout} track {problem}", StemDataWarning, stacklevel=2)
        if progress:
            progress(i + 1, len(tracks), track.name)
    return result
