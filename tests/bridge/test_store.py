from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bridge.store import ContextRow, Store, TakeRow, inside_data_dir, new_id, valid_id
from jen_core.errors import JenError


def _take(session_id: str, stem: str, created: float) -> TakeRow:
    tid = new_id("t")
    return TakeRow(id=tid, session_id=session_id, stem=stem, job_id=new_id("j"), path=f"sessions/{session_id}/{tid}.wav",
                   model_path=f"sessions/{session_id}/{tid}.model.wav", sha256="0" * 64, frames=10, start_sample=5,
                   seed=1, prompt="p", created=created)


def test_sessions_takes_selection_and_context_survive_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path)
    sid = new_id("s")
    store.create_session(session_id=sid, name="n", prompt="p", stems=("bass", "drums"), timeline={"a": 1})
    first, second = _take(sid, "bass", time.time()), _take(sid, "bass", time.time() + 1)
    store.add_takes([first])
    store.add_takes([second, _take(sid, "drums", time.time())])
    assert store.selection(sid)["bass"] == second.id  # newest take is selected
    store.select(sid, [first])
    ctx = ContextRow(id=new_id("c"), name="x", path="contexts/x.wav", sample_rate=48000, channels=2, frames=9,
                     start_sample=0, sha256="1" * 64, created=1.0)
    store.add_context(ctx)
    store.close()

    again = Store(tmp_path)
    assert again.get_session(sid).stems == ("bass", "drums")  # type: ignore[union-attr]
    assert [t.id for t in again.list_takes(sid, "bass")] == [first.id, second.id]
    assert again.selection(sid)["bass"] == first.id
    assert again.get_context(ctx.id) == ctx
    assert again.get_session(new_id("s")) is None
    again.close()


def test_ids() -> None:
    sid = new_id("s")
    assert valid_id(sid, "s") and not valid_id(sid, "t")
    assert not valid_id("s_../../etc/passwd", "s")


def test_paths_never_leave_the_data_dir(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "ok.wav").write_bytes(b"x")
    os.symlink("/etc/passwd", root / "link.wav")
    assert inside_data_dir(root, "ok.wav") == (root / "ok.wav").resolve()
    assert inside_data_dir(root, str(root / "ok.wav")) == (root / "ok.wav").resolve()
    for bad in ("../x.wav", "/etc/passwd", "link.wav", "a/../../x", "", "ok\x00.wav"):
        with pytest.raises(JenError):
            inside_data_dir(root, bad)
