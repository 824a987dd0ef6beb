"""The audition playback buffer: chunks keyed by absolute host sample, read by the audio callback.

The stream is a static mix, so a position's audio is the same whichever chunk (or seek epoch) carried it. The
reader asks for ``[position, position + frames)``; the buffer copies what it holds and reports the rest as an
underrun. Consecutive chunks continue each other sample for sample; every other join is crossfaded, never a hard
cut: a jump of the playhead (seek, loop wrap) crossfades from where the audio
was going to where it now is, and a gap (underrun) fades out and back in, continuing the last sample to zero
when the audio stopped at a block boundary. Audio outside ``content`` (before or after the takes) is silence
by definition, never an underrun.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass
class _Chunk:
    sequence: int
    epoch: int
    start: int
    audio: np.ndarray  # [C, n]
    read_to: int

    @property
    def end(self) -> int:
        return self.start + int(self.audio.shape[1])


class PlaybackBuffer:
    """Thread-safe: the stream thread calls :meth:`push`, the audio thread :meth:`read`. Audio is ``[channels, N]``."""

    def __init__(self, *, channels: int = 2, crossfade_frames: int = 256, content: tuple[int, int] | None = None,
                 max_chunks: int = 512) -> None:
        self.channels, self.crossfade = channels, max(1, crossfade_frames)
        self.content = content
        self.max_chunks = max_chunks
        self.cond = threading.Condition()
        self._chunks: list[_Chunk] = []
        self._next: int | None = None  # position the previous read ended at
        self._last = np.zeros(channels, dtype=np.float32)  # last sample output
        self._gap_before = False  # the previous read ended inside an underrun
        self.acked = -1  # highest sequence consumed or skipped
        self.received = 0
        self.underrun_frames = 0
        self.jumps = 0
        self.closed = False

    # ------------------------------------------------------------------ producer

    def push(self, *, sequence: int, epoch: int, start_sample: int, audio: np.ndarray) -> None:
        with self.cond:
            self._chunks.append(_Chunk(sequence, epoch, start_sample, np.asarray(audio, dtype=np.float32),
                                       start_sample))
            self.received += 1
            if len(self._chunks) > self.max_chunks:
                self._chunks.sort(key=lambda c: c.sequence)
                dropped = self._chunks[: len(self._chunks) - self.max_chunks]
                self._chunks = self._chunks[len(dropped):]
                self.acked = max(self.acked, *(c.sequence for c in dropped))
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    # ------------------------------------------------------------------ consumer

    def _in_content(self, position: int, frames: int) -> np.ndarray:
        idx = np.arange(position, position + frames)
        if self.content is None:
            return np.ones(frames, dtype=bool)
        return (idx >= self.content[0]) & (idx < self.content[1])

    def _find(self, q: int) -> _Chunk | None:
        best = None
        for c in self._chunks:
            if c.start <= q < c.end and (best is None or (c.epoch, -c.sequence) > (best.epoch, -best.sequence)):
                best = c
        return best

    def _gather(self, position: int, frames: int, *, consume: bool) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros((self.channels, frames), dtype=np.float32)
        have = np.zeros(frames, dtype=bool)
        q, stop, last_seq = position, position + frames, None
        while q < stop:
            c = self._find(q)
            if c is None:
                q = min([ch.start for ch in self._chunks if q < ch.start < stop], default=stop)
                continue
            n = min(c.end, stop) - q
            src = c.audio[:, q - c.start : q - c.start + n]
            out[:, q - position : q - position + n] = src if src.shape[0] == self.channels else src[:1]
            have[q - position : q - position + n] = True
            if consume:
                c.read_to = max(c.read_to, q + n)
                last_seq = c.sequence if last_seq is None else max(last_seq, c.sequence)
            q += n
        if consume and last_seq is not None:
            done = [c for c in self._chunks if c.read_to >= c.end or c.sequence < last_seq]
            if done:
                self.acked = max(self.acked, *(c.sequence for c in done))
                self._chunks = [c for c in self._chunks if c not in done]
        return out, have

    def covered(self, position: int, frames: int) -> bool:
        """True when every frame of ``[position, position + frames)`` that has content is buffered."""
        with self.cond:
            _, have = self._gather(position, frames, consume=False)
            return bool(np.all(have | ~self._in_content(position, frames)))

    def wait(self, position: int, frames: int, timeout: float) -> bool:
        """Block until :meth:`covered` (or the stream closed, or ``timeout`` seconds); returns covered."""
        with self.cond:
            return self.cond.wait_for(lambda: self.closed or self._covered_locked(position, frames), timeout)\
                and self._covered_locked(position, frames)

    def _covered_locked(self, position: int, frames: int) -> bool:
        _, have = self._gather(position, frames, consume=False)
        return bool(np.all(have | ~self._in_content(position, frames)))

    def read(self, position: int, frames: int) -> np.ndarray:
        """The audio for host samples ``[position, position + frames)``: ``[channels, frames]``, de-clicked."""
        if frames <= 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        with self.cond:
            jump = self._next is not None and position != self._next
            old = None
            if jump:
                self.jumps += 1
                old, old_have = self._gather(self._next, self.crossfade, consume=False)  # where the audio was going
                old_have |= ~self._in_content(self._next, self.crossfade)
            y, have = self._gather(position, frames, consume=True)
        missing = ~(have | ~self._in_content(position, frames))
        self.underrun_frames += int(missing.sum())
        xf = self.crossfade
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(xf) + 0.5) / xf)).astype(np.float32)  # 0 -> 1
        tail = self._last[:, None] * (1.0 - ramp)[None]  # the last sample, continued to zero
        # fades around underruns inside this block
        edges = np.flatnonzero(np.diff(missing.astype(np.int8)))
        for i in edges + 1:
            if missing[i]:  # audio stops at i: fade the audio before it out
                n = min(xf, i)
                y[:, i - n : i] *= ramp[::-1][xf - n :]
            else:  # audio resumes at i: fade it in
                n = min(xf, frames - i)
                y[:, i : i + n] *= ramp[:n]
        n = min(xf, frames)
        if jump and old is not None:
            cont = np.where(old_have[None, :n], old[:, :n], tail[:, :n])
            y[:, :n] = cont * (1.0 - ramp[:n]) + y[:, :n] * ramp[:n]
        elif missing[0] and not self._gap_before:
            y[:, :n] += tail[:, :n] * missing[None, :n]
        elif not missing[0] and self._gap_before:
            y[:, :n] *= ramp[:n]
        self._next = position + frames
        self._gap_before = bool(missing[-1])
        self._last = y[:, -1].copy()
        return y
