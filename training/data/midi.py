"""A minimal Standard MIDI File writer (format 0) and a tempo / time-signature reader.

Enough for the FluidSynth renderer (one part per file) and for reading the tempo of a
Slakh2100 ``all_src.mid``; no dependency on mido.
"""

from __future__ import annotations

import struct
from pathlib import Path

from training.data.symbolic import Meter, Note

DRUM_CHANNEL = 9


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def midi_bytes(
    notes: tuple[Note, ...] | list[Note],
    *,
    bpm: float,
    meter: Meter,
    program: int,
    channel: int,
    end_seconds: float,
    pan: float = 0.0,
    ppq: int = 960,
) -> bytes:
    """A one-track SMF: tempo, time signature, program, pan (CC 10), the notes, end of track at ``end_seconds``."""

    def tick(seconds: float) -> int:
        return max(0, int(round(seconds * bpm / 60.0 * ppq)))

    events: list[tuple[int, int, bytes]] = []  # (tick, order, data): note-offs (0) before meta (1) before note-ons (2)
    tempo = int(round(60_000_000 / bpm))
    events.append((0, 1, b"\xff\x51\x03" + tempo.to_bytes(3, "big")))
    denominator_power = meter.denominator.bit_length() - 1
    events.append((0, 1, bytes([0xFF, 0x58, 0x04, meter.numerator, denominator_power, 24, 8])))
    events.append((0, 1, bytes([0xC0 | channel, program & 0x7F])))
    events.append((0, 1, bytes([0xB0 | channel, 10, int(round(64 + max(-1.0, min(1.0, pan)) * 63))])))
    for n in notes:
        on, off = tick(n.onset), max(tick(n.onset + n.duration), tick(n.onset) + 1)
        pitch, vel = int(n.pitch) & 0x7F, max(1, min(127, int(n.velocity)))
        events.append((on, 2, bytes([0x90 | channel, pitch, vel])))
        events.append((off, 0, bytes([0x80 | channel, pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    end = max(tick(end_seconds), events[-1][0])
    track = bytearray()
    now = 0
    for t, _, data in events:
        track += _varlen(t - now) + data
        now = t
    track += _varlen(end - now) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ppq)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _read_varlen(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[i]
        value = (value << 7) | (byte & 0x7F)
        i += 1
        if not byte & 0x80:
            return value, i


def read_tempo_and_meter(path: str | Path) -> tuple[float | None, tuple[int, int] | None]:
    """First tempo (quarter-note BPM) and time signature found in a MIDI file; None where absent or unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None, None
    bpm: float | None = None
    meter: tuple[int, int] | None = None
    pos = 14 if data[:4] == b"MThd" else len(data)
    while pos + 8 <= len(data) and (bpm is None or meter is None):
        kind, size = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        body, pos = data[pos + 8 : pos + 8 + size], pos + 8 + size
        if kind != b"MTrk":
            continue
        i, status = 0, 0
        try:
            while i < len(body):
                _, i = _read_varlen(body, i)  # delta time
                if body[i] == 0xFF:
                    meta = body[i + 1]
                    length, i = _read_varlen(body, i + 2)
                    payload, i = body[i : i + length], i + length
                    if meta == 0x51 and bpm is None and length == 3:
                        bpm = 60_000_000 / int.from_bytes(payload, "big")
                    elif meta == 0x58 and meter is None and length >= 2:
                        meter = (payload[0], 2 ** payload[1])
                    elif meta == 0x2F:
                        break
                elif body[i] in (0xF0, 0xF7):
                    length, i = _read_varlen(body, i + 1)
                    i += length
                else:
                    if body[i] & 0x80:
                        status, i = body[i], i + 1
                    i += 1 if (status & 0xF0) in (0xC0, 0xD0) else 2
        except IndexError:
            pass
    return bpm, meter
