"""Translate between ``jen.bridge.v1`` messages and the plain specs/rows the server works with."""

from __future__ import annotations

from typing import Any

from bridge.audio_io import FLOAT32, INT24
from bridge.store import SessionRow, TakeRow
from bridge.v1 import bridge_pb2 as pb
from bridge.validate import TimelineSpec, ValidationError, timeline_spec

TASK_NAMES = {
    pb.TASK_UNSPECIFIED: "generate", pb.TASK_GENERATE: "generate", pb.TASK_INPAINT: "inpaint",
    pb.TASK_CONTINUE: "continue", pb.TASK_COMPOSE: "compose",
}
TASK_ENUMS = {"generate": pb.TASK_GENERATE, "inpaint": pb.TASK_INPAINT, "continue": pb.TASK_CONTINUE,
              "compose": pb.TASK_COMPOSE}
FORMAT_NAMES = {pb.SAMPLE_FORMAT_UNSPECIFIED: FLOAT32, pb.SAMPLE_FORMAT_FLOAT32: FLOAT32, pb.SAMPLE_FORMAT_INT24: INT24}
FORMAT_ENUMS = {FLOAT32: pb.SAMPLE_FORMAT_FLOAT32, INT24: pb.SAMPLE_FORMAT_INT24}
_REGION_FIELDS = ("start_ppq", "end_ppq", "start_sample", "end_sample", "start_bar", "end_bar")


def task_name(value: int) -> str:
    if value not in TASK_NAMES:
        raise ValidationError(f"task {value} is unknown: use GENERATE, INPAINT, CONTINUE or COMPOSE")
    return TASK_NAMES[value]


def format_name(value: int) -> str:
    if value not in FORMAT_NAMES:
        raise ValidationError(f"format {value} is unknown: use FLOAT32 or INT24")
    return FORMAT_NAMES[value]


def region_dict(region: pb.Region) -> dict[str, float | int]:
    return {name: getattr(region, name) for name in _REGION_FIELDS if region.HasField(name)}


def timeline_from_proto(msg: pb.Timeline) -> TimelineSpec:
    return timeline_spec(
        bpm=msg.bpm, tempo_map=[(p.ppq, p.bpm) for p in msg.tempo_map],
        numerator=msg.time_signature.numerator, denominator=msg.time_signature.denominator,
        sample_rate=msg.sample_rate, region=region_dict(msg.region),
    )


def timeline_to_proto(spec: TimelineSpec) -> pb.Timeline:
    msg = pb.Timeline(sample_rate=spec.sample_rate,
                      time_signature=pb.TimeSignature(numerator=spec.numerator, denominator=spec.denominator))
    if len(spec.tempo) == 1:
        msg.bpm = spec.tempo[0][1]
    else:
        msg.tempo_map.extend(pb.TempoPoint(ppq=p, bpm=b) for p, b in spec.tempo)
    for name, value in spec.region.items():
        setattr(msg.region, name, value)
    return msg


def plan_to_proto(plan: Any) -> pb.RegionPlan:
    return pb.RegionPlan(
        start_sample=plan.start_sample, end_sample=plan.end_sample, length=plan.length, sample_rate=plan.host_rate,
        start_ppq=float(plan.start_ppq), end_ppq=float(plan.end_ppq), bars=float(plan.bars),
        whole_bars=plan.whole_bars, model_bpm=plan.model_bpm, model_seconds=plan.model_seconds,
    )


def take_to_proto(take: TakeRow, *, path: str, selected: bool) -> pb.Take:
    msg = pb.Take(
        take_id=take.id, session_id=take.session_id, stem=take.stem, job_id=take.job_id, path=path,
        sha256=take.sha256, frames=take.frames, start_sample=take.start_sample, seed=take.seed, prompt=take.prompt,
        created=take.created, selected=selected,
    )
    if take.start_bar is not None and take.end_bar is not None:
        msg.start_bar, msg.end_bar = take.start_bar, take.end_bar
    return msg


def session_to_proto(row: SessionRow, *, selection: dict[str, str]) -> pb.Session:
    spec = TimelineSpec.from_dict(row.timeline)
    msg = pb.Session(session_id=row.id, name=row.name, prompt=row.prompt, stems=list(row.stems),
                     timeline=timeline_to_proto(spec), plan=plan_to_proto(spec.plan()), created=row.created)
    msg.selected.update(selection)
    return msg
