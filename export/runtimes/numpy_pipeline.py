"""NumpyPipeline: JenPipeline's tasks (generate, inpaint, continue_, compose) orchestrated in numpy
on any :class:`~export.runtimes.base.GraphRuntime` (onnxruntime, TensorRT, or torch modules).

A line-by-line mirror of ``jen_core.pipelines.pipeline`` without torch: the same seeded noise
(``jen_core.noise``), track layout, guidance, known-frame paste-back and seam crossfades, so the
same seed gives the same stems on every backend (tests hold it to >= 30 dB SI-SDR per stem).
Audio in and out is float32 numpy ``[2, L]`` at the model rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from export.runtimes.base import GraphRuntime
from export.runtimes.numpy_diffusion import (
    NumpySchedule,
    StepCallback,
    classifier_free,
    composer_guidance,
    get_sampler,
)
from export.runtimes.numpy_layout import NumpyTrackLayout, Role, split_tracks
from jen_core.audio import blend_region, mix_stems
from jen_core.conditioning import bars_for, meta_values, prefixed_prompt
from jen_core.errors import CancelledError, JenError
from jen_core.noise import draw, gaussian, noise_rng
from jen_core.presets import ModelConfig

MIX = "mix"
__all__ = ["MIX", "NumpyPipeline", "SampleOptions", "mix_stems"]
SEAM_SECONDS = 0.01


@dataclass
class SampleOptions:
    """Options shared by every task (as ``jen_core.pipelines.SampleOptions``). None means the model's default."""

    bpm: float | None = None
    key: str | None = None
    bars: int | None = None
    steps: int | None = None
    sampler: str | None = None
    guidance: float | None = None
    seed: int = 0
    on_step: StepCallback | None = None
    cancel: Callable[[], bool] | None = None


