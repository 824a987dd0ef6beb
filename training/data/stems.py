"""The stem-folder format: a scanner that validates songs and a loader of aligned segments.

On disk (users' own stems, ``jen data synth`` and ``jen data import`` output)::

    ROOT/<song>/{bass,drums,instrument,melody}.{wav,flac}   all four required
    ROOT/<song>/mix.{wav,flac}                               optional
    ROOT/<song>/meta.json  {"caption": ..., "bpm", "key", "time_signature", "instruments", "genre"|"style"}

Every file of a song must share one sample rate and one length (mono or stereo). A bad song
is reported by name and skipped with a :class:`StemDataWarning`, or refused with a
:class:`~jen_core.errors.JenError` when ``strict=True``; it is never silently trained on.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from jen_core.errors import JenError
from training.data.audio import apply_loudness, fit_length, read_audio, resample, to_stereo
from training.data.symbolic import STEMS, Meter

AUDIO_EXTENSIONS = (".wav", ".flac")
LOUDNESS_MODES = ("stem", "mix", "none")


class StemDataWarning(UserWarning):
    """A song folder was skipped because it is incomplete or misaligned."""


@dataclass(frozen=True)
class SongInfo:
    """A validated song folder: one file per stem (``"mix"`` too when present), shared rate and length."""

    name: str
    path: Path
    files: dict[str, Path]
    sample_rate: int
    frames: int
    meta: dict[str, Any]

    @property
    def caption(self) -> str:
        return str(self.meta["caption"])

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class SongProblem:
    name: str
    problem: str

    def __str__(self) -> str:
        return f"{self.name}: {self.problem}"


@dataclass
class ScanReport:
    root: Path
    songs: list[SongInfo] = field(default_factory=list)
    problems: list[SongProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """Human-readable report: counts, total duration, one line per bad song."""
        hours = sum(s.duration for s in self.songs) / 3600.0
        rates = sorted({s.sample_rate for s in self.songs})
        lines = [
            f"{self.root}: {len(self.songs)} good song(s), {len(self.problems)} bad, "
            f"{hours * 60:.1f} min of audio" + (f" at {', '.join(f'{r} Hz' for r in rates)}" if rates else "")
        ]
        lines += [f"  BAD {p}" for p in self.problems]
        return "\n".join(lines)


def _stem_file(folder: Path, stem: str) -> tuple[Path | None, str | None]:
    found = [folder / f"{stem}{ext}" for ext in AUDIO_EXTENSIONS if (folder / f"{stem}{ext}").is_file()]
    if len(found) > 1:
        return None, f"two files for stem {stem} ({', '.join(p.name for p in found)}); keep one"
    return (found[0] if found else None), None


def _check_meta(folder: Path) -> tuple[dict[str, Any], list[str]]:
    path = folder / "meta.json"
    if not path.is_file():
        return {}, ["missing meta.json (needs at least a caption)"]
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, [f"meta.json is not valid JSON ({exc})"]
    if not isinstance(meta, dict):
        return {}, ["meta.json must hold a JSON object"]
    problems = []
    if not isinstance(meta.get("caption"), str) or not meta["caption"].strip():
        problems.append("meta.json has no caption")
    bpm = meta.get("bpm")
    if bpm is not None and (isinstance(bpm, bool) or not isinstance(bpm, int | float) or not bpm > 0):
        problems.append(f"meta.json bpm must be a positive number, got {bpm!r}")
    ts = meta.get("time_signature")
    if ts is not None and _parse_meter(ts) is None:
        problems.append(f"meta.json time_signature must look like '4/4', got {ts!r}")
    return meta, problems


def _parse_meter(value: object) -> Meter | None:
    if not isinstance(value, str) or value.count("/") != 1:
        return None
    num, den = value.split("/")
    if not (num.strip().isdigit() and den.strip().isdigit()) or int(num) < 1 or int(den) not in (1, 2, 4, 8, 16, 32):
        return None
    return Meter(int(num), int(den))


def check_song(folder: str | Path) -> SongInfo | SongProblem:
    """Validate one song folder; every problem found is listed in the :class:`SongProblem`."""
    folder = Path(folder)
    name = folder.name
    problems: list[str] = []
    files: dict[str, Path] = {}
    missing = []
    for stem in (*STEMS, "mix"):
        path, problem = _stem_file(folder, stem)
        if problem:
            problems.append(problem)
        elif path is not None:
            files[stem] = path
        elif stem != "mix":
            missing.append(stem)
    if missing:
        problems.append(f"missing stem(s): {', '.join(missing)} (need {', '.join(STEMS)} as .wav or .flac)")
    infos: dict[str, tuple[int, int]] = {}
    for stem, path in files.items():
        try:
            info = sf.info(str(path))
            if info.frames > 0:
                sf.read(str(path), start=max(info.frames - 8, 0), frames=8)  # decodes to the end?
        except (RuntimeError, sf.LibsndfileError, ValueError) as exc:
            problems.append(f"cannot read {path.name} ({str(exc).splitlines()[0]})")
            continue
        if info.frames == 0:
            problems.append(f"{path.name} is empty")
        elif info.channels not in (1, 2):
            problems.append(f"{path.name} has {info.channels} channels (need mono or stereo)")
        else:
            infos[stem] = (int(info.samplerate), int(info.frames))
    rates = {sr for sr, _ in infos.values()}
    if len(rates) > 1:
        problems.append("sample rates differ (" + ", ".join(f"{s} {sr} Hz" for s, (sr, _) in infos.items()) + ")")
    lengths = {n for _, n in infos.values()}
    if len(lengths) > 1:
        problems.append("lengths differ (" + ", ".join(f"{s} {n}" for s, (_, n) in infos.items()) + " samples)")
    meta, meta_problems = _check_meta(folder)
    problems += meta_problems
    if problems:
        return SongProblem(name, "; ".join(problems))
    sr, frames = next(iter(infos.values()))
    return SongInfo(name=name, path=folder, files=files, sample_rate=sr, frames=frames, meta=meta)


def _is_song_folder(path: Path) -> bool:
    return any((path / f"{s}{ext}").is_file() for s in STEMS for ext in AUDIO_EXTENSIONS)


def scan_stem_folders(root: str | Path, *, strict: bool = False, warn: bool = True) -> ScanReport:
    """Check every song folder under ``root`` (or ``root`` itself when it is one song).

    Bad songs are listed in ``report.problems`` and warned about (:class:`StemDataWarning`);
    with ``strict=True`` the first bad song raises :class:`JenError` naming it and the problem.
    """
    root = Path(root)
    if not root.is_dir():
        raise JenError(f"dataset folder {root} does not exist")
    if _is_song_folder(root):
        folders = [root]
    else:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not folders:
        raise JenError(f"no song folders in {root} (expected {root}/<song>/{{{','.join(STEMS)}}}.wav + meta.json)")
    report = ScanReport(root=root)
    for folder in folders:
        result = check_song(folder)
        if isinstance(result, SongProblem):
            report.problems.append(result)
        else:
            report.songs.append(result)
    if report.problems and strict:
        first = report.problems[0]
        more = (
            f" (and {len(report.problems) - 1} more bad song(s); run `jen data check {root}`)"
            if len(report.problems) > 1
            else ""
        )
        raise JenError(f"bad song {first.name}: {first.problem}{more}")
    if warn:
        for p in report.problems:
            warnings.warn(f"skipping song {p.name}: {p.problem}", StemDataWarning, stacklevel=2)
    return report


class StemDataset:
    """Aligned random segments of every stem of every good song under ``root``.

    Item ``i`` is ``{"audio": float32 tensor [5, 2, L], "caption": str, "meta": dict, "name": str,
    "start": float seconds}`` with stems in order bass, drums, instrument, melody, mix and
    ``L = round(segment_seconds * sample_rate)``. All stems share the same start and end;
    audio is resampled to ``sample_rate`` (soxr) and made stereo; shorter songs are zero-padded.
    ``loudness="stem"`` brings every non-silent stem to ``target_db`` RMS (the Composer
    paper's consistent relative loudness before encoding), ``"mix"`` scales all stems by one
    gain so their sum hits ``target_db`` (keeps the original balance), ``"none"`` leaves levels
    and uses ``mix.*`` when present. Otherwise the mix is recomputed as the sum of the stems.
    The segment depends only on ``(seed, epoch, index)``; ``snap_to_downbeat`` starts it on a
    bar line from meta ``bpm``, ``time_signature`` and ``downbeat_s`` (default 0).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        segment_seconds: float = 10.0,
        sample_rate: int = 48000,
        seed: int = 0,
        snap_to_downbeat: bool = False,
        loudness: str = "stem",
        target_db: float = -23.0,
        strict: bool = False,
    ) -> None:
        if loudness not in LOUDNESS_MODES:
            raise JenError(f"unknown loudness mode {loudness!r}; choose one of {', '.join(LOUDNESS_MODES)}")
        if not segment_seconds > 0:
            raise JenError(f"segment length must be positive, got {segment_seconds}")
        self.report = scan_stem_folders(root, strict=strict)
        if not self.report.songs:
            raise JenError(f"no usable songs in {root}; run `jen data check {root}`")
        self.songs = self.report.songs
        self.segment = int(round(segment_seconds * sample_rate))
        self.sample_rate = sample_rate
        self.seed = seed
        self.epoch = 0
        self.snap_to_downbeat = snap_to_downbeat
        self.loudness = loudness
        self.target_db = target_db

    def __len__(self) -> int:
        return len(self.songs)

    def set_epoch(self, epoch: int) -> None:
        """Draw other segments for the next pass (deterministic per epoch)."""
        self.epoch = int(epoch)

    def segment_start(self, index: int) -> float:
        """Start of item ``index``'s segment in seconds."""
        song = self.songs[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        seg = self.segment / self.sample_rate
        room = song.duration - seg
        if room <= 0:
            return 0.0
        meter = _parse_meter(song.meta.get("time_signature"))
        bpm = song.meta.get("bpm")
        if self.snap_to_downbeat and meter is not None and isinstance(bpm, int | float) and bpm > 0:
            bar = meter.bar_seconds(float(bpm))
            first = float(song.meta.get("downbeat_s") or 0.0)
            bars = int(math.floor((song.duration - seg - first) / bar + 1e-9))
            if bars >= 0:
                return first + bar * int(rng.integers(bars + 1))
        return int(rng.integers(int(room * song.sample_rate) + 1)) / song.sample_rate

    def load_segment(self, index: int) -> tuple[np.ndarray, float]:
        """Float32 ``[5, 2, L]`` (stems + mix, before loudness normalisation) and the start in seconds."""
        song = self.songs[index]
        start_s = self.segment_start(index)
        start = int(round(start_s * song.sample_rate))
        frames = math.ceil(self.segment * song.sample_rate / self.sample_rate)
        names = [*STEMS, "mix"] if "mix" in song.files and self.loudness == "none" else list(STEMS)
        out = []
        for stem in names:
            x, sr = read_audio(song.files[stem], start=start, frames=frames)
            x = resample(to_stereo(x), sr, self.sample_rate)
            out.append(fit_length(x, self.segment))
        arr = np.stack(out).astype(np.float32)
        if len(names) == len(STEMS):
            arr = np.concatenate([arr, arr.sum(axis=0, keepdims=True)])
        return arr, start_s

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        if not 0 <= index < len(self):
            raise IndexError(index)
        arr, start = self.load_segment(index)
        arr = apply_loudness(arr, self.loudness, target_db=self.target_db)
        song = self.songs[index]
        return {
            "audio": torch.from_numpy(np.ascontiguousarray(arr)),
            "caption": song.caption,
            "meta": dict(song.meta),
            "name": song.name,
            "start": start,
        }


def collate_stems(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """DataLoader ``collate_fn``: ``audio`` [B, 5, 2, L]; captions, metas, names as lists; starts as a tensor."""
    import torch

    return {
        "audio": torch.stack([b["audio"] for b in batch]),
        "caption": [b["caption"] for b in batch],
        "meta": [b["meta"] for b in batch],
        "name": [b["name"] for b in batch],
        "start": torch.tensor([b["start"] for b in batch], dtype=torch.float64),
    }
