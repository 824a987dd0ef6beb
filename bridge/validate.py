"""Check every request field and turn requests into plain specs; each refusal says what to fix.

Nothing here touches gRPC: the servicer and the OSC server both build their specs with these functions and
map :class:`ValidationError` to INVALID_ARGUMENT (gRPC) or ``/jen/job/error`` (OSC).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.audio_io import FORMATS
from bridge.store import ContextRow, SessionRow, TakeRow
from jen_core.errors import JenError

HOST_RATES = (44100, 48000, 88200, 96000)
BPM_RANGE = (20.0, 400.0)
DENOMINATORS = (1, 2, 4, 8, 16, 32)
MAX_PROMPT_CHARS = 1000
MAX_NAME_CHARS = 200
MAX_TEMPO_POINTS = 1024
MAX_STEPS = 1000
DEFAULT_CHUNK_FRAMES = 8192
CHUNK_FRAMES_RANGE = (256, 65536)
MAX_UPLOAD_SECONDS = 300.0  # per context track; 5 min of 96 kHz stereo float32 is 230 MB on disk
MAX_POSITION = 2**40  # samples; about 290 days at 96 kHz
TASKS = ("generate", "inpaint", "continue", "compose")
MIX = "mix"
_STEM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class ValidationError(JenError):
    """A request field is invalid; the message names the field and says what to fix."""


@dataclass(frozen=True)
class ModelInfo:
    """What validation needs to know about the loaded pipeline."""

    name: str
    stems: tuple[str, ...]
    max_seconds: float
    sample_rate: int


@dataclass(frozen=True)
class TimelineSpec:
    """Host tempo map, time signature, host rate and region, as checked plain values."""

    tempo: tuple[tuple[float, float], ...]  # (ppq, bpm), first point at ppq 0
    numerator: int
    denominator: int
    sample_rate: int
    region: Mapping[str, float | int] = field(default_factory=dict)  # start_ppq/end_ppq/start_sample/.../end_bar

    def to_dict(self) -> dict[str, Any]:
        return {"tempo": [list(p) for p in self.tempo], "numerator": self.numerator, "denominator": self.denominator,
                "sample_rate": self.sample_rate, "region": dict(self.region)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimelineSpec:
        return cls(tuple((float(p), float(b)) for p, b in data["tempo"]), int(data["numerator"]),
                   int(data["denominator"]), int(data["sample_rate"]), dict(data["region"]))

    def tempo_map(self) -> Any:
        from bridge.tempo import TempoMap

        return TempoMap.from_pairs(list(self.tempo))

    def time_signature(self) -> Any:
        from bridge.tempo import TimeSignature

        return TimeSignature(self.numerator, self.denominator)

    def plan(self) -> Any:
        """The exact region plan (``bridge.tempo.RegionPlan``); ValidationError when the region is unusable."""
        from bridge.tempo import plan_region

        try:
            return plan_region(tempo_map=self.tempo_map(), time_signature=self.time_signature(),
                               host_rate=self.sample_rate, **dict(self.region))
        except ValidationError:
            raise
        except JenError as exc:
            raise ValidationError(f"timeline.region: {exc}") from exc

    def with_region(self, region: Mapping[str, float | int]) -> TimelineSpec:
        return replace(self, region=dict(region))

    def bar_ppq(self, bar: int) -> float:
        """PPQ of the start of 1-based ``bar`` (one time signature for the whole timeline)."""
        return (bar - 1) * self.numerator * 4.0 / self.denominator


@dataclass(frozen=True)
class JobSpec:
    """One checked unit of model work, as the worker runs it."""

    job_id: str
    task: str  # one of TASKS, or "regenerate"
    prompt: str
    stems: tuple[str, ...]  # stems this job produces
    seed: int
    steps: int | None
    sampler: str | None
    key: str | None
    fmt: str
    chunk_frames: int
    timeline: TimelineSpec
    plan: Any  # bridge.tempo.RegionPlan
    session_id: str
    new_session: bool = False
    session_name: str = ""
    context: Mapping[str, ContextRow] = field(default_factory=dict)  # stem -> uploaded track
    inpaint: tuple[int, int] | None = None  # absolute host samples [start, end)
    keep: Mapping[str, TakeRow] = field(default_factory=dict)  # stems kept fixed (compose conditioning)
    base: Mapping[str, TakeRow] = field(default_factory=dict)  # current takes of the stems being edited
    bars: tuple[int, int] | None = None  # regenerate only these 1-based bars [start, end)


# ---------------------------------------------------------------------- field checks


def finite(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise ValidationError(f"{name} is not a finite number: send a real value")
    return float(value)


def check_bpm(bpm: float, name: str) -> float:
    finite(bpm, name)
    if not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
        raise ValidationError(f"{name} {bpm:g} is outside {BPM_RANGE[0]:g}-{BPM_RANGE[1]:g}: send the host tempo in BPM")
    return float(bpm)


def check_rate(rate: int, name: str = "timeline.sample_rate") -> int:
    if rate not in HOST_RATES:
        allowed = ", ".join(str(r) for r in HOST_RATES)
        raise ValidationError(f"{name} {rate} is not supported: use one of {allowed} Hz")
    return int(rate)


def check_prompt(prompt: str, name: str = "prompt") -> str:
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValidationError(f"{name} has {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}: shorten it")
    if "\x00" in prompt:
        raise ValidationError(f"{name} contains a NUL character: remove it")
    return prompt


def check_stems(stems: Sequence[str], model: ModelInfo, *, name: str = "stems", allow_mix: bool = True) -> tuple[str, ...]:
    """Empty -> all model stems; otherwise known names, no duplicates; ``mix`` only alone."""
    if not stems:
        return model.stems
    allowed = (*model.stems, MIX) if allow_mix else model.stems
    seen: list[str] = []
    for stem in stems:
        if stem not in allowed:
            shown = stem if _STEM_NAME.match(stem or "") else repr(stem[:40])
            raise ValidationError(f"{name}: unknown stem {shown}: use {', '.join(allowed)}")
        if stem in seen:
            raise ValidationError(f"{name}: stem {stem} is listed twice: list each stem once")
        seen.append(stem)
    if MIX in seen and len(seen) > 1:
        raise ValidationError(f"{name}: 'mix' is a single full-mix track: ask for it alone")
    return tuple(seen)


def check_steps(steps: int) -> int | None:
    if steps == 0:
        return None
    if not 1 <= steps <= MAX_STEPS:
        raise ValidationError(f"steps {steps} is outside 1-{MAX_STEPS}: send 0 for the model's default")
    return int(steps)


def check_chunk_frames(frames: int) -> int:
    if frames == 0:
        return DEFAULT_CHUNK_FRAMES
    lo, hi = CHUNK_FRAMES_RANGE
    if not lo <= frames <= hi:
        raise ValidationError(f"chunk_frames {frames} is outside {lo}-{hi}: send 0 for the default {DEFAULT_CHUNK_FRAMES}")
    return int(frames)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError(f"format {fmt!r} is not supported: use {' or '.join(FORMATS)}")
    return fmt


def check_seed(seed: int) -> int:
    if not 0 <= seed < 2**63:
        raise ValidationError(f"seed {seed} is out of range: use 0 to 2**63-1")
    return int(seed)


# ---------------------------------------------------------------------- timeline


def timeline_spec(*, bpm: float, tempo_map: Sequence[tuple[float, float]], numerator: int, denominator: int,
                  sample_rate: int, region: Mapping[str, float | int]) -> TimelineSpec:
    """Check raw timeline values (0 / empty mean "not given") and build a :class:`TimelineSpec`."""
    if tempo_map:
        if bpm:
            raise ValidationError("timeline has both bpm and tempo_map: send one (leave bpm 0 with a tempo map)")
        if len(tempo_map) > MAX_TEMPO_POINTS:
            raise ValidationError(f"timeline.tempo_map has {len(tempo_map)} points; the limit is {MAX_TEMPO_POINTS}")
        points: list[tuple[float, float]] = []
        for i, (ppq, point_bpm) in enumerate(tempo_map):
            finite(ppq, f"timeline.tempo_map[{i}].ppq")
            check_bpm(point_bpm, f"timeline.tempo_map[{i}].bpm")
            if i == 0 and ppq != 0:
                raise ValidationError("timeline.tempo_map[0].ppq must be 0: start the tempo map at the project start")
            if points and ppq <= points[-1][0]:
                raise ValidationError(f"timeline.tempo_map[{i}].ppq {ppq:g} does not increase: sort the points by position")
            points.append((float(ppq), float(point_bpm)))
        tempo = tuple(points)
    else:
        if bpm == 0:
            raise ValidationError("timeline.bpm is missing: send the host tempo (20-400 BPM) or a tempo_map")
        tempo = ((0.0, check_bpm(bpm, "timeline.bpm")),)
    numerator = numerator or 4
    denominator = denominator or 4
    if not 1 <= numerator <= 32:
        raise ValidationError(f"timeline.time_signature.numerator {numerator} is outside 1-32")
    if denominator not in DENOMINATORS:
        raise ValidationError(f"timeline.time_signature.denominator {denominator} must be one of 1, 2, 4, 8, 16, 32")
    if sample_rate == 0:
        raise ValidationError("timeline.sample_rate is missing: send the host sample rate")
    check_rate(sample_rate)
    clean: dict[str, float | int] = {}
    for key, value in region.items():
        if key.endswith("_ppq"):
            clean[key] = finite(float(value), f"timeline.region.{key}")
            if clean[key] < 0:
                raise ValidationError(f"timeline.region.{key} {value:g} is negative: regions start at or after ppq 0")
        elif key.endswith("_sample"):
            if not 0 <= int(value) <= MAX_POSITION:
                raise ValidationError(f"timeline.region.{key} {value} is outside 0-{MAX_POSITION}: send a host sample frame")
            clean[key] = int(value)
        elif key.endswith("_bar"):
            if not 1 <= int(value) <= 100_000:
                raise ValidationError(f"timeline.region.{key} {value} is outside 1-100000: bars are numbered from 1")
            clean[key] = int(value)
    if not clean:
        raise ValidationError("timeline.region is missing: give start and end in ppq, bars or samples")
    for unit in ("ppq", "sample", "bar"):
        s, e = clean.get(f"start_{unit}"), clean.get(f"end_{unit}")
        if (s is None) != (e is None):
            raise ValidationError(f"timeline.region: give both start_{unit} and end_{unit}")
        if s is not None and e is not None and e <= s:
            raise ValidationError(f"timeline.region.end_{unit} {e} is not after start_{unit} {s}: swap or widen them")
    return TimelineSpec(tempo, int(numerator), int(denominator), int(sample_rate), clean)


def check_plan_fits(plan: Any, model: ModelInfo) -> None:
    """The model is asked for whole bars at the region tempo: refuse more seconds than it can make."""
    if plan.length <= 0:
        raise ValidationError("timeline.region is empty: make the end later than the start")
    if plan.model_seconds > model.max_seconds + 1e-9:
        raise ValidationError(
            f"timeline.region needs {plan.model_seconds:.2f} s of audio ({plan.whole_bars} whole bars at "
            f"{plan.model_bpm:.2f} BPM); the model's maximum is {model.max_seconds:.2f} s: shorten the region"
        )


# ---------------------------------------------------------------------- context tracks and sessions


def check_context(rows: Mapping[str, ContextRow], *, task: str, plan: Any, timeline: TimelineSpec,
                  model: ModelInfo) -> None:
    """Uploaded tracks must sit where the task needs them, at the host rate."""
    for stem, row in rows.items():
        where = f"context track {row.id} ({stem})"
        if row.sample_rate != timeline.sample_rate:
            raise ValidationError(f"{where} is at {row.sample_rate} Hz but the host rate is {timeline.sample_rate} Hz: "
                                  "upload it at the host rate")
        if task in ("inpaint", "compose"):
            if row.start_sample != plan.start_sample or row.frames != plan.length:
                raise ValidationError(
                    f"{where} covers samples {row.start_sample}-{row.start_sample + row.frames} but the region is "
                    f"{plan.start_sample}-{plan.end_sample} ({plan.length} frames): upload exactly the region")
        elif task == "continue":
            if row.start_sample + row.frames != plan.start_sample:
                raise ValidationError(
                    f"{where} ends at sample {row.start_sample + row.frames} but the region starts at "
                    f"{plan.start_sample}: upload the audio just before the region")
            if row.frames / row.sample_rate > model.max_seconds:
                raise ValidationError(f"{where} is {row.frames / row.sample_rate:.1f} s; at most {model.max_seconds:.1f} s "
                                      "of audio can be continued: upload a shorter tail")


def check_task_shape(*, task: str, stems: tuple[str, ...], context: Mapping[str, ContextRow],
                     inpaint: tuple[int, int] | None, plan: Any) -> None:
    if task == "generate" and context:
        raise ValidationError("context tracks are only used by inpaint, continue and compose: drop them or set task")
    if task in ("inpaint", "continue"):
        if len(context) != 1:
            raise ValidationError(f"task {task} needs exactly one context track (the audio to {task}); got {len(context)}")
        if stems != tuple(context):
            raise ValidationError(f"task {task} produces the context track's stem {next(iter(context))}: "
                                  "leave stems empty or send that one stem")
    if task == "compose":
        if not context:
            raise ValidationError("task compose needs context tracks of the stems to keep: upload them first")
        both = sorted(set(stems) & set(context))
        if both:
            raise ValidationError(f"stems {', '.join(both)} are both kept (context) and generated: list each once")
        if MIX in stems or MIX in context:
            raise ValidationError("task compose works on separate stems, not 'mix'")
    if task == "inpaint":
        if inpaint is None:
            raise ValidationError("task inpaint needs `inpaint`: the part of the region to regenerate")
        s, e = inpaint
        if not plan.start_sample <= s < e <= plan.end_sample:
            raise ValidationError(f"inpaint range {s}-{e} must lie inside the region {plan.start_sample}-{plan.end_sample}")
    elif inpaint is not None:
        raise ValidationError("`inpaint` is only used by task inpaint: drop it or set task to inpaint")


def check_bar_range(*, start_bar: int, end_bar: int, timeline: TimelineSpec, plan: Any) -> tuple[int, int]:
    if end_bar <= start_bar:
        raise ValidationError(f"end_bar {end_bar} is not after start_bar {start_bar}: bars are [start, end)")
    lo, hi = timeline.bar_ppq(start_bar), timeline.bar_ppq(end_bar)
    if lo < plan.start_ppq - 1e-9 or hi > plan.end_ppq + 1e-9:
        first = 1 + plan.start_ppq * timeline.denominator / (4.0 * timeline.numerator)
        last = 1 + plan.end_ppq * timeline.denominator / (4.0 * timeline.numerator)
        raise ValidationError(f"bars {start_bar}-{end_bar} are outside the session region (bars {first:g}-{last:g}): "
                              "pick bars inside it")
    return start_bar, end_bar


def session_timeline(session: SessionRow) -> TimelineSpec:
    return TimelineSpec.from_dict(session.timeline)


def takes_for_keep(*, session: SessionRow, selection: Mapping[str, TakeRow], keep: Sequence[TakeRow],
                   regenerate: tuple[str, ...]) -> dict[str, TakeRow]:
    """Takes kept fixed: the selection for every stem not regenerated, overridden by explicit ``keep``."""
    kept = {stem: take for stem, take in selection.items() if stem not in regenerate}
    for take in keep:
        if take.session_id != session.id:
            raise ValidationError(f"take {take.id} belongs to session {take.session_id}, not {session.id}")
        if take.stem in regenerate:
            raise ValidationError(f"take {take.id} is a {take.stem} take but {take.stem} is being regenerated: "
                                  "keep it or regenerate it, not both")
        kept[take.stem] = take
    return kept

