"""`jen data synth`: a synthetic multi-track dataset in the stem-folder format.

Layout written (one folder per clip, all files 48 kHz stereo 16-bit PCM WAV)::

    OUT/dataset.json
    OUT/song_00000/{bass,drums,instrument,melody,mix}.wav + meta.json

Songs are planned one after another from ``(seed, index)`` (material, style, tempo, key,
notes, caption) and rendered independently, so the output is byte-identical for a seed
whatever ``workers`` is (workers are spawned processes: a script calling this with
``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard). Each stem is set to a
mixing level (:data:`LEVELS_DB` +-1.5 dB), the mix is the sum of the stems and everything
shares one gain that puts the loudest peak at -1 dBFS, so nothing clips.

Files are 16-bit PCM: half the size of float WAV, readable everywhere, and libsndfile writes
no timestamped PEAK chunk for them, so runs are byte-identical. The mix is summed before
rounding, so ``mix`` and the sum of the four stem files differ by at most 2.5 LSB.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import soundfile as sf

from jen_core.errors import JenError
from training.data.captions import write_caption
from training.data.procedural import generate_song
from training.data.render_fluidsynth import DEFAULT_SOUNDFONT, check_fluidsynth
from training.data.styles import STYLES
from training.data.symbolic import STEMS, SymbolicSong
from training.data.theory import key_name

FORMAT_VERSION = 1
SUBTYPE = "PCM_16"
PEAK = 10 ** (-1.0 / 20.0)
LEVELS_DB = {"bass": -19.0, "drums": -17.0, "instrument": -21.0, "melody": -20.0}
RENDERERS = ("builtin", "fluidsynth")


@dataclass(frozen=True)
class SynthConfig:
    """Options of ``jen data synth``; ``clip_seconds`` bounds each clip (whole bars)."""

    minutes: float
    seed: int = 0
    renderer: str = "builtin"
    chorale_fraction: float = 0.25
    clip_seconds: tuple[float, float] = (8.0, 16.0)
    sample_rate: int = 48000
    styles: tuple[str, ...] | None = None
    soundfont: str = DEFAULT_SOUNDFONT
    workers: int = 1

    def __post_init__(self) -> None:
        if not self.minutes > 0:
            raise JenError(f"--minutes must be positive, got {self.minutes}")
        if self.renderer not in RENDERERS:
            raise JenError(f"unknown renderer {self.renderer!r}; choose one of {', '.join(RENDERERS)}")
        if not 0.0 <= self.chorale_fraction <= 1.0:
            raise JenError(f"--chorale-fraction must be within 0..1, got {self.chorale_fraction}")
        lo, hi = self.clip_seconds
        if not 0 < lo <= hi:
            raise JenError(f"bad clip length range {self.clip_seconds}")
        unknown = sorted(set(self.styles or ()) - set(STYLES))
        if unknown:
            raise JenError(f"unknown style(s) {', '.join(unknown)}; known: {', '.join(sorted(STYLES))}")
        if self.workers < 1:
            raise JenError(f"--workers must be at least 1, got {self.workers}")


@dataclass(frozen=True)
class SongPlan:
    index: int
    name: str
    song: SymbolicSong
    caption: str


@dataclass
class SynthResult:
    out_dir: Path
    songs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    wall_seconds: float = 0.0


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, index, stream]))


def plan_song(cfg: SynthConfig, index: int) -> SongPlan:
    """Song ``index`` of the dataset for ``cfg.seed``: its notes and caption (no audio)."""
    rng = _rng(cfg.seed, index, 0)
    if rng.random() < cfg.chorale_fraction:
        from training.data.chorales import chorale_song

        song = chorale_song(rng, clip_seconds=cfg.clip_seconds)
    else:
        style = str(rng.choice(sorted(cfg.styles))) if cfg.styles else None
        song = generate_song(rng, style=style, clip_seconds=cfg.clip_seconds)
    caption = write_caption(song, _rng(cfg.seed, index, 2))
    return SongPlan(index=index, name=f"song_{index:05d}", song=song, caption=caption)


def plan_dataset(cfg: SynthConfig) -> list[SongPlan]:
    """Songs until their total length reaches ``cfg.minutes``."""
    plans: list[SongPlan] = []
    total = 0.0
    while total < cfg.minutes * 60.0:
        plan = plan_song(cfg, len(plans))
        plans.append(plan)
        total += plan.song.duration
    return plans


def balance(stems: dict[str, np.ndarray], rng: np.random.Generator, *, sample_rate: int) -> np.ndarray:
    """Mixing levels per stem (+-1.5 dB), the mix as their sum, one gain to a -1 dBFS peak, a 10 ms fade-out.

    ``stems``: ``{stem: [2, L]}``; returns float32 ``[5, 2, L]`` (bass, drums, instrument, melody, mix).
    """
    out = []
    for stem in STEMS:
        x = stems[stem]
        ms = float(np.mean(x**2))
        target = LEVELS_DB[stem] + float(rng.uniform(-1.5, 1.5))
        out.append(x * (10 ** (target / 20.0) / np.sqrt(ms)) if ms > 1e-12 else x)
    arr = np.stack(out)
    mix = arr.sum(axis=0)
    top = max(float(np.max(np.abs(mix))), float(np.max(np.abs(arr))), 1e-9)
    audio = np.concatenate([arr, mix[None]]) * (PEAK / top)
    fade = min(int(0.01 * sample_rate), audio.shape[-1])
    audio[..., audio.shape[-1] - fade :] *= np.linspace(1.0, 0.0, fade)
    return audio.astype(np.float32)


def render_plan(plan: SongPlan, cfg: SynthConfig) -> np.ndarray:
    """Stems and mix of one planned song: float32 ``[5, 2, L]`` in order bass, drums, instrument, melody, mix."""
    rng = _rng(cfg.seed, plan.index, 1)
    if cfg.renderer == "fluidsynth":
        from training.data.render_fluidsynth import render_fluidsynth

        stems = render_fluidsynth(plan.song, sample_rate=cfg.sample_rate, soundfont=cfg.soundfont)
    else:
        from training.data.render_builtin import render_builtin

        stems = render_builtin(plan.song, sample_rate=cfg.sample_rate, rng=rng)
    return balance(stems, _rng(cfg.seed, plan.index, 3), sample_rate=cfg.sample_rate)


def song_meta(plan: SongPlan, cfg: SynthConfig) -> dict[str, object]:
    s = plan.song
    meta: dict[str, object] = {
        "caption": plan.caption,
        "bpm": s.bpm,
        "key": key_name(s.tonic, s.mode),
        "time_signature": str(s.meter),
        "instruments": s.instruments,
        "style": s.style,
        "genre": s.style,
        "source": s.source,
        "renderer": cfg.renderer,
        "sample_rate": cfg.sample_rate,
        "n_bars": s.n_bars,
        "duration_s": round(s.duration, 6),
        "downbeat_s": 0.0,
        "seed": cfg.seed,
        "index": plan.index,
    }
    meta.update({k: v for k, v in sorted(s.extra.items())})
    return meta


def write_song(song_dir: Path, audio: np.ndarray, meta: dict[str, object], sample_rate: int) -> None:
    """Write ``audio`` [5, 2, L] as five WAV files plus meta.json into ``song_dir``."""
    song_dir.mkdir(parents=True, exist_ok=True)
    for name, x in zip((*STEMS, "mix"), audio, strict=True):
        sf.write(str(song_dir / f"{name}.wav"), x.T, sample_rate, subtype=SUBTYPE, format="WAV")
    (song_dir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def _make(plan: SongPlan, cfg: SynthConfig, out_dir: str) -> tuple[str, float]:
    audio = render_plan(plan, cfg)
    write_song(Path(out_dir) / plan.name, audio, song_meta(plan, cfg), cfg.sample_rate)
    return plan.name, plan.song.duration


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise JenError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        ours = [p for p in out.iterdir() if re.fullmatch(r"song_\d{5}", p.name) or p.name == "dataset.json"]
        if not overwrite or len(ours) != len(list(out.iterdir())):
            raise JenError(
                f"output folder {out} is not empty; choose a new folder (--overwrite replaces an old synth run)"
            )
        for p in ours:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def synthesize(
    out_dir: str | Path,
    cfg: SynthConfig,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> SynthResult:
    """Plan and render the dataset into ``out_dir``; ``progress(done, total, name)`` after each song."""
    start = time.perf_counter()
    if cfg.renderer == "fluidsynth":
        check_fluidsynth(cfg.soundfont)
    out = Path(out_dir)
    _prepare(out, overwrite)
    plans = plan_dataset(cfg)
    result = SynthResult(out_dir=out)
    if cfg.workers == 1:
        done = (_make(p, cfg, str(out)) for p in plans)
        for i, (name, secs) in enumerate(done):
            result.songs.append(name)
            result.seconds += secs
            if progress:
                progress(i + 1, len(plans), name)
    else:
        pool = ProcessPoolExecutor(max_workers=cfg.workers, mp_context=get_context("spawn"))
        try:
            futures = [pool.submit(_make, p, cfg, str(out)) for p in plans]
            for i, fut in enumerate(futures):
                name, secs = fut.result()
                result.songs.append(name)
                result.seconds += secs
                if progress:
                    progress(i + 1, len(plans), name)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C or an error: drop the songs not started
    index = {
        "format": "jen-stems",
        "version": FORMAT_VERSION,
        "generator": "jen data synth",
        "seed": cfg.seed,
        "minutes": cfg.minutes,
        "renderer": cfg.renderer,
        "chorale_fraction": cfg.chorale_fraction,
        "clip_seconds": list(cfg.clip_seconds),
        "sample_rate": cfg.sample_rate,
        "subtype": SUBTYPE,
        "stems": [*STEMS, "mix"],
        "songs": result.songs,
        "total_seconds": round(result.seconds, 6),
    }
    (out / "dataset.json").write_text(json.dumps(index, indent=2) + "\n")
    result.wall_seconds = time.perf_counter() - start
    return result
