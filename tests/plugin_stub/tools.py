"""Independent readers for the written files: sox/soxi and mediainfo (skipped when not installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

INSTALL = "install them with `make system-deps` (apt-get install sox mediainfo)"


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed: {INSTALL}")
    return path


def soxi(path: Path) -> dict[str, str]:
    """``soxi`` fields: rate, channels, samples, bits, encoding."""
    exe = need("soxi")
    fields = {}
    for key, flag in (("rate", "-r"), ("channels", "-c"), ("samples", "-s"), ("bits", "-b"), ("encoding", "-e")):
        out = subprocess.run([exe, flag, str(path)], capture_output=True, text=True, timeout=30, check=True)
        fields[key] = out.stdout.strip()
    return fields


def sox_decodes(path: Path) -> int:
    """Decode the whole file with sox; returns the sample count sox read (all channels)."""
    exe = need("sox")
    out = subprocess.run([exe, str(path), "-n", "stat"], capture_output=True, text=True, timeout=30, check=True)
    match = re.search(r"Samples read:\s+(\d+)", out.stderr)
    assert match, out.stderr
    return int(match[1])


def mediainfo_time_reference(path: Path) -> int:
    """The bext TimeReference as Debian's ``mediainfo --Details=1`` prints it."""
    exe = need("mediainfo")
    out = subprocess.run([exe, "--Details=1", str(path)], capture_output=True, text=True, timeout=30, check=True)
    match = re.search(r"TimeReference:\s+(\d+)", out.stdout)
    assert match, f"mediainfo shows no TimeReference for {path}"
    return int(match[1])


def expected_sample(ppq: Fraction, tempo: list[tuple[Fraction, Fraction]], rate: int) -> int:
    """The test's own arithmetic: seconds to ``ppq`` under step tempo ``[(ppq, bpm), ...]``, round half up."""
    seconds = Fraction(0)
    for i, (at, bpm) in enumerate(tempo):
        nxt = tempo[i + 1][0] if i + 1 < len(tempo) else None
        if nxt is not None and ppq > nxt:
            seconds += (nxt - at) * 60 / bpm
        else:
            seconds += (ppq - at) * 60 / bpm
            break
    whole, rest = divmod(seconds * rate + Fraction(1, 2), 1)
    return int(whole)