class NumpyPipeline:
    """All generation tasks of one model on a numpy runtime. ``name`` is what the user asked for."""

    def __init__(self, runtime: GraphRuntime, cfg: ModelConfig, *, name: str, keepalive: Any = None) -> None:
        self.runtime = runtime
        self.cfg = cfg.validate()
        self.name = name
        self.schedule = NumpySchedule.from_config(cfg.diffusion)
        self._keepalive = keepalive  # e.g. the temporary folder an on-the-fly export lives in

    # ------------------------------------------------------------------ facts
    @property
    def backend(self) -> str:
        return self.runtime.backend

    @property
    def sample_rate(self) -> int:
        return self.cfg.autoencoder.sample_rate

    @property
    def channels(self) -> int:
        return self.cfg.autoencoder.channels

    @property
    def stems(self) -> tuple[str, ...]:
        return self.cfg.stems

    @property
    def max_seconds(self) -> float:
        return self.cfg.max_seconds

    @property
    def hop(self) -> int:
        return self.cfg.autoencoder.hop

    # ------------------------------------------------------------------ tasks
    def generate(self, prompt: str, *, seconds: float, stems: Sequence[str] | None = None, **options: Any) -> dict[str, np.ndarray]:
        """Text to music; as ``JenPipeline.generate``. Returns {stem: [2, L]}, L = round(seconds * sr)."""
        opts = SampleOptions(**options)
        length = self._length(seconds)
        if stems is not None and list(stems) == [MIX]:
            layout = self._layout(1, length, roles=[Role.TARGET], opts=opts)
            audio = self._sample("jen1", layout, prompt, length=length, opts=opts, causal=False)
            return {MIX: audio[0]}
        targets = self._check_stems(stems if stems is not None else self.stems)
        self._require("composer")
        roles = [Role.TARGET if s in targets else Role.ABSENT for s in self.stems]
        layout = self._layout(len(self.stems), length, roles=roles, opts=opts)
        full_prompt = prefixed_prompt(prompt, targets, self.stems)
        audio = self._sample("composer", layout, full_prompt, length=length, opts=opts, causal=False)
        return dict(zip([s for s in self.stems if s in targets], audio, strict=True))

    def inpaint(self, audio: np.ndarray, *, start: float, end: float, prompt: str = "", **options: Any) -> np.ndarray:
        """Regenerate ``[start, end)`` seconds of one track (JEN-1, bidirectional). [2, L] -> [2, L]."""
        opts = SampleOptions(**options)
        audio = self._check_audio(audio, "audio")
        length = audio.shape[1]
        a, b = self._region(start, end, length)
        self._require("jen1")
        layout = self._layout(1, length, roles=[Role.TARGET], opts=opts, given={0: audio}, region=(a, b))
        out = self._sample("jen1", layout, prompt, length=length, opts=opts, causal=False)[0]
        return blend_region(audio, out, a, b, self._seam())

    def continue_(self, audio: np.ndarray, *, seconds: float, prompt: str = "", **options: Any) -> np.ndarray:
        """Extend one track by ``seconds`` (JEN-1, unidirectional). [2, L] -> [2, L + seconds * sr]."""
        opts = SampleOptions(**options)
        audio = self._check_audio(audio, "audio")
        extra = self._length(seconds, what="continuation seconds")
        total = audio.shape[1] + extra
        self._length(total / self.sample_rate, what="audio plus continuation")
        padded = np.concatenate([audio, np.zeros((audio.shape[0], extra), np.float32)], axis=1)
        a = audio.shape[1]
        self._require("jen1")
        layout = self._layout(1, total, roles=[Role.TARGET], opts=opts, given={0: padded}, region=(a, total))
        out = self._sample("jen1", layout, prompt, length=total, opts=opts, causal=True)[0]
        return blend_region(padded, out, a, total, self._seam())

    def compose(
        self,
        prompt: str,
        *,
        keep: Mapping[str, np.ndarray],
        generate: Sequence[str],
        region: tuple[float, float] | None = None,
        context: Mapping[str, np.ndarray] | None = None,
        seconds: float | None = None,
        **options: Any,
    ) -> dict[str, np.ndarray]:
        """Composer co-composition; as ``JenPipeline.compose``. Returns {stem: [2, L]} for ``generate``."""
        opts = SampleOptions(**options)
        targets = self._check_stems(generate)
        kept = {name: self._check_audio(a, f"kept stem '{name}'") for name, a in keep.items()}
        self._check_stems(list(kept))
        overlap = sorted(set(kept) & set(targets))
        if overlap:
            raise JenError(f"stem(s) {', '.join(overlap)} are both kept and generated; pick one role per stem")
        ctx = {name: self._check_audio(a, f"context stem '{name}'") for name, a in (context or {}).items()}
        lengths = {a.shape[1] for a in [*kept.values(), *ctx.values()]}
        if len(lengths) > 1:
            raise JenError(f"kept and context stems must have the same length; got {sorted(lengths)} samples")
        if lengths:
            length = lengths.pop()
            if seconds is not None and self._length(seconds) != length:
                raise JenError(f"seconds={seconds} does not match the given stems ({length / self.sample_rate:.3f} s)")
            self._length(length / self.sample_rate, what="given stems")
        elif seconds is not None:
            length = self._length(seconds)
        else:
            raise JenError("compose needs either kept stems or seconds")
        span = self._region(*region, length) if region is not None else None
        if span is not None and set(ctx) != set(targets):
            raise JenError("regenerating a region needs the current audio of every generated stem in context")
        self._require("composer")
        roles = [Role.TARGET if s in targets else Role.KEPT if s in kept else Role.ABSENT for s in self.stems]
        given = {i: kept.get(s, ctx.get(s)) for i, s in enumerate(self.stems) if s in kept or s in ctx}
        layout = self._layout(len(self.stems), length, roles=roles, opts=opts, given=given, region=span)  # type: ignore[arg-type]
        full_prompt = prefixed_prompt(prompt, targets, self.stems)
        audio = self._sample("composer", layout, full_prompt, length=length, opts=opts, causal=False)
        names = [s for s in self.stems if s in targets]
        if span is None:
            return dict(zip(names, audio, strict=True))
        return {n: blend_region(ctx[n], a, span[0], span[1], self._seam()) for n, a in zip(names, audio, strict=True)}

    # ------------------------------------------------------------------ core
    def _sample(
        self, which: str, layout: NumpyTrackLayout, prompt: str, *, length: int, opts: SampleOptions, causal: bool
    ) -> list[np.ndarray]:
        self._require(which)
        schedule, dcfg = self.schedule, self.cfg.diffusion
        unet_cfg = self.cfg.jen1 if which == "jen1" else self.cfg.composer
        assert unet_cfg is not None
        sampler = get_sampler(opts.sampler or dcfg.sampler)
        steps = opts.steps if opts.steps is not None else dcfg.steps
        if not 1 <= steps <= schedule.T:
            raise JenError(f"steps must be between 1 and {schedule.T}, got {steps}")
        generator = noise_rng(opts.seed)  # the same stream as jen_core's pipeline: x_T first, then DDPM noise
        b, _, k, s = layout.clean.shape
        targets = layout.targets
        x = draw(generator, (b, len(targets), k, s))

        states, text_mask = self.runtime.text([prompt] * b)
        bars = opts.bars if opts.bars is not None else (bars_for(length / self.sample_rate, opts.bpm) if opts.bpm else None)
        meta = np.array([meta_values(bpm=opts.bpm, key=opts.key, bars=bars)] * b, np.float32)
        has_kept = Role.KEPT in layout.roles
        if has_kept:
            scale = opts.guidance if opts.guidance is not None else dcfg.composer_cfg_scale
            marginal = layout.with_roles([Role.ABSENT if r == Role.KEPT else r for r in layout.roles])
        else:
            scale = opts.guidance if opts.guidance is not None else dcfg.cfg_scale
        double = scale != 1.0
        reps = 2 if double else 1
        cond_text = np.concatenate([states] * reps).astype(np.float32, copy=False)
        cond_mask = np.concatenate([text_mask] * reps).astype(bool, copy=False)
        cond_meta = np.concatenate([meta] * reps)
        uncond = (np.arange(reps * b) >= b) if double and not has_kept else np.zeros(reps * b, bool)

        def denoise(x_t: np.ndarray, t: np.ndarray) -> np.ndarray:
            inp, t_vec = layout.unet_input(x_t, t, timesteps=schedule.T)
            if double:
                other = marginal if has_kept else layout
                inp2, t_vec2 = other.unet_input(x_t, t, timesteps=schedule.T)
                inp, t_vec = np.concatenate([inp, inp2]), np.concatenate([t_vec, t_vec2])
            out = self.runtime.unet(which, causal=causal, x=inp, t=t_vec, text=cond_text, text_mask=cond_mask,
                                    meta=cond_meta, uncond=uncond)
            pred = split_tracks(out, unet_cfg.tracks)[:, targets]
            if double:  # linear in the prediction, so v and epsilon guide alike
                first, second = pred[:b], pred[b:]
                pred = composer_guidance(second, first, scale) if has_kept else classifier_free(first, second, scale)
            return schedule.to_eps(pred, x_t, t, dcfg.prediction)

        def on_step(done: int, total: int) -> None:
            if opts.cancel is not None and opts.cancel():
                raise CancelledError("generation was cancelled")
            if opts.on_step is not None:
                opts.on_step(done, total)

        if opts.cancel is not None and opts.cancel():
            raise CancelledError("generation was cancelled")
        z = sampler(denoise, x, schedule, steps=steps, generator=generator, on_step=on_step)
        clean, mask = layout.clean[:, targets], layout.mask[:, targets, None, :]
        z = mask * z + (np.float32(1.0) - mask) * clean
        return self._decode(np.ascontiguousarray(z.reshape(b * len(targets), k, s), dtype=np.float32), length)

    def _layout(
        self,
        tracks: int,
        length: int,
        *,
        roles: list[Role],
        opts: SampleOptions,
        given: Mapping[int, np.ndarray] | None = None,
        region: tuple[int, int] | None = None,
    ) -> NumpyTrackLayout:
        frames = self._frames(length)
        k = self.cfg.k
        clean = np.zeros((1, tracks, k, frames), np.float32)
        for i, audio in (given or {}).items():
            clean[:, i] = self._encode(audio, frames)
        mask = np.ones((1, tracks, frames), np.float32)
        if region is not None:
            mask[:] = 0.0
            lo, hi = region[0] // self.hop, math.ceil(region[1] / self.hop)
            mask[:, :, lo:hi] = 1.0
            mask[:, :, math.ceil(length / self.hop):] = 1.0
        for i, role in enumerate(roles):
            if role == Role.TARGET and i not in (given or {}):
                mask[:, i] = 1.0
        noise = gaussian(opts.seed + 1, (1, tracks, k, frames))
        return NumpyTrackLayout(roles=roles, clean=clean, mask=mask, absent_noise=noise)

    def _encode(self, audio: np.ndarray, frames: int) -> np.ndarray:
        """[2, L] -> whitened latent [k, frames] (zero-padded to the frame grid)."""
        wav = np.zeros((1, self.channels, frames * self.hop), np.float32)
        wav[0, :, : audio.shape[1]] = audio
        return self.runtime.encode(wav)[0]

    def _decode(self, z: np.ndarray, length: int) -> list[np.ndarray]:
        """Whitened latents [N, k, S] -> N arrays [2, length]."""
        wav = self.runtime.decode(z)[:, :, :length]
        return [np.ascontiguousarray(w, dtype=np.float32) for w in wav]

    # ------------------------------------------------------------------ validation helpers
    def _require(self, which: str) -> None:
        if not self.runtime.has_unet(which):
            kind = "Composer (stems)" if which == "composer" else "JEN-1 (single track)"
            raise JenError(f"model '{self.name}' has no {kind} UNet; use a model that includes it")

    def _frames(self, length: int) -> int:
        multiple = (self.cfg.composer or self.cfg.jen1).length_multiple  # type: ignore[union-attr]
        frames = math.ceil(length / self.hop)
        return math.ceil(frames / multiple) * multiple

    def _length(self, seconds: float, *, what: str = "seconds") -> int:
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
            raise JenError(f"{what} must be a positive number, got {seconds}")
        if seconds > self.max_seconds + 1e-9:
            raise JenError(f"{what} {seconds:g} is above this model's maximum of {self.max_seconds:g} s")
        return int(round(seconds * self.sample_rate))

    def _region(self, start: float, end: float, length: int) -> tuple[int, int]:
        a, b = int(round(start * self.sample_rate)), int(round(end * self.sample_rate))
        if not 0 <= a < b <= length:
            raise JenError(
                f"region {start:g}-{end:g} s must satisfy 0 <= start < end <= {length / self.sample_rate:g} s"
            )
        return a, b

    def _check_stems(self, names: Sequence[str]) -> list[str]:
        names = list(names)
        unknown = [n for n in names if n not in self.stems]
        if unknown:
            raise JenError(f"unknown stem(s) {', '.join(unknown)}; choose from {', '.join(self.stems)}")
        if not names:
            raise JenError("no stems to generate")
        return names

    def _check_audio(self, audio: np.ndarray, what: str) -> np.ndarray:
        if not isinstance(audio, np.ndarray) or audio.ndim != 2 or audio.shape[0] != self.channels:
            shape = getattr(audio, "shape", None)
            raise JenError(f"{what} must be a [{self.channels}, samples] array, got shape {shape}")
        if audio.shape[1] == 0:
            raise JenError(f"{what} is empty")
        if not np.isfinite(audio).all():
            raise JenError(f"{what} contains NaN or infinite samples")
        return np.ascontiguousarray(audio, dtype=np.float32)

    def _seam(self) -> int:
        return int(SEAM_SECONDS * self.sample_rate)
