"""The stub's own exact PPQ <-> sample arithmetic, and that it agrees with the server's."""

from __future__ import annotations

import random
from fractions import Fraction as F

import pytest

from bridge import tempo as server_tempo
from plugin_stub.errors import StubError
from plugin_stub.transport import HostTransport, TempoChange, TempoMap, TimeSignature, exact, wire_exact


def test_hand_computed_positions() -> None:
    m = TempoMap.from_pairs([(0, 120), (10, 90)])
    assert m.sample_at(8, 48000) == 192000  # 8 quarters at 120 = 4 s
    assert m.seconds_at(12) == F(4) + 1 + F(4, 3)  # 2 quarters at 120, 2 at 90
    assert m.sample_at(12, 44100) == 279300
    assert m.ppq_at_seconds(F(19, 3)) == 12 and m.bpm_at(11) == 90
    assert TimeSignature(7, 8).bar_to_ppq(3) == 7 and TimeSignature(5, 4).bar_to_ppq(2) == 5
    assert TimeSignature(7, 8).ppq_to_bar(F(21, 2)) == 4


def test_rounding_is_half_up_of_the_exact_rational() -> None:
    m = TempoMap((TempoChange(F(0), F(5292000, 26461)),))  # one quarter = 13230.5 samples at 44.1 kHz, exactly
    assert m.seconds_at(1) * 44100 == F(26461, 2)
    assert m.sample_at(1, 44100) == 13231 and m.sample_at(3, 44100) == 39692  # .5 rounds up, never to even


def test_values_are_read_as_the_wire_carries_them() -> None:
    assert exact("195/2", "x") == F(195, 2) and exact(97.5, "x") == F(195, 2) and exact("97.5", "x") == F(195, 2)
    assert wire_exact("400/3", "x") == F(repr(400 / 3))  # the double the server will see, exactly
    assert TempoMap.constant("400/3").changes[0].bpm == F("133.33333333333334")
    for bad in ("fast", True, None, float("nan")):
        with pytest.raises(StubError):
            exact(bad, "tempo")


def test_agrees_with_the_server_on_random_tempo_maps() -> None:
    rng = random.Random(5)
    for _ in range(40):
        points, ppq = [(0.0, round(rng.uniform(40, 240), 2))], 0.0
        for _ in range(rng.randrange(0, 4)):
            ppq += rng.choice([0.5, 1.0, 2.25, 3.5, 7.0])
            points.append((ppq, round(rng.uniform(40, 240), 3)))
        ours, theirs = TempoMap.from_pairs(points), server_tempo.TempoMap.from_pairs(points)
        for rate in (44100, 48000, 88200, 96000):
            for q in [F(rng.randrange(0, 200), rng.choice([1, 2, 3, 4, 8, 960])) for _ in range(10)]:
                assert ours.sample_at(q, rate) == theirs.sample_at(q, rate), (points, q, rate)
                s = ours.sample_at(q, rate)
                assert ours.ppq_at_sample(s, rate) == theirs.ppq_at_seconds(F(s, rate))


def test_bad_tempo_maps_and_meters_are_refused() -> None:
    with pytest.raises(StubError, match="start at ppq 0"):
        TempoMap.from_pairs([(1, 120)])
    with pytest.raises(StubError, match="increasing ppq"):
        TempoMap.from_pairs([(0, 120), (4, 100), (4, 90)])
    with pytest.raises(StubError, match="outside 20-400"):
        TempoMap.constant(500)
    with pytest.raises(StubError, match="denominator"):
        TimeSignature(7, 6)


def test_playhead_loop_and_blocks() -> None:
    t = HostTransport(tempo_map=TempoMap.constant(120), time_signature=TimeSignature(4, 4), sample_rate=48000)
    t.locate_ppq(F(9, 2))
    assert t.playhead_sample == 108000 and t.playhead_ppq == F(9, 2)
    t.locate_sample(24001)
    assert t.playhead_ppq == F(24001, 24000)  # exact PPQ of that sample's instant
    t.set_loop(24000, 25000)
    t.locate_sample(24600)
    assert t.block(512) == [(24600, 400), (24000, 112)]  # split at the loop end, continued at the loop start
    assert t.playhead_sample == 24112
    assert t.block(100) == [(24112, 100)]
    with pytest.raises(StubError, match="loop end must be after"):
        t.set_loop(5, 5)
    with pytest.raises(StubError, match="host rate"):
        HostTransport(tempo_map=TempoMap.constant(120), time_signature=TimeSignature(4, 4), sample_rate=22050)
