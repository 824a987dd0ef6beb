"""Evaluation sets: loading a stem-folder set, making a held-out synthetic one, shuffling prompts.

An evaluation set is any stem-folder dataset (see :mod:`training.data.stems`): ``jen data synth``
output made with a seed never used for training, a FluidSynth-rendered one (timbres the
model never heard), or users' own stems. Each song gives its caption, BPM and key (when its
meta.json has them) and its ground-truth stems, cropped to the evaluated length.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jen_core.conditioning import key_name, parse_key
from jen_core.errors import JenError
from training.data.audio import read_audio, resample, to_stereo
from training.data.stems import SongInfo, scan_stem_folders
from training.data.symbolic import STEMS
from training.eval.signal import crop

MIX = "mix"


@dataclass(frozen=True)
class EvalSong:
    """One song of the set: prompt fields and evaluated length (``seconds``)."""

    info: SongInfo
    caption: str
    bpm: float | None
    key: int | None  # 1..24, see jen_core.conditioning.parse_key
    seconds: float

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def key_name(self) -> str | None:
        return key_name(self.key) if self.key is not None else None

    def load(self, sample_rate: int) -> dict[str, np.ndarray]:
        """Ground truth {bass, drums, instrument, melody, mix: float32 [2, L]} at ``sample_rate``,
        L = round(seconds * sample_rate); the mix is the song's mix file, or the sum of the stems."""
        frames = int(round(self.seconds * self.info.sample_rate))
        length = int(round(self.seconds * sample_rate))
        out = {}
        for name, path in self.info.files.items():
            x, sr = read_audio(path, start=0, frames=frames)
            out[name] = crop(resample(to_stereo(x), sr, sample_rate), length)
        if MIX not in out:
            out[MIX] = np.sum([out[s] for s in STEMS], axis=0).astype(np.float32)
        return out


def _bpm(meta: dict) -> float | None:
    bpm = meta.get("bpm")
    return float(bpm) if isinstance(bpm, int | float) and not isinstance(bpm, bool) and 20 <= bpm <= 400 else None


def _key(meta: dict) -> int | None:
    key = meta.get("key")
    if not isinstance(key, str) or not key.strip():
        return None
    try:
        return parse_key(key)
    except JenError:
        return None


def load_eval_set(root: str | Path, *, limit: int | None = None, max_seconds: float) -> list[EvalSong]:
    """Good songs of the stem-folder set at ``root`` (sorted by name, first ``limit``), each evaluated
    over min(its duration, ``max_seconds``). Bad songs are skipped (``jen data check`` lists them)."""
    report = scan_stem_folders(root, warn=False)
    if not report.songs:
        raise JenError(f"no usable songs in {root}; run `jen data check {root}`")
    songs = report.songs[: limit if limit else None]
    return [
        EvalSong(info=s, caption=s.caption, bpm=_bpm(s.meta), key=_key(s.meta), seconds=min(s.duration, max_seconds))
        for s in songs
    ]


def set_description(root: str | Path) -> dict[str, object]:
    """What the set's dataset.json says (generator, seed, renderer, ...), or {} for other sets."""
    path = Path(root) / "dataset.json"
    try:
        index = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    keep = ("generator", "seed", "renderer", "minutes", "clip_seconds", "chorale_fraction", "total_seconds")
    return {k: index[k] for k in keep if k in index}


def derangement(n: int, *, seed: int) -> list[int]:
    """A seeded permutation of range(n) with no fixed point (identity when n < 2): whose prompt each
    song gets in the shuffled-prompt control."""
    if n < 2:
        return list(range(n))
    rng = np.random.default_rng(seed)
    while True:
        perm = [int(i) for i in rng.permutation(n)]
        if all(p != i for i, p in enumerate(perm)):
            return perm


def make_eval_set(
    out: str | Path,
    *,
    seed: int,
    minutes: float,
    clip_seconds: tuple[float, float] = (8.0, 16.0),
    renderer: str = "builtin",
    chorale_fraction: float = 0.25,
    overwrite: bool = False,
) -> Path:
    """Render a held-out synthetic set with ``jen data synth``'s generator (pick a ``seed`` the
    training recipe never uses). Returns the folder."""
    from training.data.synth import SynthConfig, synthesize

    cfg = SynthConfig(
        minutes=minutes, seed=seed, renderer=renderer, clip_seconds=clip_seconds, chorale_fraction=chorale_fraction
    )
    return synthesize(out, cfg, overwrite=overwrite).out_dir
