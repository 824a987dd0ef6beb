"""What the model worker does for one job: call the pipeline, align each stem to the host, write and record takes.

Per stem, in order: the model-rate audio is kept as a WAV (conditioning for later co-composition), the stem is
aligned with :func:`bridge.tempo.align_to_host` (exact region start and length at the host rate), quantized to
the wire format, written atomically as a Broadcast-WAV whose time reference is its host start sample, committed
to the store as a take, and only then announced (:class:`~bridge.jobs.StemEvent`), so the first stem streams
while the next is still being aligned.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridge.audio_io import FLOAT32, quantize, read_wav, resample_to_length, to_stereo, write_wav
from bridge.jobs import Job, StemEvent, StepEvent
from bridge.store import ContextRow, Store, TakeRow, new_id
from bridge.validate import JobSpec, ModelInfo
from jen_core.errors import CancelledError, JenError


@dataclass(frozen=True)
class StemResult:
    """One finished stem: ``audio: [C, N]`` at the host rate, exactly as written to ``path``."""

    stem: str
    take_id: str
    audio: np.ndarray
    start_sample: int
    sample_rate: int
    fmt: str
    path: Path
    sha256: str
    chunks: tuple[tuple[int, int], ...]  # (absolute host start sample, frames), contiguous
    stretch_ratio: float
    measured_bpm: float


class Renderer:
    """Callable run by :class:`~bridge.jobs.JobManager` for every job; returns the new take ids."""

    def __init__(self, *, pipeline: Any, store: Store, model: ModelInfo) -> None:
        self.pipe = pipeline
        self.store = store
        self.model = model

    # ------------------------------------------------------------------ entry point

    def __call__(self, job: Job) -> tuple[str, ...]:
        spec: JobSpec = job.spec
        if spec.new_session:
            self.store.create_session(session_id=spec.session_id, name=spec.session_name, prompt=spec.prompt,
                                      stems=spec.stems, timeline=spec.timeline.to_dict())
        options = {
            "bpm": spec.plan.model_bpm, "bars": spec.plan.whole_bars, "key": spec.key, "steps": spec.steps,
            "sampler": spec.sampler, "seed": spec.seed, "cancel": job.should_stop,
            "on_step": lambda step, total: job.emit(StepEvent(int(step), int(total))),
        }
        outputs = self._model_audio(spec, options)
        take_ids = []
        for stem in spec.stems:
            if job.should_stop():
                raise CancelledError("job cancelled")
            take_ids.append(self._finish_stem(job, spec, stem, outputs[stem]))
        return tuple(take_ids)

    # ------------------------------------------------------------------ model calls

    def model_frames(self, seconds: float) -> int:
        return int(round(seconds * self.model.sample_rate))

    def _region_model_frames(self, spec: JobSpec) -> int:
        """Model-rate frames of the region itself (the model is asked for whole bars, at least this long)."""
        plan = spec.plan
        return self.model_frames((plan.end_ppq - plan.start_ppq) * 60.0 / plan.model_bpm)

    def _model_seconds_at(self, spec: JobSpec, sample: int) -> float:
        plan = spec.plan
        region_seconds = (plan.end_ppq - plan.start_ppq) * 60.0 / plan.model_bpm
        return (sample - plan.start_sample) / plan.length * region_seconds

    def _bar_seconds(self, spec: JobSpec, bar: int) -> float:
        return (spec.timeline.bar_ppq(bar) - spec.plan.start_ppq) * 60.0 / spec.plan.model_bpm

    def _context_audio(self, spec: JobSpec, row: ContextRow) -> np.ndarray:
        """An uploaded region-length track -> model rate and model length: ``[2, L]``."""
        audio, _ = read_wav(self.store.resolve(row.path))
        audio = resample_to_length(to_stereo(audio), self._region_model_frames(spec))
        return _fit(audio, self.model_frames(spec.plan.model_seconds))

    def _take_audio(self, spec: JobSpec, take: TakeRow) -> np.ndarray:
        audio, _ = read_wav(self.store.resolve(take.model_path))
        return _fit(to_stereo(audio), self.model_frames(spec.plan.model_seconds))

    def _model_audio(self, spec: JobSpec, options: dict[str, Any]) -> Mapping[str, np.ndarray]:
        pipe, plan = self.pipe, spec.plan
        seconds = plan.model_seconds
        if spec.task == "generate" or (spec.task == "regenerate" and not spec.keep and not spec.bars):
            stems = None if spec.stems == self.model.stems else list(spec.stems)
            return pipe.generate(spec.prompt, seconds=seconds, stems=stems, **options)
        if spec.task == "continue":
            (stem, row), = spec.context.items()
            audio, _ = read_wav(self.store.resolve(row.path))
            head = resample_to_length(to_stereo(audio), self.model_frames(row.frames / row.sample_rate))
            out = pipe.continue_(head, seconds=seconds, prompt=spec.prompt, **options)
            return {stem: _fit(out[:, head.shape[1]:], self.model_frames(seconds))}
        if spec.task == "inpaint":
            (stem, row), = spec.context.items()
            assert spec.inpaint is not None
            start, end = (self._model_seconds_at(spec, s) for s in spec.inpaint)
            out = pipe.inpaint(self._context_audio(spec, row), start=start, end=end, prompt=spec.prompt, **options)
            return {stem: out}
        if spec.task == "compose":
            keep = {stem: self._context_audio(spec, row) for stem, row in spec.context.items()}
            return pipe.compose(spec.prompt, keep=keep, generate=list(spec.stems), seconds=seconds, **options)
        if spec.task == "regenerate":
            keep = {stem: self._take_audio(spec, take) for stem, take in spec.keep.items()}
            region, context = None, None
            if spec.bars is not None:
                region = (self._bar_seconds(spec, spec.bars[0]), self._bar_seconds(spec, spec.bars[1]))
                context = {stem: self._take_audio(spec, take) for stem, take in spec.base.items()}
            return pipe.compose(spec.prompt, keep=keep, generate=list(spec.stems), region=region, context=context,
                                seconds=seconds, **options)
        raise JenError(f"unknown task {spec.task!r}")

    # ------------------------------------------------------------------ per stem

    def _finish_stem(self, job: Job, spec: JobSpec, stem: str, model_audio: np.ndarray) -> str:
        from bridge.tempo import align_to_host, chunk_positions

        plan = spec.plan
        model_audio = np.ascontiguousarray(model_audio, dtype=np.float32)
        if model_audio.ndim != 2 or not np.isfinite(model_audio).all():
            raise JenError(f"the model returned unusable audio for {stem} (shape {model_audio.shape} or non-finite)")
        take_id = new_id("t")
        host_path, model_path = self.store.take_paths(spec.session_id, take_id)
        write_wav(model_path, model_audio, sample_rate=self.model.sample_rate, fmt=FLOAT32)
        aligned = align_to_host(model_audio, plan, spec.timeline.tempo_map(), model_rate=self.model.sample_rate)
        audio = quantize(aligned.audio, spec.fmt)
        sha = write_wav(host_path, audio, sample_rate=plan.host_rate, fmt=spec.fmt, time_reference=aligned.start_sample)
        take = TakeRow(
            id=take_id, session_id=spec.session_id, stem=stem, job_id=job.id, path=self.store.relative(host_path),
            model_path=self.store.relative(model_path), sha256=sha, frames=int(audio.shape[1]),
            start_sample=int(aligned.start_sample), seed=spec.seed, prompt=spec.prompt, created=time.time(),
            start_bar=spec.bars[0] if spec.bars else None, end_bar=spec.bars[1] if spec.bars else None,
        )
        self.store.add_takes([take])
        chunks = tuple((int(s), int(n)) for s, n in chunk_positions(plan, spec.chunk_frames))
        job.emit(StemEvent(StemResult(
            stem=stem, take_id=take_id, audio=audio, start_sample=int(aligned.start_sample), sample_rate=plan.host_rate,
            fmt=spec.fmt, path=host_path, sha256=sha, chunks=chunks, stretch_ratio=float(aligned.stretch_ratio),
            measured_bpm=float(aligned.measured_bpm or 0.0),
        )))
        return take_id


def _fit(audio: np.ndarray, frames: int) -> np.ndarray:
    """Zero-pad or trim ``audio: [C, N]`` to ``frames``."""
    if audio.shape[1] >= frames:
        return np.ascontiguousarray(audio[:, :frames], dtype=np.float32)
    return np.pad(audio, ((0, 0), (0, frames - audio.shape[1]))).astype(np.float32)
