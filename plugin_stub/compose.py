"""The co-composition loop (JEN-1 Composer): a session of takes per stem; keep some, regenerate the others,
or regenerate a bar range of one stem with everything else fixed.

The session id and every take written live in the output folder's ``takes.json``, so the loop can run over
several ``jen-stub compose`` calls, as a producer would click through it in a plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from plugin_stub.client import BridgeClient
from plugin_stub.errors import StubError
from plugin_stub.generate import check_stems, generate_request, upload_context
from plugin_stub.outputs import OutputFolder, TakeFile
from plugin_stub.project import Project
from plugin_stub.protocol import pb
from plugin_stub.receive import JobResult

Progress = Callable[[int, int], None] | None


class CoComposer:
    """Drive one session for ``project``; new takes are written into ``out`` as they arrive."""

    def __init__(self, project: Project, client: BridgeClient, out: OutputFolder) -> None:
        self.project, self.client, self.out = project, client, out
        self.session_id = out.session_id if out.server == client.address else ""

    # ------------------------------------------------------------------ session

    def start(self, *, on_progress: Progress = None) -> JobResult | None:
        """Open the folder's session (checking it still matches the project) or create one with a first take
        of every stem. Returns the first job, or None when the session already existed."""
        caps = self.client.capabilities()
        check_stems(self.project, caps)
        if self.session_id:
            session = self.client.get_session(self.session_id)
            self._check_plan(session.plan)
            return None
        if self.project.task not in ("generate", "compose"):
            raise StubError(f"compose sessions start with task generate or compose, not {self.project.task}")
        session = self.client.create_session(self.project.timeline(), prompt=self.project.prompt,
                                             stems=[s for s in self.project.stems if s != "mix"],
                                             name=self.project.name)
        self._check_plan(session.plan)
        self.session_id = session.session_id
        uploads = upload_context(self.project, self.client)
        request = generate_request(self.project, uploads, session_id=self.session_id)
        result = self.client.generate(request, self.project.expected(), on_progress=on_progress)
        self._write(result)
        return result

    def _check_plan(self, plan: pb.RegionPlan) -> None:
        want = self.project.region_samples
        if (plan.start_sample, plan.end_sample) != want or plan.sample_rate != self.project.sample_rate:
            raise StubError(f"session {self.session_id or '(new)'} covers samples {plan.start_sample}-{plan.end_sample} "
                            f"at {plan.sample_rate} Hz but the project region is {want[0]}-{want[1]} at "
                            f"{self.project.sample_rate} Hz: use a new output folder for a changed project")

    def _write(self, result: JobResult, edit: tuple[int, int] | None = None) -> list[TakeFile]:
        files = self.out.write_takes(list(result.stems.values()), self.project, session_id=self.session_id,
                                     server=self.client.address, edit=edit)
        self.out.select(files)
        self.sync_selection()
        return files

    def sync_selection(self) -> None:
        """Take the server's selection (stem -> take) into the folder, then rewrite the mixdown and manifest."""
        session = self.client.get_session(self.session_id)
        self.out.selected = {stem: tid for stem, tid in session.selected.items() if self.out.by_id(tid) is not None}
        self.out.write_mixdown(self.project)
        self.out.save()

    # ------------------------------------------------------------------ the loop

    def takes(self, stem: str = "") -> list[pb.Take]:
        return self.client.list_takes(self.session_id, stem)

    def resolve(self, ref: str) -> str:
        """A take id from ``t_...``, ``stem:N`` (take N of that stem in this folder) or a take file name."""
        if ref.startswith("t_"):
            return ref
        if ":" in ref:
            stem, _, number = ref.partition(":")
            for t in self.out.takes:
                if t.stem == stem and str(t.take) == number and t.session_id == self.session_id:
                    return t.take_id
            raise StubError(f"no take {ref} in {self.out.path}: list them with `jen-stub compose ... --list`")
        for t in self.out.takes:
            if t.file == ref:
                return t.take_id
        raise StubError(f"take {ref!r} is neither a take id (t_...), stem:N nor a take file in {self.out.path}")

    def keep(self, refs: Sequence[str]) -> dict[str, str]:
        """Select these takes (one per stem); later regenerations are conditioned on them."""
        session = self.client.keep_takes(self.session_id, [self.resolve(r) for r in refs])
        self.sync_selection()
        return dict(session.selected)

    def regenerate(self, stems: Sequence[str], *, bars: tuple[int, int] | None = None, seed: int | None = None,
                   prompt: str = "", on_progress: Progress = None) -> JobResult:
        """New takes of ``stems`` conditioned on every other stem's selected take; with ``bars`` (1-based, end
        exclusive, one stem) only those bars change."""
        if not stems:
            raise StubError("name the stems to regenerate")
        if bars is not None:
            if len(stems) != 1:
                raise StubError("a bar range regenerates one stem: name exactly one")
            lo, hi = self.project.region_bars()
            if not (lo <= bars[0] < bars[1] <= hi):
                raise StubError(f"bars {bars[0]}-{bars[1]} are not inside the region (bars {float(lo):g}-{float(hi):g})")
        request = pb.RegenerateRequest(
            session_id=self.session_id, stems=list(stems), prompt=prompt,
            seed=self.project.seed if seed is None else seed, steps=self.project.steps,
            format=self.project.wire_format, chunk_frames=self.project.chunk_frames)
        if bars is not None:
            request.start_bar, request.end_bar = bars
        result = self.client.regenerate(request, self.project.expected(), on_progress=on_progress)
        self._write(result, edit=bars)
        return result
