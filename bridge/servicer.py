"""The ``jen.bridge.v1.Bridge`` gRPC servicer: validate, hand the job to the worker, stream the result.

Error mapping: ValidationError -> INVALID_ARGUMENT, NotFound -> NOT_FOUND, a full queue -> RESOURCE_EXHAUSTED
(at once), loading or shutting down -> UNAVAILABLE. Once a job is accepted its failures arrive as an ``error``
event, then the stream ends with the same status code. A client that cancels, disconnects or passes its
deadline cancels its job (the worker stops within one diffusion step).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc

from bridge import audition, specs
from bridge.audio_io import encode_pcm
from bridge.convert import (
    FORMAT_ENUMS,
    TASK_ENUMS,
    format_name,
    plan_to_proto,
    region_dict,
    session_to_proto,
    take_to_proto,
    task_name,
    timeline_from_proto,
)
from bridge.engine import Engine
from bridge.jobs import FINISHED, Failed, Finished, NotAccepting, QueueFull, StemEvent, StepEvent
from bridge.render import StemResult
from bridge.upload import MAX_CHUNK_BYTES, Upload
from bridge.v1 import bridge_pb2 as pb
from bridge.v1 import bridge_pb2_grpc as pb_grpc
from bridge.validate import (
    CHUNK_FRAMES_RANGE,
    HOST_RATES,
    MAX_PROMPT_CHARS,
    JobSpec,
    ValidationError,
)
from jen_core.errors import JenError

log = logging.getLogger("jen.bridge.servicer")
VERSION = "0.1.0"


def status_for(exc: BaseException) -> grpc.StatusCode | None:
    if isinstance(exc, specs.NotFound):
        return grpc.StatusCode.NOT_FOUND
    if isinstance(exc, QueueFull):
        return grpc.StatusCode.RESOURCE_EXHAUSTED
    if isinstance(exc, NotAccepting):
        return grpc.StatusCode.UNAVAILABLE
    if isinstance(exc, JenError):
        return grpc.StatusCode.INVALID_ARGUMENT
    return None


_MAPPED = (JenError, QueueFull, NotAccepting)


class BridgeServicer(pb_grpc.BridgeServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def _abort(self, context: grpc.aio.ServicerContext, exc: BaseException) -> None:
        code = status_for(exc) or grpc.StatusCode.INTERNAL
        await context.abort(code, str(exc))

    # ------------------------------------------------------------------ unary calls

    async def GetCapabilities(self, request: pb.GetCapabilitiesRequest, context: Any) -> pb.Capabilities:
        try:
            model = self.engine.require_model()
        except NotAccepting as exc:
            await self._abort(context, exc)
        return pb.Capabilities(
            models=[model.name], stems=list(model.stems), sample_rates=list(HOST_RATES), max_seconds=model.max_seconds,
            tasks=list(TASK_ENUMS.values()), sample_formats=list(FORMAT_ENUMS.values()),
            model_sample_rate=model.sample_rate, max_upload_chunk_bytes=MAX_CHUNK_BYTES,
            max_prompt_chars=MAX_PROMPT_CHARS, queue_size=self.engine.queue_size, server_version=VERSION,
            max_chunk_frames=CHUNK_FRAMES_RANGE[1],
        )

    async def UploadContext(self, request_iterator: AsyncIterator[pb.UploadContextRequest], context: Any
                            ) -> pb.UploadContextReply:
        upload = Upload(self.engine.store)
        try:
            async for part in request_iterator:
                kind = part.WhichOneof("part")
                if kind == "header":
                    h = part.header
                    upload.header(name=h.name, sample_rate=h.sample_rate, channels=h.channels, frames=h.frames,
                                  fmt=format_name(h.format), start_sample=h.start_sample)
                elif kind == "data":
                    upload.data(part.data)
                elif kind == "trailer":
                    row = await asyncio.to_thread(upload.finish, part.trailer.sha256)
                    return pb.UploadContextReply(context_id=row.id, frames=row.frames, sha256=part.trailer.sha256)
            raise ValidationError("upload: the stream ended without a trailer: send the sha256 trailer last")
        except _MAPPED as exc:
            await self._abort(context, exc)
        finally:
            upload.close()
        raise AssertionError("unreachable")

    async def Cancel(self, request: pb.CancelRequest, context: Any) -> pb.CancelReply:
        state = self.engine.cancel(request.job_id)
        return pb.CancelReply(found=state != "unknown", state=state)

    async def CreateSession(self, request: pb.CreateSessionRequest, context: Any) -> pb.Session:
        try:
            model = self.engine.require_model()
            timeline = timeline_from_proto(request.timeline) if request.HasField("timeline") else None
            row = specs.create_session(store=self.engine.store, model=model, timeline=timeline, prompt=request.prompt,
                                       stems=list(request.stems), name=request.name)
            return session_to_proto(row, selection={})
        except _MAPPED as exc:
            await self._abort(context, exc)
        raise AssertionError("unreachable")

    async def GetSession(self, request: pb.GetSessionRequest, context: Any) -> pb.Session:
        try:
            row = specs.get_session(store=self.engine.store, session_id=request.session_id)
            return session_to_proto(row, selection=self.engine.store.selection(row.id))
        except _MAPPED as exc:
            await self._abort(context, exc)
        raise AssertionError("unreachable")

    async def KeepTakes(self, request: pb.KeepTakesRequest, context: Any) -> pb.Session:
        try:
            row = specs.keep_takes(store=self.engine.store, session_id=request.session_id,
                                   take_ids=list(request.take_ids))
            return session_to_proto(row, selection=self.engine.store.selection(row.id))
        except _MAPPED as exc:
            await self._abort(context, exc)
        raise AssertionError("unreachable")

    async def ListTakes(self, request: pb.ListTakesRequest, context: Any) -> pb.ListTakesReply:
        try:
            store = self.engine.store
            takes = specs.list_takes(store=store, model=self.engine.require_model(), session_id=request.session_id,
                                     stem=request.stem)
            selected = set(store.selection(request.session_id).values())
            return pb.ListTakesReply(takes=[take_to_proto(t, path=str(store.resolve(t.path)), selected=t.id in selected)
                                            for t in takes])
        except _MAPPED as exc:
            await self._abort(context, exc)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ jobs

    async def Generate(self, request: pb.GenerateRequest, context: Any) -> AsyncIterator[pb.JobEvent]:
        try:
            model = self.engine.require_model()
            timeline = timeline_from_proto(request.timeline) if request.HasField("timeline") else None
            spec = specs.generate_spec(
                store=self.engine.store, model=model, timeline=timeline, session_id=request.session_id,
                prompt=request.prompt, stems=list(request.stems), task=task_name(request.task), seed=request.seed,
                steps=request.steps, sampler=request.sampler, key=request.key, fmt=format_name(request.format),
                chunk_frames=request.chunk_frames, context=[(c.context_id, c.stem) for c in request.context],
                inpaint=region_dict(request.inpaint) if request.HasField("inpaint") else None,
            )
        except _MAPPED as exc:
            await self._abort(context, exc)
        async for event in self._run(spec, context):
            yield event

    async def Regenerate(self, request: pb.RegenerateRequest, context: Any) -> AsyncIterator[pb.JobEvent]:
        try:
            spec = specs.regenerate_spec(
                store=self.engine.store, model=self.engine.require_model(), session_id=request.session_id,
                stems=list(request.stems), keep_take_ids=list(request.keep_take_ids),
                start_bar=request.start_bar if request.HasField("start_bar") else None,
                end_bar=request.end_bar if request.HasField("end_bar") else None, prompt=request.prompt,
                seed=request.seed, steps=request.steps, fmt=format_name(request.format),
                chunk_frames=request.chunk_frames,
            )
        except _MAPPED as exc:
            await self._abort(context, exc)
        async for event in self._run(spec, context):
            yield event

    async def _run(self, spec: JobSpec, context: Any) -> AsyncIterator[pb.JobEvent]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Any] = asyncio.Queue()

        def sink(event: Any) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        try:
            job, ahead = self.engine.submit(spec, sink, timeout=context.time_remaining())
        except _MAPPED as exc:
            await self._abort(context, exc)
        context.add_done_callback(lambda _ctx: job.cancel())
        jid = job.id
        try:
            yield pb.JobEvent(job_id=jid, accepted=pb.Accepted(session_id=spec.session_id, queue_position=ahead,
                                                               plan=plan_to_proto(spec.plan), stems=list(spec.stems)))
            while True:
                event = await events.get()
                if isinstance(event, StepEvent):
                    yield pb.JobEvent(job_id=jid, progress=pb.Progress(step=event.step, total=event.total))
                elif isinstance(event, StemEvent):
                    for message in _stem_events(jid, event.result):
                        yield message
                elif isinstance(event, Finished):
                    yield pb.JobEvent(job_id=jid, done=pb.Done(take_ids=list(event.take_ids), seconds=event.seconds))
                    return
                elif isinstance(event, Failed):
                    yield pb.JobEvent(job_id=jid, error=pb.Error(code=event.code, message=event.message))
                    await context.abort(getattr(grpc.StatusCode, event.code, grpc.StatusCode.INTERNAL), event.message)
        finally:
            if job.state != FINISHED:
                job.cancel()  # the stream closed early: the client went away

    # ------------------------------------------------------------------ audition

    async def Audition(self, request_iterator: AsyncIterator[pb.AuditionRequest], context: Any
                       ) -> AsyncIterator[pb.AuditionEvent]:
        try:
            model = self.engine.require_model()
            async for event in audition.serve(request_iterator, store=self.engine.store, model=model):
                yield event
        except _MAPPED as exc:
            await self._abort(context, exc)


def _stem_events(job_id: str, result: StemResult) -> Iterator[pb.JobEvent]:
    """Chunks of one finished stem (contiguous, absolute host positions), then its ``stem_done``."""
    digest = hashlib.sha256()
    fmt = FORMAT_ENUMS[result.fmt]
    channels = int(result.audio.shape[0])
    for index, (start, frames) in enumerate(result.chunks):
        offset = start - result.start_sample
        data = encode_pcm(result.audio[:, offset : offset + frames], result.fmt)
        digest.update(data)
        yield pb.JobEvent(job_id=job_id, chunk=pb.StemChunk(
            stem=result.stem, index=index, start_sample=start, frames=frames, channels=channels, format=fmt, data=data,
            sample_rate=result.sample_rate))
    yield pb.JobEvent(job_id=job_id, stem_done=pb.StemDone(
        stem=result.stem, frames=int(result.audio.shape[1]), sha256=result.sha256, path=str(result.path),
        take_id=result.take_id, start_sample=result.start_sample, pcm_sha256=digest.hexdigest(),
        stretch_ratio=result.stretch_ratio, measured_bpm=result.measured_bpm, chunks=len(result.chunks)))
