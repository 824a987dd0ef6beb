"""A fast stand-in with the JenPipeline interface: deterministic tones, a sleep per "diffusion step".

Same contract as the real pipeline: audio float32 [2, L] at 48 kHz with L = round(seconds * 48000), ``on_step``
after each step, ``cancel()`` checked between steps (raises CancelledError).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from jen_core.errors import CancelledError, JenError

STEMS = ("bass", "drums", "instrument", "melody")
_FREQS = {"bass": 55.0, "drums": 0.0, "instrument": 220.0, "melody": 440.0, "mix": 330.0}


class FakePipeline:
    sample_rate = 48000
    stems = STEMS
    name = "fake"

    def __init__(self, *, steps: int = 4, step_seconds: float = 0.0, max_seconds: float = 30.0,
                 fail_with: BaseException | None = None) -> None:
        self.default_steps, self.step_seconds, self.max_seconds = steps, step_seconds, max_seconds
        self.fail_with = fail_with
        self.calls: list[tuple[str, dict]] = []
        self.running = threading.Event()
        self.last_step_at = 0.0

    def _steps(self, steps: int | None, on_step: Callable | None, cancel: Callable | None) -> None:
        total = steps or self.default_steps
        self.running.set()
        try:
            for i in range(total):
                if cancel is not None and cancel():
                    raise CancelledError("cancelled")
                if self.fail_with is not None:
                    raise self.fail_with
                if self.step_seconds:
                    time.sleep(self.step_seconds)
                self.last_step_at = time.monotonic()
                if on_step is not None:
                    on_step(i + 1, total)
            if cancel is not None and cancel():
                raise CancelledError("cancelled")
        finally:
            self.running.clear()

    def _tone(self, stem: str, frames: int, seed: int) -> np.ndarray:
        t = np.arange(frames, dtype=np.float64) / self.sample_rate
        freq = _FREQS.get(stem, 100.0)
        if freq:
            wave = 0.3 * np.sin(2 * np.pi * freq * t + seed)
        else:
            wave = 0.3 * np.random.default_rng(seed).standard_normal(frames) * np.exp(-((t * 2) % 0.5) * 20)
        return np.stack([wave, wave * 0.9]).astype(np.float32)

    def _length(self, seconds: float) -> int:
        if seconds > self.max_seconds + 1e-9:
            raise JenError(f"seconds {seconds} above max")
        return int(round(seconds * self.sample_rate))

    def generate(self, prompt: str, *, seconds: float, stems: Sequence[str] | None = None, seed: int = 0,
                 steps: int | None = None, on_step: Callable | None = None, cancel: Callable | None = None,
                 **options: object) -> dict[str, np.ndarray]:
        self.calls.append(("generate", {"prompt": prompt, "seconds": seconds, "stems": stems, **options}))
        frames = self._length(seconds)
        self._steps(steps, on_step, cancel)
        return {s: self._tone(s, frames, seed) for s in (stems or self.stems)}

    def inpaint(self, audio: np.ndarray, *, start: float, end: float, prompt: str = "", seed: int = 0,
                steps: int | None = None, on_step: Callable | None = None, cancel: Callable | None = None,
                **options: object) -> np.ndarray:
        self.calls.append(("inpaint", {"start": start, "end": end, "frames": audio.shape[1], **options}))
        self._steps(steps, on_step, cancel)
        out = audio.copy()
        a, b = int(round(start * self.sample_rate)), int(round(end * self.sample_rate))
        out[:, a:b] = self._tone("mix", b - a, seed)
        return out

    def continue_(self, audio: np.ndarray, *, seconds: float, prompt: str = "", seed: int = 0,
                  steps: int | None = None, on_step: Callable | None = None, cancel: Callable | None = None,
                  **options: object) -> np.ndarray:
        self.calls.append(("continue", {"seconds": seconds, "frames": audio.shape[1], **options}))
        self._steps(steps, on_step, cancel)
        return np.concatenate([audio, self._tone("mix", self._length(seconds), seed)], axis=1)

    def compose(self, prompt: str, *, keep: Mapping[str, np.ndarray], generate: Sequence[str],
                region: tuple[float, float] | None = None, context: Mapping[str, np.ndarray] | None = None,
                seconds: float | None = None, seed: int = 0, steps: int | None = None,
                on_step: Callable | None = None, cancel: Callable | None = None, **options: object
                ) -> dict[str, np.ndarray]:
        lengths = {a.shape[1] for a in [*keep.values(), *(context or {}).values()]}
        frames = lengths.pop() if lengths else self._length(float(seconds or 0))
        self.calls.append(("compose", {"keep": sorted(keep), "generate": list(generate), "region": region,
                                       "context": sorted(context or {}), "frames": frames, **options}))
        self._steps(steps, on_step, cancel)
        out = {s: self._tone(s, frames, seed + 1) for s in generate}
        if region is not None and context:
            a, b = int(round(region[0] * self.sample_rate)), int(round(region[1] * self.sample_rate))
            for s in generate:
                merged = context[s].copy()
                merged[:, a:b] = out[s][:, a:b]
                out[s] = merged
        return out
