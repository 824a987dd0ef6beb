"""One generation from a project: upload the context tracks the task needs, run the job, write stems and mixdown.

Context per task (the server's rules): ``generate`` sends none (tracks are only mixed); ``compose`` sends, per stem,
the bounce of that stem's tracks over exactly the region; ``continue`` sends the bounce of the one stem's tracks
just before the region (up to ``continue_seconds``); ``inpaint`` sends that bounce over the region and the
``inpaint`` range inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from plugin_stub.client import BridgeClient
from plugin_stub.errors import StubError
from plugin_stub.outputs import OutputFolder, TakeFile
from plugin_stub.project import Project
from plugin_stub.protocol import pb
from plugin_stub.receive import JobResult
from plugin_stub.selection import Region

TASK_ENUMS = {"generate": pb.TASK_GENERATE, "compose": pb.TASK_COMPOSE, "continue": pb.TASK_CONTINUE,
              "inpaint": pb.TASK_INPAINT}


@dataclass
class GenerateReport:
    """What one run did: the job, the files written, the uploads made."""

    result: JobResult
    files: list[TakeFile]
    mixdown: dict = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)  # stem -> context id


def check_stems(project: Project, caps: pb.Capabilities) -> None:
    allowed = [*caps.stems, "mix"]
    for stem in project.stems:
        if stem not in allowed:
            raise StubError(f"stem {stem!r} is not offered by model {caps.model}: use {', '.join(allowed)}")
    if project.sample_rate not in caps.sample_rates:
        raise StubError(f"the server does not accept {project.sample_rate} Hz: it takes "
                        f"{', '.join(map(str, caps.sample_rates))}")


def upload_context(project: Project, client: BridgeClient) -> dict[str, str]:
    """Bounce and upload the tracks the task conditions on; returns stem -> context id."""
    if project.task == "generate":
        return {}
    start, end = project.region_samples
    rate = project.sample_rate
    if project.task == "continue":
        if start == 0:
            raise StubError("task continue needs audio before the region, but the region starts at the project start")
        seconds = min(project.continue_seconds, client.capabilities().max_seconds or project.continue_seconds)
        start, end = max(0, start - int(seconds * rate)), start
    uploads = {}
    for stem in project.selection.stems():
        audio = project.selection.bounce(stem, start, end)
        uploads[stem] = client.upload(audio, name=f"{project.name}: {stem}", sample_rate=rate, start_sample=start)
    return uploads


def region_proto(project: Project, region: Region) -> pb.Region:
    a, b = region.samples(project.transport)
    return pb.Region(start_ppq=float(region.start_ppq), end_ppq=float(region.end_ppq), start_sample=a, end_sample=b)


def generate_request(project: Project, uploads: dict[str, str], *, session_id: str = "") -> pb.GenerateRequest:
    request = pb.GenerateRequest(
        prompt=project.prompt, stems=list(project.stems), task=TASK_ENUMS[project.task], seed=project.seed,
        steps=project.steps, session_id=session_id, format=project.wire_format, chunk_frames=project.chunk_frames,
        key=project.key, context=[pb.ContextRef(context_id=cid, stem=stem) for stem, cid in uploads.items()],
    )
    if not session_id:
        request.timeline.CopyFrom(project.timeline())
    if project.task == "inpaint" and project.inpaint is not None:
        request.inpaint.CopyFrom(region_proto(project, project.inpaint))
    return request


def run_generate(project: Project, client: BridgeClient, out: OutputFolder, *,
                 on_progress: Callable[[int, int], None] | None = None) -> GenerateReport:
    """Generate the project's region and write its stems (plus mixdown and ``takes.json``) into ``out``."""
    caps = client.capabilities()
    check_stems(project, caps)
    uploads = upload_context(project, client)
    result = client.generate(generate_request(project, uploads), project.expected(), on_progress=on_progress)
    files = out.write_takes(list(result.stems.values()), project, session_id=result.session_id, server=client.address)
    out.select(files, replace=True)
    mix = out.write_mixdown(project)
    out.save()
    return GenerateReport(result=result, files=files, mixdown=mix, uploads=uploads)
