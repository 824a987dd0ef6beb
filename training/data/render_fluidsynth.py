"""FluidSynth renderer: each part becomes a one-track MIDI file rendered by the ``fluidsynth`` CLI.

Needs the Debian packages ``fluidsynth`` and ``fluid-soundfont-gm`` (MIT-licensed GM
soundfont): ``apt-get install -y --no-install-recommends fluidsynth fluid-soundfont-gm``.
Drum kits are GM bank-128 presets on MIDI channel 10. Output is float WAV at the target
rate, trimmed or padded to the clip length so every stem stays sample-aligned.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from jen_core.errors import JenError
from training.data.instruments import INSTRUMENTS
from training.data.midi import DRUM_CHANNEL, midi_bytes
from training.data.symbolic import SymbolicSong

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
INSTALL_HINT = "apt-get install -y --no-install-recommends fluidsynth fluid-soundfont-gm"
_CHANNELS = {"bass": 0, "instrument": 1, "melody": 2, "drums": DRUM_CHANNEL}


def check_fluidsynth(soundfont: str | Path = DEFAULT_SOUNDFONT) -> str:
    """Path of the ``fluidsynth`` program; JenError naming the packages to install when it or the soundfont is missing."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise JenError(
            f"the fluidsynth renderer needs the fluidsynth program: {INSTALL_HINT} (or use --renderer builtin)"
        )
    if not Path(soundfont).is_file():
        raise JenError(f"soundfont {soundfont} not found: {INSTALL_HINT} (or pass --soundfont FILE.sf2)")
    return exe


def render_fluidsynth(
    song: SymbolicSong,
    *,
    sample_rate: int = 48000,
    soundfont: str | Path = DEFAULT_SOUNDFONT,
) -> dict[str, np.ndarray]:
    """Render every part with FluidSynth: ``{stem: float64 [2, L]}``, ``L = round(duration * sample_rate)``."""
    exe = check_fluidsynth(soundfont)
    length = int(round(song.duration * sample_rate))
    stems: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="jen-fluid-") as tmp:
        for part in song.parts:
            mid = Path(tmp) / f"{part.stem}.mid"
            wav = Path(tmp) / f"{part.stem}.wav"
            mid.write_bytes(
                midi_bytes(
                    part.notes,
                    bpm=song.bpm,
                    meter=song.meter,
                    program=INSTRUMENTS[part.instrument].program,
                    channel=_CHANNELS[part.stem],
                    end_seconds=song.duration,
                    pan=part.pan,
                )
            )
            cmd = [exe, "-ni", "-q", "-o", "synth.dynamic-sample-loading=1", "-g", "0.5", "-r", str(sample_rate)]
            cmd += ["-O", "float", "-T", "wav", "-F", str(wav), str(soundfont), str(mid)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0 or not wav.exists():
                detail = (proc.stderr or proc.stdout).strip().splitlines()
                raise JenError(
                    f"fluidsynth failed on the {part.stem} part: {detail[-1] if detail else proc.returncode}"
                )
            audio, sr = sf.read(str(wav), dtype="float64", always_2d=True)
            if sr != sample_rate:
                raise JenError(f"fluidsynth wrote {sr} Hz instead of {sample_rate} Hz; check its configuration")
            audio = audio.T[:2]
            if audio.shape[0] == 1:
                audio = np.repeat(audio, 2, axis=0)
            out = np.zeros((2, length))
            n = min(length, audio.shape[1])
            out[:, :n] = audio[:, :n]
            stems[part.stem] = out
    return stems
