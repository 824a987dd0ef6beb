"""The JSON project description ``jen-stub`` plays the DAW from (format: plugin_stub/README.md).

Loading checks everything a DAW would know before talking to the server: the tempo map and meter, the host rate
and bit depth, every track file (exists, readable, at the host rate), the region (not empty, inside the song).
Each problem is one :class:`StubError` line that names the key or file. Unknown keys are errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from plugin_stub.errors import StubError
from plugin_stub.pcm import BIT_DEPTHS, FLOAT32, INT24
from plugin_stub.protocol import pb
from plugin_stub.receive import ExpectedRegion
from plugin_stub.selection import Region, Selection, Track
from plugin_stub.transport import HostTransport, TempoMap, TimeSignature, check_rate, exact, wire_exact

TASKS = ("generate", "compose", "continue", "inpaint")
STEM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_KEYS = {"format", "name", "sample_rate", "bit_depth", "tempo", "tempo_map", "time_signature", "length_bars", "tracks",
         "region", "prompt", "stems", "seed", "steps", "task", "inpaint", "key", "chunk_frames", "transport", "click",
         "continue_seconds"}
_TRACK_KEYS = {"name", "file", "stem", "start_bar", "start_ppq", "start_sample", "gain"}


@dataclass
class Project:
    """A loaded, checked project. ``region_samples`` is the region in host samples, computed by the stub itself."""

    path: Path
    name: str
    transport: HostTransport
    selection: Selection
    bit_depth: int
    prompt: str = ""
    stems: list[str] = field(default_factory=list)
    seed: int = 0
    steps: int = 0
    task: str = "generate"
    inpaint: Region | None = None
    song_end_ppq: Fraction | None = None
    chunk_frames: int = 0
    key: str = ""
    click: bool = False
    continue_seconds: Fraction = Fraction(10)
    region_samples: tuple[int, int] = (0, 0)

    @property
    def region(self) -> Region:
        return self.selection.region

    @property
    def sample_rate(self) -> int:
        return self.transport.sample_rate

    @property
    def wire_format(self) -> int:
        """Ask for int24 chunks for 24-bit files (no requantization), float32 otherwise."""
        return pb.SAMPLE_FORMAT_INT24 if self.bit_depth == 24 else pb.SAMPLE_FORMAT_FLOAT32

    @property
    def wire_format_name(self) -> str:
        return INT24 if self.bit_depth == 24 else FLOAT32

    def expected(self) -> ExpectedRegion:
        return ExpectedRegion(*self.region_samples, sample_rate=self.sample_rate)

    def region_bars(self) -> tuple[Fraction, Fraction]:
        return self.region.bars(self.transport)

    def timeline(self) -> pb.Timeline:
        """The ``jen.bridge.v1.Timeline`` of this project: tempo map, meter, rate, region in PPQ and samples."""
        t = self.transport
        msg = pb.Timeline(sample_rate=t.sample_rate, time_signature=pb.TimeSignature(
            numerator=t.time_signature.numerator, denominator=t.time_signature.denominator))
        msg.tempo_map.extend(pb.TempoPoint(ppq=float(c.ppq), bpm=float(c.bpm)) for c in t.tempo_map.changes)
        start, end = self.region_samples
        msg.region.start_ppq, msg.region.end_ppq = float(self.region.start_ppq), float(self.region.end_ppq)
        msg.region.start_sample, msg.region.end_sample = start, end
        return msg


def _take(data: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, where: str) -> Any:
    if key not in data:
        return default
    value = data.pop(key)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise StubError(f"{where}: {key} has the wrong type ({type(value).__name__}): see plugin_stub/README.md")
    return value


def _no_extra(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise StubError(f"{where}: unknown key {extra[0]!r}: the known keys are {', '.join(sorted(allowed))}")


def _time_signature(value: Any, where: str) -> TimeSignature:
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*/\s*\d+\s*", value):
        num, den = (int(v) for v in value.split("/"))
    elif isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        num, den = value
    else:
        raise StubError(f"{where}: time_signature must look like \"7/8\" or [7, 8], got {value!r}")
    try:
        return TimeSignature(num, den)
    except StubError as exc:
        raise StubError(f"{where}: {exc}") from None


def _tempo_map(raw: dict[str, Any], ts: TimeSignature, where: str) -> TempoMap:
    tempo, points = raw.pop("tempo", None), raw.pop("tempo_map", None)
    if (tempo is None) == (points is None):
        raise StubError(f"{where}: give either tempo (BPM) or tempo_map, not {'both' if tempo is not None else 'neither'}")
    try:
        if tempo is not None:
            return TempoMap.constant(tempo)
        if not isinstance(points, list) or not points:
            raise StubError("tempo_map must be a non-empty list of [ppq, bpm] or {\"ppq\"|\"bar\": .., \"bpm\": ..}")
        pairs = []
        for i, p in enumerate(points):
            if isinstance(p, list) and len(p) == 2:
                pairs.append((p[0], p[1]))
            elif isinstance(p, dict) and "bpm" in p and len(p) == 2 and ("ppq" in p or "bar" in p):
                pairs.append((p["ppq"] if "ppq" in p else ts.bar_to_ppq(p["bar"]), p["bpm"]))
            else:
                raise StubError(f"tempo_map[{i}] must be [ppq, bpm] or {{\"ppq\"|\"bar\": .., \"bpm\": ..}}, got {p!r}")
        return TempoMap.from_pairs(pairs)
    except StubError as exc:
        raise StubError(f"{where}: {exc}") from None


def _position(data: dict[str, Any], prefix: str, transport: HostTransport, where: str, *,
              samples: bool = False) -> Fraction | int | None:
    """A position given as ``{prefix}_bar`` or ``{prefix}_ppq`` (-> exact PPQ) or ``{prefix}_sample`` (-> int)."""
    given = [k for k in (f"{prefix}_bar", f"{prefix}_ppq", f"{prefix}_sample") if k in data]
    if len(given) > 1:
        raise StubError(f"{where}: give one of {', '.join(given)}, not several")
    if not given:
        return None
    key = given[0]
    value = data.pop(key)
    if key.endswith("_sample"):
        if not samples:
            raise StubError(f"{where}: {key} is not accepted here: give {prefix}_bar or {prefix}_ppq")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise StubError(f"{where}: {key} must be a whole sample number >= 0, got {value!r}")
        return value
    try:
        if key.endswith("_bar"):
            return wire_exact(transport.time_signature.bar_to_ppq(value), key)
        return wire_exact(value, key)
    except StubError as exc:
        raise StubError(f"{where}: {exc}") from None


def _region(value: Any, transport: HostTransport, where: str) -> Region:
    if not isinstance(value, dict):
        raise StubError(f"{where}: must be an object like {{\"start_bar\": 5, \"end_bar\": 9}}")
    data = dict(value)
    start = _position(data, "start", transport, where)
    end = _position(data, "end", transport, where)
    _no_extra(data, {"start_bar", "start_ppq", "end_bar", "end_ppq"}, where)
    if start is None or end is None:
        raise StubError(f"{where}: give start_bar/start_ppq and end_bar/end_ppq")
    assert isinstance(start, Fraction) and isinstance(end, Fraction)
    if start < 0:
        raise StubError(f"{where}: starts at ppq {start}, before the project start")
    return Region(start, end)


def _track(value: Any, index: int, transport: HostTransport, base: Path) -> Track:
    where = f"tracks[{index}]"
    if not isinstance(value, dict):
        raise StubError(f"{where} must be an object with name, file and a start position")
    data = dict(value)
    name = _take(data, "name", str, f"track {index + 1}", where)
    where = f"track {name!r}"
    file = _take(data, "file", str, None, where)
    if file is None:
        raise StubError(f"{where}: file is missing: name the track's audio file")
    stem = _take(data, "stem", str, None, where)
    if stem is not None and not STEM_NAME.match(stem):
        raise StubError(f"{where}: stem {stem!r} must be a lower-case stem name such as bass or drums")
    gain = float(exact(_take(data, "gain", (int, float, str), 1.0, where), f"{where} gain"))
    pos = _position(data, "start", transport, where, samples=True)
    _no_extra(data, _TRACK_KEYS, where)
    start = 0 if pos is None else (pos if isinstance(pos, int) else transport.sample_at(pos))
    path = (base / file).resolve()
    if not path.is_file():
        raise StubError(f"{where}: audio file {path} does not exist")
    import soundfile as sf

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        raise StubError(f"{where}: cannot read audio file {path}: {' '.join(str(exc).split())}") from None
    if rate != transport.sample_rate:
        raise StubError(f"{where}: {path.name} is at {rate} Hz but the project runs at {transport.sample_rate} Hz: "
                        "resample the file or change sample_rate")
    if audio.shape[1] not in (1, 2) or audio.shape[0] == 0:
        raise StubError(f"{where}: {path.name} has {audio.shape[1]} channels and {audio.shape[0]} frames: "
                        "use a non-empty mono or stereo file")
    if not np.isfinite(audio).all():
        raise StubError(f"{where}: {path.name} holds NaN or infinite samples")
    return Track(name=name, audio=np.ascontiguousarray(audio.T), start_sample=start, stem=stem, gain=gain)


def load_project(path: str | Path) -> Project:
    """Read and check a project JSON file (track files are resolved relative to it)."""
    path = Path(path)
    where = path.name
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StubError(f"project file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StubError(f"cannot read project file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise StubError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(raw, dict):
        raise StubError(f"{where} must hold a JSON object")
    raw = dict(raw)
    _no_extra(raw, _KEYS, where)
    version = raw.pop("format", "jen-stub-project/1")
    if version != "jen-stub-project/1":
        raise StubError(f"{where}: format {version!r} is not supported: use \"jen-stub-project/1\"")
    if "sample_rate" not in raw:
        raise StubError(f"{where}: sample_rate is missing: give the host rate (44100, 48000, 88200 or 96000)")
    try:
        rate = check_rate(raw.pop("sample_rate"))
    except StubError as exc:
        raise StubError(f"{where}: {exc}") from None
    bit_depth = _take(raw, "bit_depth", int, 24, where)
    if bit_depth not in BIT_DEPTHS:
        raise StubError(f"{where}: bit_depth {bit_depth} must be 16, 24 (integer PCM) or 32 (float)")
    ts = _time_signature(raw.pop("time_signature", "4/4"), where)
    transport = HostTransport(tempo_map=_tempo_map(raw, ts, where), time_signature=ts, sample_rate=rate)
    if "region" not in raw:
        raise StubError(f"{where}: region is missing: give {{\"start_bar\": .., \"end_bar\": ..}}")
    region = _region(raw.pop("region"), transport, f"{where}: region")
    length_bars = raw.pop("length_bars", None)
    song_end = None
    if length_bars is not None:
        bars = exact(length_bars, f"{where}: length_bars")
        if bars <= 0:
            raise StubError(f"{where}: length_bars {bars} must be a positive number of bars")
        song_end = ts.bar_to_ppq(bars + 1)
    region_samples = region.check(transport, song_end_ppq=song_end)

    tracks_raw = _take(raw, "tracks", list, [], where)
    tracks = [_track(t, i, transport, path.parent) for i, t in enumerate(tracks_raw)]
    stems = _take(raw, "stems", list, [], where)
    for s in stems:
        if not isinstance(s, str) or not (STEM_NAME.match(s)):
            raise StubError(f"{where}: stems entry {s!r} must be a lower-case stem name such as drums")
    task = _take(raw, "task", str, "generate", where)
    if task not in TASKS:
        raise StubError(f"{where}: task {task!r} is unknown: use {', '.join(TASKS)}")
    inpaint = None
    if "inpaint" in raw:
        inpaint = _region(raw.pop("inpaint"), transport, f"{where}: inpaint")
        if not region.start_ppq <= inpaint.start_ppq < inpaint.end_ppq <= region.end_ppq:
            raise StubError(f"{where}: inpaint must be a non-empty range inside the region")
    project = Project(
        path=path, name=_take(raw, "name", str, path.stem, where), transport=transport,
        selection=Selection(tracks=tracks, region=region), bit_depth=bit_depth,
        prompt=_take(raw, "prompt", str, "", where), stems=stems, seed=_take(raw, "seed", int, 0, where),
        steps=_take(raw, "steps", int, 0, where), task=task, inpaint=inpaint, song_end_ppq=song_end,
        chunk_frames=_take(raw, "chunk_frames", int, 0, where), key=_take(raw, "key", str, "", where),
        click=_take(raw, "click", bool, False, where),
        continue_seconds=exact(raw.pop("continue_seconds", 10), f"{where}: continue_seconds"),
        region_samples=region_samples,
    )
    if project.continue_seconds <= 0:
        raise StubError(f"{where}: continue_seconds must be positive")
    _transport_settings(raw.pop("transport", {}), project, where)
    _check_task(project, where)
    assert not raw, raw
    return project


def _transport_settings(value: Any, project: Project, where: str) -> None:
    """``transport``: where the playhead sits and the loop (used by ``jen-stub audition``); default: the region."""
    if not isinstance(value, dict):
        raise StubError(f"{where}: transport must be an object like {{\"playhead_bar\": 5, \"loop\": {{...}}}}")
    data, t = dict(value), project.transport
    here = f"{where}: transport"
    playhead = _position(data, "playhead", t, here, samples=True)
    loop = data.pop("loop", None)
    _no_extra(data, {"playhead_bar", "playhead_ppq", "playhead_sample", "loop"}, here)
    if playhead is None:
        t.locate_ppq(project.region.start_ppq)
    elif isinstance(playhead, int):
        t.locate_sample(playhead)
    else:
        t.locate_ppq(playhead)
    if loop is not None:
        span = _region(loop, t, f"{here}.loop")
        a, b = span.samples(t)
        t.set_loop(a, b)


def _check_task(project: Project, where: str) -> None:
    stems = project.selection.stems()
    if project.task == "generate":
        return
    if project.task == "compose" and not stems:
        raise StubError(f"{where}: task compose needs tracks with a \"stem\" to keep: mark the tracks to send")
    if project.task in ("continue", "inpaint") and len(stems) != 1:
        raise StubError(f"{where}: task {project.task} works on the tracks of one stem; the tracks stand for "
                        f"{len(stems)} stems ({', '.join(stems) or 'none'}): set \"stem\" on the tracks to send")
    if project.task == "inpaint" and project.inpaint is None:
        raise StubError(f"{where}: task inpaint needs \"inpaint\": the part of the region to regenerate")
