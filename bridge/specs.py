"""Build checked :class:`~bridge.validate.JobSpec` objects from request values (shared by gRPC and OSC).

Looks up sessions, takes and uploaded context in the store, so a spec only ever names rows that exist and
files inside the data directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bridge.store import ContextRow, SessionRow, Store, TakeRow, new_id, valid_id
from bridge.validate import (
    MAX_NAME_CHARS,
    TASKS,
    JobSpec,
    ModelInfo,
    TimelineSpec,
    ValidationError,
    check_bar_range,
    check_chunk_frames,
    check_context,
    check_format,
    check_plan_fits,
    check_prompt,
    check_seed,
    check_stems,
    check_steps,
    check_task_shape,
    session_timeline,
    takes_for_keep,
)


def _session(store: Store, session_id: str) -> SessionRow:
    if not valid_id(session_id, "s"):
        raise ValidationError(f"session_id {session_id[:40]!r} is not a session id (s_ and 16 hex digits)")
    session = store.get_session(session_id)
    if session is None:
        raise NotFound(f"session {session_id} does not exist: create it first")
    return session


def _take(store: Store, take_id: str) -> TakeRow:
    if not valid_id(take_id, "t"):
        raise ValidationError(f"take id {take_id[:40]!r} is not a take id (t_ and 16 hex digits)")
    take = store.get_take(take_id)
    if take is None:
        raise NotFound(f"take {take_id} does not exist")
    return take


def _context(store: Store, context_id: str) -> ContextRow:
    if not valid_id(context_id, "c"):
        raise ValidationError(f"context_id {context_id[:40]!r} is not a context id (c_ and 16 hex digits)")
    row = store.get_context(context_id)
    if row is None:
        raise NotFound(f"context track {context_id} does not exist: upload it first")
    return row


class NotFound(ValidationError):
    """A named session, take or context does not exist (NOT_FOUND)."""


def generate_spec(
    *, store: Store, model: ModelInfo, timeline: TimelineSpec | None, session_id: str, prompt: str,
    stems: Sequence[str], task: str, seed: int, steps: int, sampler: str, key: str, fmt: str, chunk_frames: int,
    context: Sequence[tuple[str, str]] = (), inpaint: Mapping[str, float | int] | None = None, name: str = "",
) -> JobSpec:
    """Check a Generate request. ``context`` is ``[(context_id, stem)]``; ``inpaint`` a region (ppq/samples/bars)."""
    if task not in TASKS:
        raise ValidationError(f"task {task!r} is unknown: use {', '.join(TASKS)}")
    check_prompt(prompt)
    if len(key) > 32:
        raise ValidationError("key is longer than 32 characters: send e.g. 'A minor'")
    if len(sampler) > 32:
        raise ValidationError("sampler is longer than 32 characters: send a sampler name or leave it empty")
    if session_id:
        session = _session(store, session_id)
        if timeline is not None:
            raise ValidationError("timeline must be unset when session_id is given: the session fixes the timeline")
        timeline, new_session = session_timeline(session), False
    else:
        if timeline is None:
            raise ValidationError("timeline is missing: send tempo, time signature, sample rate and region")
        session_id, new_session = new_id("s"), True
    plan = timeline.plan()
    check_plan_fits(plan, model)
    rows: dict[str, ContextRow] = {}
    for context_id, stem in context:
        (stem_ok,) = check_stems([stem], model, name="context.stem") if stem else (None,)
        if stem_ok is None:
            raise ValidationError(f"context track {context_id[:40]}: stem is missing: say which stem it stands for")
        if stem_ok in rows:
            raise ValidationError(f"two context tracks are given for stem {stem_ok}: send one per stem")
        rows[stem_ok] = _context(store, context_id)
    if task in ("inpaint", "continue") and not stems and len(rows) == 1:
        produce = tuple(rows)
    elif task == "compose" and not stems:
        produce = tuple(s for s in model.stems if s not in rows)
    else:
        produce = check_stems(stems, model)
    window = None
    if inpaint:
        span = timeline.with_region(inpaint).plan()
        window = (int(span.start_sample), int(span.end_sample))
    check_task_shape(task=task, stems=produce, context=rows, inpaint=window, plan=plan)
    check_context(rows, task=task, plan=plan, timeline=timeline, model=model)
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError(f"name has {len(name)} characters; the limit is {MAX_NAME_CHARS}")
    return JobSpec(
        job_id=new_id("j"), task=task, prompt=prompt, stems=produce, seed=check_seed(seed), steps=check_steps(steps),
        sampler=sampler or None, key=key or None, fmt=check_format(fmt), chunk_frames=check_chunk_frames(chunk_frames),
        timeline=timeline, plan=plan, session_id=session_id, new_session=new_session, session_name=name,
        context=rows, inpaint=window,
    )


def regenerate_spec(
    *, store: Store, model: ModelInfo, session_id: str, stems: Sequence[str], keep_take_ids: Sequence[str],
    start_bar: int | None, end_bar: int | None, prompt: str, seed: int, steps: int, fmt: str, chunk_frames: int,
) -> JobSpec:
    """Check a Regenerate request: keep the selected (or named) takes, regenerate ``stems`` conditioned on them."""
    session = _session(store, session_id)
    timeline = session_timeline(session)
    plan = timeline.plan()
    check_plan_fits(plan, model)
    if not stems:
        raise ValidationError("stems is empty: name the stems to regenerate")
    regen = check_stems(stems, model, allow_mix=False)
    check_prompt(prompt)
    selection = {stem: _take(store, tid) for stem, tid in store.selection(session.id).items()}
    keep_rows = [_take(store, tid) for tid in keep_take_ids]
    if len({t.stem for t in keep_rows}) != len(keep_rows):
        raise ValidationError("keep_take_ids names two takes of the same stem: keep one take per stem")
    keep = takes_for_keep(session=session, selection=selection, keep=keep_rows, regenerate=regen)
    keep.pop("mix", None)
    bars, base = None, {}
    if (start_bar is None) != (end_bar is None):
        raise ValidationError("give both start_bar and end_bar, or neither to regenerate the whole region")
    if start_bar is not None and end_bar is not None:
        if len(regen) != 1:
            raise ValidationError("a bar range regenerates one stem: send exactly one stem")
        bars = check_bar_range(start_bar=start_bar, end_bar=end_bar, timeline=timeline, plan=plan)
        current = selection.get(regen[0])
        if current is None:
            raise ValidationError(f"stem {regen[0]} has no take yet: generate it before regenerating bars of it")
        base = {regen[0]: current}
    return JobSpec(
        job_id=new_id("j"), task="regenerate", prompt=prompt or session.prompt, stems=regen, seed=check_seed(seed),
        steps=check_steps(steps), sampler=None, key=None, fmt=check_format(fmt),
        chunk_frames=check_chunk_frames(chunk_frames), timeline=timeline, plan=plan, session_id=session.id,
        keep=keep, base=base, bars=bars,
    )


def create_session(*, store: Store, model: ModelInfo, timeline: TimelineSpec | None, prompt: str,
                   stems: Sequence[str], name: str) -> SessionRow:
    if timeline is None:
        raise ValidationError("timeline is missing: send tempo, time signature, sample rate and region")
    check_prompt(prompt)
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError(f"name has {len(name)} characters; the limit is {MAX_NAME_CHARS}")
    plan = timeline.plan()
    check_plan_fits(plan, model)
    return store.create_session(session_id=new_id("s"), name=name, prompt=prompt,
                                stems=check_stems(stems, model, allow_mix=False), timeline=timeline.to_dict())


def keep_takes(*, store: Store, session_id: str, take_ids: Sequence[str]) -> SessionRow:
    session = _session(store, session_id)
    takes = [_take(store, tid) for tid in take_ids]
    if len({t.stem for t in takes}) != len(takes):
        raise ValidationError("take_ids names two takes of the same stem: keep one take per stem")
    for take in takes:
        if take.session_id != session.id:
            raise ValidationError(f"take {take.id} belongs to session {take.session_id}, not {session.id}")
    store.select(session.id, takes)
    return session


def get_session(*, store: Store, session_id: str) -> SessionRow:
    return _session(store, session_id)


def list_takes(*, store: Store, model: ModelInfo, session_id: str, stem: str) -> list[TakeRow]:
    session = _session(store, session_id)
    if stem:
        check_stems([stem], model, name="stem")
    return store.list_takes(session.id, stem or None)
