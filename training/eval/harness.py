"""`jen eval`: generate for every song of an evaluation set and measure, beside two bounds.

For each song (caption, BPM, key, duration from its meta.json and audio):

- ``generate``: all four stems with the song's own prompt (``model``), and with the prompt of
  another song (``shuffled``: captions, BPM and keys permuted across songs by a seeded
  derangement; the clip keeps this song's length) -- both scored against this song's asked
  BPM and key -- and the song's own renders (``ground_truth``) scored the same way;
- ``compose``: the ground-truth drums kept, the bass generated (own prompt / shuffled prompt),
  against the real bass;
- ``recon``: every stem and the mix through the autoencoder (and its latent whitening), beside
  Opus at the latent bitrate, the input itself and another song's stem.

Returns one JSON-ready report (schema ``jen-eval/1``)::

    schema, command, model, model_preset, set, set_info (the set's dataset.json: generator, seed,
    renderer, ...), songs, seconds_evaluated, seed, steps, sampler, tasks, date (UTC ISO 8601),
    machine {platform, processor, cpu_count, python, torch, device, cuda}, wall_seconds,
    embedding, latent_bitrate, opus {backend, target_bitrate, achieved_bitrate}, notes [str],
    metrics {"<task>.<name>": entry}, acceptance {"<check>": {value, threshold, pass}},
    per_song [{name, seconds, caption, bpm, key, shuffled_prompt_from,
               generate {model|shuffled|ground_truth: raw scores}, compose {...}}], plots [paths]

See :mod:`training.eval.report` for the figure entries.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from jen_core.errors import JenError
from training.eval import report as rep
from training.eval.evalset import MIX, EvalSong, derangement, load_eval_set, set_description
from training.eval.metrics_frechet import EMBEDDING_NAME, embed, frechet_distance
from training.eval.scoring import STEM_NAMES, Extras, score_compose, score_song
from training.eval.signal import crop

TASKS = ("generate", "compose", "recon")
SCHEMA = "jen-eval/1"
TRACKS = (*STEM_NAMES, MIX)


@dataclass(frozen=True)
class EvalConfig:
    """Options of ``jen eval``. ``max_seconds`` caps each clip (None: the song's length, up to the model's max)."""

    model: str
    set_dir: Path
    tasks: tuple[str, ...] = TASKS
    limit: int | None = None
    steps: int | None = None
    sampler: str | None = None
    seed: int = 0
    max_seconds: float | None = None
    device: str = "cpu"
    plots_dir: Path | None = None
    pitch: bool = True
    transcription: bool = True
    opus: bool = True
    command: str = ""
    extra_notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.tasks) - set(TASKS))
        if unknown or not self.tasks:
            raise JenError(f"unknown or empty --tasks {','.join(unknown)}; choose from {','.join(TASKS)}")
        if self.limit is not None and self.limit < 1:
            raise JenError(f"--limit must be at least 1, got {self.limit}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise JenError(f"--seconds must be positive, got {self.max_seconds}")


def machine_info(device: str) -> dict[str, object]:
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
        "cuda": torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else None,
    }


def _resolve_extras(cfg: EvalConfig, notes: list[str]) -> Extras:
    pitch, transcription = cfg.pitch, cfg.transcription
    if pitch:
        from training.eval.metrics_pitch import crepe_status

        why = crepe_status()
        if why:
            notes.append(f"pitch metrics skipped: {why}")
            pitch = False
    else:
        notes.append("pitch metrics (torchcrepe) skipped: --no-pitch")
    if transcription:
        from training.eval.metrics_pitch import transcription_status

        why = transcription_status()
        if why:
            notes.append(f"transcription metric skipped: {why}")
            transcription = False
    else:
        notes.append("transcription metric (basic-pitch) skipped: --no-transcription")
    return Extras(pitch=pitch, transcription=transcription)


def _options(cfg: EvalConfig, song: EvalSong, seed: int) -> dict[str, object]:
    return {"bpm": song.bpm, "key": song.key_name, "seed": seed, "steps": cfg.steps, "sampler": cfg.sampler}


def autoencoder_roundtrip(pipe, audio: np.ndarray) -> np.ndarray:  # noqa: ANN001 - JenPipeline
    """audio: [B, 2, L] -> [B, 2, L] through encode, whiten, unwhiten, decode (what diffusion can represent)."""
    import torch

    model = pipe.model
    wav = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(pipe.device)
    with torch.inference_mode():
        z = model.autoencoder.encode(wav)
        z = model.whitener.unwhiten(model.whitener.whiten(z))
        out = model.autoencoder.decode(z)[:, :, : audio.shape[-1]]
    return out.float().cpu().numpy().astype(np.float32)


def _identity_row(song: str, track: str, x: np.ndarray) -> dict[str, object]:
    """The input against itself: distances are exactly 0; SI-SDR is computed (finite, ~+150 dB or more)."""
    from training.eval.metrics_recon import si_sdr_db

    return {"song": song, "track": track, "kind": "identity", "mel_distance": 0.0, "mrstft_distance": 0.0,
            "si_sdr_db": round(si_sdr_db(x, x), 4)}  # fmt: skip


def _frechet_entry(emb: dict[str, dict[str, list[np.ndarray]]]) -> dict[str, object]:
    per_stem: dict[str, dict[str, float | None]] = {}
    truth = emb["ground_truth"]
    for track in TRACKS:
        if not truth.get(track):
            continue
        ref = np.concatenate(truth[track])
        row: dict[str, float | None] = {}
        for cond in ("model", "shuffled"):
            row[cond] = (
                round(frechet_distance(np.concatenate(emb[cond][track]), ref), 4) if emb[cond].get(track) else None
            )
        halves = truth[track][0::2], truth[track][1::2]
        row["ground_truth"] = (
            round(frechet_distance(np.concatenate(halves[0]), np.concatenate(halves[1])), 4) if halves[1] else None
        )
        per_stem[track] = row
    entry: dict[str, object] = {}
    for cond in rep.CONDITIONS:
        vals = [r[cond] for r in per_stem.values() if r.get(cond) is not None]
        entry[cond] = round(float(np.mean(vals)), 4) if vals else None
    entry.update(
        n=len(truth.get(MIX, [])),
        unit="distance",
        better="lower",
        description=(
            f"Frechet distance on {EMBEDDING_NAME} to the set's renders, mean over stems and mix; "
            "ground_truth: between the even and odd songs of the set (split-half noise floor)"
        ),
        per_stem=per_stem,
    )
    return entry


def jsonable(value: object) -> object:
    """Numpy scalars to Python, non-finite floats to None, recursively (for strict JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if math.isfinite(float(value)) else None
    return value


def run_eval(cfg: EvalConfig, *, progress: Callable[[str], None] | None = None) -> dict[str, object]:
    """Run every task of ``cfg`` and return the report (JSON-ready dict)."""
    from jen_core.pipelines import load_pipeline, mix_stems
    from training.eval.codec_opus import latent_bitrate, opus_backend, opus_roundtrip
    from training.eval.metrics_recon import reconstruction_metrics

    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    notes: list[str] = list(cfg.extra_notes)
    pipe = load_pipeline(cfg.model, device=cfg.device, seed=cfg.seed)
    sr = pipe.sample_rate
    cap = min(pipe.max_seconds, cfg.max_seconds or math.inf)
    songs = load_eval_set(cfg.set_dir, limit=cfg.limit, max_seconds=cap)
    perm = derangement(len(songs), seed=cfg.seed)
    if len(songs) < 2:
        notes.append("one song only: the shuffled-prompt control uses the song's own prompt")
    extras = _resolve_extras(cfg, notes) if "generate" in cfg.tasks else Extras()
    if any(s.bpm is None for s in songs) or any(s.key is None for s in songs):
        notes.append("some songs lack a bpm or key in meta.json; tempo/key figures leave them out")

    bitrate = latent_bitrate(frame_rate=pipe.cfg.autoencoder.frame_rate, k=pipe.cfg.k)
    backend = None
    if "recon" in cfg.tasks:
        backend, why = opus_backend() if cfg.opus else (None, "Opus reference skipped: --no-opus")
        notes.append(why if backend is None else f"{why}; target {bitrate / 1000:.1f} kbit/s")

    gen_clips: dict[str, list] = {c: [] for c in rep.CONDITIONS}
    comp_clips: dict[str, list] = {c: [] for c in rep.CONDITIONS}
    emb: dict[str, dict[str, list[np.ndarray]]] = {c: {} for c in rep.CONDITIONS}
    recon_rows: list[dict[str, object]] = []
    per_song: list[dict[str, object]] = []
    opus_rates: list[float] = []
    plot_audio: tuple[str, dict[str, np.ndarray], dict[str, np.ndarray]] | None = None

    for i, song in enumerate(songs):
        other = songs[perm[i]]
        gt = song.load(sr)
        row: dict[str, object] = {
            "name": song.name, "seconds": round(song.seconds, 4), "caption": song.caption, "bpm": song.bpm,
            "key": song.key_name, "shuffled_prompt_from": other.name,
        }  # fmt: skip
        seed = cfg.seed + i
        if "generate" in cfg.tasks:
            say(f"[{i + 1}/{len(songs)}] {song.name}: generate")
            own = pipe.generate(song.caption, seconds=song.seconds, **_options(cfg, song, seed))
            shuffled = pipe.generate(other.caption, seconds=song.seconds, **_options(cfg, other, seed))
            truth = {s: gt[s] for s in STEM_NAMES}
            scores = {}
            for cond, stems, mix in (
                ("model", own, mix_stems(own)),
                ("shuffled", shuffled, mix_stems(shuffled)),
                ("ground_truth", truth, gt[MIX]),
            ):
                scores[cond] = score_song(stems, mix, sr, bpm=song.bpm, key=song.key, extras=extras)
                gen_clips[cond].append(scores[cond])
                for track, audio in (*stems.items(), (MIX, mix)):
                    emb[cond].setdefault(track, []).append(embed(audio, sr))
            row["generate"] = scores
            if plot_audio is None:
                plot_audio = (song.name, {**own, MIX: mix_stems(own)}, {**truth, MIX: gt[MIX]})
        if "compose" in cfg.tasks:
            say(f"[{i + 1}/{len(songs)}] {song.name}: compose (drums kept, bass generated)")
            kept = {"drums": gt["drums"]}
            own_bass = pipe.compose(song.caption, keep=kept, generate=["bass"], **_options(cfg, song, seed))["bass"]
            shuf_bass = pipe.compose(other.caption, keep=kept, generate=["bass"], **_options(cfg, other, seed))["bass"]
            scores = {
                cond: score_compose(bass, gt["drums"], sr)
                for cond, bass in (("model", own_bass), ("shuffled", shuf_bass), ("ground_truth", gt["bass"]))
            }
            for cond, s in scores.items():
                comp_clips[cond].append(s)
            row["compose"] = scores
        if "recon" in cfg.tasks:
            say(f"[{i + 1}/{len(songs)}] {song.name}: autoencoder reconstruction")
            other_gt = other.load(sr) if other is not song else None
            decoded = autoencoder_roundtrip(pipe, np.stack([gt[t] for t in TRACKS]))
            for track, ae in zip(TRACKS, decoded, strict=True):
                x = gt[track]
                pairs = [("autoencoder", ae)]
                if other_gt is not None:
                    pairs.append(("mismatched", crop(other_gt[track], x.shape[1])))
                if backend is not None:
                    res = opus_roundtrip(x, sr, bitrate=bitrate, backend=backend)
                    opus_rates.append(res.bitrate)
                    pairs.append(("opus", res.audio))
                recon_rows.append(_identity_row(song.name, track, x))
                for kind, y in pairs:
                    m = reconstruction_metrics(x, y, sr)
                    recon_rows.append(
                        {"song": song.name, "track": track, "kind": kind, **{k: round(v, 4) for k, v in m.items()}}
                    )
        per_song.append(row)

    metrics: dict[str, dict[str, object]] = {}
    if "generate" in cfg.tasks:
        metrics.update({f"generate.{k}": v for k, v in rep.summarize_generate(gen_clips).items()})
        metrics["generate.frechet_distance"] = _frechet_entry(emb)
        if not extras.pitch:
            for k in ("melody_pitch_in_key", "bass_pitch_in_key"):
                metrics[f"generate.{k}"]["skipped"] = True
        if not extras.transcription:
            metrics["generate.notes_in_key"]["skipped"] = True
    if "compose" in cfg.tasks:
        metrics.update({f"compose.{k}": v for k, v in rep.summarize_compose(comp_clips).items()})
    if "recon" in cfg.tasks:
        metrics.update({f"recon.{k}": v for k, v in rep.summarize_recon(recon_rows).items()})

    plots: list[str] = []
    if cfg.plots_dir is not None:
        from training.eval import plots as plt_

        out_dir = Path(cfg.plots_dir)
        if plot_audio is not None:
            name, generated, truth = plot_audio
            plots.append(
                str(
                    plt_.stem_spectrograms(
                        out_dir / f"spectrograms_{name}.png", generated, truth, sr, title=f"{cfg.model} on {name}"
                    )
                )
            )
        plots.append(
            str(plt_.metric_bars(out_dir / "metrics.png", metrics, title=f"{cfg.model} on {Path(cfg.set_dir).name}"))
        )

    report = {
        "schema": SCHEMA,
        "command": cfg.command,
        "model": cfg.model,
        "model_preset": pipe.cfg.name,
        "set": str(Path(cfg.set_dir).resolve()),
        "set_info": set_description(cfg.set_dir),
        "songs": len(songs),
        "seconds_evaluated": round(sum(s.seconds for s in songs), 3),
        "seed": cfg.seed,
        "steps": cfg.steps if cfg.steps is not None else pipe.cfg.diffusion.steps,
        "sampler": cfg.sampler or pipe.cfg.diffusion.sampler,
        "tasks": list(cfg.tasks),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(str(pipe.device)),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "embedding": f"Frechet distance on {EMBEDDING_NAME}",
        "latent_bitrate": bitrate,
        "opus": {
            "backend": backend,
            "target_bitrate": bitrate,
            "achieved_bitrate": round(float(np.mean(opus_rates)), 1) if opus_rates else None,
        },
        "notes": notes,
        "metrics": metrics,
        "acceptance": rep.acceptance(metrics),
        "per_song": per_song,
        "plots": plots,
    }
    return jsonable(report)  # type: ignore[return-value]
