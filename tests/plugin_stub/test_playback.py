"""The audition playback buffer: seamless chunk joins, crossfaded jumps, de-clicked underruns, acks."""

from __future__ import annotations

import numpy as np

from plugin_stub.playback import PlaybackBuffer

XF = 64


def _mix(frames: int = 20000) -> np.ndarray:
    t = np.arange(frames)
    return np.stack([0.5 * np.sin(t / 15.0), 0.5 * np.cos(t / 23.0)]).astype(np.float32)


def _feed(buf: PlaybackBuffer, mix: np.ndarray, *, start: int, chunk: int, skip: tuple[int, ...] = (),
          epoch: int = 0, first_seq: int = 0) -> None:
    for i, off in enumerate(range(0, mix.shape[1], chunk)):
        if i not in skip:
            buf.push(sequence=first_seq + i, epoch=epoch, start_sample=start + off, audio=mix[:, off : off + chunk])


def _max_step(y: np.ndarray) -> float:
    return float(np.abs(np.diff(y, axis=1)).max())


def test_chunk_joins_are_seamless_and_consumed_chunks_are_acked() -> None:
    mix = _mix(8000)
    buf = PlaybackBuffer(crossfade_frames=XF, content=(10000, 18000))
    _feed(buf, mix, start=10000, chunk=1000)
    out = np.concatenate([buf.read(p, 300) for p in range(10000, 18000, 300)] + [buf.read(18000, 0)], axis=1)
    np.testing.assert_array_equal(out[:, :8000], mix)  # reads across chunk boundaries change nothing
    assert buf.underrun_frames == 0 and buf.jumps == 0 and buf.acked == 7


def test_outside_the_takes_is_silence_not_an_underrun() -> None:
    buf = PlaybackBuffer(crossfade_frames=XF, content=(1000, 2000))
    assert buf.covered(0, 1000) and buf.covered(2000, 500) and not buf.covered(900, 200)  # never waits outside
    _feed(buf, _mix(1000), start=1000, chunk=500)
    y = buf.read(0, 1000)
    assert not y.any() and buf.underrun_frames == 0
    assert buf.covered(900, 200) and buf.covered(1900, 200)


def test_a_late_chunk_fades_out_and_back_in_and_is_counted() -> None:
    mix = _mix(6000)
    buf = PlaybackBuffer(crossfade_frames=XF, content=(0, 6000))
    _feed(buf, mix, start=0, chunk=1000, skip=(3,))  # samples 3000-4000 never arrive
    out = np.concatenate([buf.read(p, 500) for p in range(0, 6000, 500)], axis=1)
    assert buf.underrun_frames == 1000
    assert not out[:, 3000 + XF : 4000].any()
    np.testing.assert_allclose(out[:, 3000], mix[:, 2999], atol=0.01)  # the last sample continues, then decays
    np.testing.assert_array_equal(out[:, :3000], mix[:, :3000])  # the gap starts on a block edge: tail continues
    np.testing.assert_array_equal(out[:, 4000 + XF :], mix[:, 4000 + XF :])
    assert _max_step(out) <= _max_step(mix) + 1e-6  # no step bigger than the music's own: no click


def test_a_gap_inside_a_block_is_faded() -> None:
    mix = _mix(3000)
    buf = PlaybackBuffer(crossfade_frames=XF, content=(0, 3000))
    _feed(buf, mix, start=0, chunk=1000, skip=(1,))
    out = buf.read(0, 3000)
    assert buf.underrun_frames == 1000
    np.testing.assert_array_equal(out[:, : 1000 - XF], mix[:, : 1000 - XF])
    assert abs(out[0, 999]) < 0.02 and abs(out[0, 2000]) < 0.02  # faded to (almost) zero at both edges
    assert _max_step(out) <= _max_step(mix) + 1e-6


def test_a_jump_crossfades_from_where_the_audio_was_going() -> None:
    mix = _mix(10000)
    buf = PlaybackBuffer(crossfade_frames=XF, content=(0, 10000))
    _feed(buf, mix, start=0, chunk=1000)
    a = buf.read(0, 500)
    b = buf.read(6000, 500)  # seek: the host jumped ahead
    assert buf.jumps == 1
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(XF) + 0.5) / XF)
    expected = mix[:, 500 : 500 + XF] * (1 - ramp) + mix[:, 6000 : 6000 + XF] * ramp
    np.testing.assert_allclose(b[:, :XF], expected, atol=1e-6)
    np.testing.assert_array_equal(b[:, XF:], mix[:, 6000 + XF : 6500])
    np.testing.assert_array_equal(a, mix[:, :500])
    assert buf.acked >= 5  # chunks skipped by the seek count as consumed


def test_wait_blocks_until_the_audio_arrives() -> None:
    import threading

    mix = _mix(2000)
    buf = PlaybackBuffer(crossfade_frames=XF, content=(0, 2000))
    assert not buf.wait(0, 1000, timeout=0.05)
    feeder = threading.Timer(0.05, lambda: _feed(buf, mix, start=0, chunk=1000))
    feeder.start()
    assert buf.wait(0, 2000, timeout=5)
    feeder.join()
    np.testing.assert_array_equal(buf.read(0, 2000), mix)
