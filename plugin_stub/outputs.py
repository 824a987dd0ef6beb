"""The output folder a DAW imports from: stem takes as Broadcast-WAVs, the mixdown, and ``takes.json``.

Names say stem, take and bars: ``drums_take2_bars5-13.wav`` is the second drums take of the region from bar 5 up
to (not including) bar 13; a bar-range regeneration adds ``_edit7-9``. Each file is written atomically, and only
after the whole job has been received and verified, so the folder never holds a partial file.

``takes.json`` records the server, the session and every take written (file, stem, take id, start sample, bars,
which take is selected per stem), so later ``compose`` and ``audition`` runs continue where this one stopped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from plugin_stub.atomic import atomic_write_json
from plugin_stub.errors import StubError
from plugin_stub.pcm import quantize
from plugin_stub.project import STEM_NAME, Project
from plugin_stub.receive import ReceivedStem
from plugin_stub.timeline import Clip, click_track, extent, mixdown
from plugin_stub.wav import read_info, write_wav

MANIFEST = "takes.json"
MIXDOWN = "mixdown.wav"
CLICK = "click.wav"
_FORMAT = "jen-stub-takes/1"


def bar_label(bar: Fraction) -> str:
    """``5`` for whole bars, ``5.5`` otherwise (filenames never hold a ``/``)."""
    return str(bar.numerator) if bar.denominator == 1 else f"{float(bar):.3f}".rstrip("0")


def stem_filename(stem: str, take: int, bars: tuple[Fraction, Fraction], edit: tuple[int, int] | None = None) -> str:
    if not STEM_NAME.match(stem):
        raise StubError(f"the server sent a stem named {stem[:40]!r}, which is not a safe file name")
    name = f"{stem}_take{take}_bars{bar_label(bars[0])}-{bar_label(bars[1])}"
    if edit is not None:
        name += f"_edit{edit[0]}-{edit[1]}"
    return name + ".wav"


@dataclass
class TakeFile:
    """One written take, as recorded in ``takes.json``."""

    file: str
    stem: str
    take: int
    take_id: str
    session_id: str
    start_sample: int
    frames: int
    sample_rate: int
    bit_depth: int
    bars: list[str]
    edit_bars: list[int] | None = None


class OutputFolder:
    """An output folder and its manifest. Nothing is created on disk until the first :meth:`write_takes`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise StubError(f"output folder {self.path} is a file: pick a folder")
        self.server = ""
        self.session_id = ""
        self.takes: list[TakeFile] = []
        self.selected: dict[str, str] = {}  # stem -> take id
        manifest = self.path / MANIFEST
        if manifest.is_file():
            try:
                data = json.loads(manifest.read_text())
                if data.get("format") != _FORMAT:
                    raise ValueError(f"format {data.get('format')!r}")
                self.server, self.session_id = data["server"], data["session_id"]
                self.takes = [TakeFile(**t) for t in data["takes"]]
                self.selected = dict(data["selected"])
            except (ValueError, KeyError, TypeError) as exc:
                raise StubError(f"{manifest} is damaged ({exc}): move it away to start a new folder") from None

    # ------------------------------------------------------------------ takes

    def next_take(self, stem: str) -> int:
        return 1 + max((t.take for t in self.takes if t.stem == stem), default=0)

    def by_id(self, take_id: str) -> TakeFile | None:
        return next((t for t in self.takes if t.take_id == take_id), None)

    def write_takes(self, stems: Sequence[ReceivedStem], project: Project, *, session_id: str, server: str,
                    edit: tuple[int, int] | None = None) -> list[TakeFile]:
        """Write verified stems at the project's rate and bit depth, each with ``bext`` = its start sample."""
        bars = project.region_bars()
        plans: list[tuple[ReceivedStem, int, str]] = []
        numbers: dict[str, int] = {}
        for s in stems:  # every name is checked before anything is written
            if s.sample_rate != project.sample_rate:
                raise StubError(f"stem {s.stem} is at {s.sample_rate} Hz, the project at {project.sample_rate} Hz")
            if s.take_id and self.by_id(s.take_id) is not None:
                continue
            numbers[s.stem] = numbers.get(s.stem, self.next_take(s.stem) - 1) + 1
            plans.append((s, numbers[s.stem], stem_filename(s.stem, numbers[s.stem], bars, edit)))
        for s, number, name in plans:
            audio = quantize(s.audio, project.bit_depth)
            write_wav(self.path / name, audio, sample_rate=s.sample_rate, bit_depth=project.bit_depth,
                      time_reference=s.start_sample, description=f"{project.name}: {s.stem} take {number}")
            self.takes.append(TakeFile(
                file=name, stem=s.stem, take=number, take_id=s.take_id, session_id=session_id,
                start_sample=s.start_sample, frames=int(audio.shape[1]), sample_rate=s.sample_rate,
                bit_depth=project.bit_depth, bars=[bar_label(b) for b in bars], edit_bars=list(edit) if edit else None))
        self.server, self.session_id = server, session_id
        return [t for s in stems for t in self.takes if t.take_id == s.take_id]

    def select(self, takes: Sequence[TakeFile], *, replace: bool = False) -> None:
        if replace:
            self.selected = {}
        for t in takes:
            self.selected[t.stem] = t.take_id

    def save(self) -> None:
        atomic_write_json(self.path / MANIFEST, {
            "format": _FORMAT, "server": self.server, "session_id": self.session_id,
            "takes": [asdict(t) for t in self.takes], "selected": self.selected,
        })

    # ------------------------------------------------------------------ playback material

    def take_clip(self, take: TakeFile) -> Clip:
        """A written take as the DAW imports it: its audio at the position its ``bext`` reference says."""
        import soundfile as sf

        path = self.path / take.file
        if not path.is_file():
            raise StubError(f"take file {path} is missing: generate it again")
        info = read_info(path)
        audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
        return Clip(take.file, int(info.time_reference or 0), np.ascontiguousarray(audio.T))

    def selected_clips(self) -> list[Clip]:
        clips = []
        for stem, take_id in sorted(self.selected.items()):
            take = self.by_id(take_id)
            if take is None:
                raise StubError(f"the selected {stem} take {take_id} has no file in {self.path}: generate it again")
            clips.append(self.take_clip(take))
        return clips

    def write_mixdown(self, project: Project) -> dict[str, Any]:
        """Write ``mixdown.wav`` (32-bit float): every track plus the selected takes, summed at their positions.

        It covers the timeline from the first clip (or the region, if earlier) to the last clip's end, and its
        ``bext`` reference says where it starts. With ``"click": true`` a click at the host tempo is mixed in and
        also written as ``click.wav`` (same span).
        """
        clips = [Clip(t.name, t.start_sample, t.audio * np.float32(t.gain)) for t in project.selection.tracks]
        clips += self.selected_clips()
        first, last = extent(clips) if clips else project.region_samples
        start, end = min(first, project.region_samples[0]), max(last, project.region_samples[1])
        mix = mixdown(clips, start=start, end=end)
        if project.click:
            click = click_track(project.transport, start, end)
            write_wav(self.path / CLICK, click, sample_rate=project.sample_rate, bit_depth=32, time_reference=start)
            mix += click
        write_wav(self.path / MIXDOWN, mix, sample_rate=project.sample_rate, bit_depth=32, time_reference=start,
                  description=f"{project.name}: mixdown")
        return {"file": MIXDOWN, "start_sample": start, "frames": end - start,
                "peak": float(np.abs(mix).max()) if mix.size else 0.0}
