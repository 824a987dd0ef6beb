"""The stem-folder scanner and the aligned-segment loader."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from jen_core.errors import JenError
from training.data.audio import normalize_stems, rms_db
from training.data.stems import StemDataset, StemDataWarning, collate_stems, scan_stem_folders
from training.data.symbolic import STEMS

SR = 48000


def write_song(
    root: Path,
    name: str,
    stems: dict[str, np.ndarray],
    *,
    sr: int | dict[str, int] = SR,
    meta: dict[str, object] | None = None,
    subtype: str = "FLOAT",
) -> Path:
    """``stems``: {stem: [C, n]} written as WAV; ``meta`` defaults to a caption only."""
    folder = root / name
    folder.mkdir(parents=True)
    for stem, x in stems.items():
        rate = sr[stem] if isinstance(sr, dict) else sr
        sf.write(str(folder / f"{stem}.wav"), np.asarray(x).T, rate, subtype=subtype)
    (folder / "meta.json").write_text(json.dumps({"caption": f"test song {name}"} if meta is None else meta))
    return folder


def noise_stems(n: int, seed: int = 0, levels: tuple[float, ...] = (0.1, 0.2, 0.05, 0.3)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {s: (lvl * rng.standard_normal((2, n))).astype(np.float32) for s, lvl in zip(STEMS, levels, strict=True)}


@pytest.fixture()
def mixed_root(tmp_path: Path) -> Path:
    """Two good songs and one of each kind of bad song."""
    write_song(tmp_path, "good_a", noise_stems(SR))
    write_song(tmp_path, "good_b", noise_stems(SR, 1))
    stems = noise_stems(SR)
    del stems["melody"]
    write_song(tmp_path, "no_melody", stems)
    write_song(tmp_path, "other_rate", noise_stems(SR), sr={"bass": SR, "drums": 44100, "instrument": SR, "melody": SR})
    stems = noise_stems(SR)
    stems["drums"] = stems["drums"][:, : SR - 100]
    write_song(tmp_path, "short_drums", stems)
    folder = write_song(tmp_path, "broken_file", noise_stems(SR))
    (folder / "bass.wav").write_bytes(b"RIFF....not really a wav file")
    write_song(tmp_path, "no_caption", noise_stems(SR), meta={"bpm": 120})
    return tmp_path


def test_scanner_reports_each_bad_song_by_name_and_skips_it(mixed_root: Path) -> None:
    with pytest.warns(StemDataWarning) as caught:
        report = scan_stem_folders(mixed_root)
    assert [s.name for s in report.songs] == ["good_a", "good_b"]
    problems = {p.name: p.problem for p in report.problems}
    assert set(problems) == {"no_melody", "other_rate", "short_drums", "broken_file", "no_caption"}
    assert "missing stem(s): melody" in problems["no_melody"]
    assert "sample rates differ" in problems["other_rate"] and "44100" in problems["other_rate"]
    assert "lengths differ" in problems["short_drums"] and str(SR - 100) in problems["short_drums"]
    assert "cannot read bass.wav" in problems["broken_file"]
    assert "caption" in problems["no_caption"]
    warned = " ".join(str(w.message) for w in caught)
    assert all(f"skipping song {name}" in warned for name in problems)
    assert "no_melody" in report.summary() and "2 good song(s), 5 bad" in report.summary()


def test_strict_mode_refuses_naming_the_song(mixed_root: Path) -> None:
    with pytest.raises(JenError, match=r"bad song broken_file: cannot read bass\.wav.*4 more bad"):
        scan_stem_folders(mixed_root, strict=True)
    with pytest.raises(JenError, match="bad song"):
        StemDataset(mixed_root, strict=True)


def test_loader_never_yields_a_bad_song(mixed_root: Path) -> None:
    with pytest.warns(StemDataWarning):
        ds = StemDataset(mixed_root, segment_seconds=0.5)
    assert len(ds) == 2 and [ds[i]["name"] for i in range(2)] == ["good_a", "good_b"]


def test_missing_or_empty_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JenError, match="does not exist"):
        scan_stem_folders(tmp_path / "nope")
    with pytest.raises(JenError, match="no song folders"):
        scan_stem_folders(tmp_path)


def test_segments_are_sample_aligned_across_stems(tmp_path: Path) -> None:
    n = 3 * SR
    ramp = np.arange(n, dtype=np.float64) / n  # sample index encoded in the value (float WAV keeps it)
    stems = {s: np.stack([ramp, -ramp]) * (k + 1) / 4 for k, s in enumerate(STEMS)}
    write_song(tmp_path, "ramp", stems)
    ds = StemDataset(tmp_path, segment_seconds=1.0, loudness="none", seed=3)
    starts = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        item = ds[0]
        audio = item["audio"].double().numpy()
        assert audio.shape == (5, 2, SR) and item["audio"].dtype == torch.float32
        index = audio[:4, 0] * n / (np.arange(1, 5)[:, None] / 4)  # undo each stem's scale
        first = round(index[0, 0])
        assert first == round(item["start"] * SR)
        np.testing.assert_allclose(index, first + np.arange(SR)[None, :].repeat(4, 0), atol=0.05)
        np.testing.assert_allclose(audio[:, 1], -audio[:, 0], atol=1e-7)  # channels stay put
        np.testing.assert_allclose(audio[4], audio[:4].sum(0), atol=1e-6)
        starts.add(first)
    assert len(starts) > 1  # epochs draw other segments


def test_segments_are_deterministic_given_seed_and_index(tmp_path: Path) -> None:
    write_song(tmp_path, "a", noise_stems(2 * SR))
    write_song(tmp_path, "b", noise_stems(2 * SR, 1))
    one, two = StemDataset(tmp_path, segment_seconds=0.5, seed=9), StemDataset(tmp_path, segment_seconds=0.5, seed=9)
    assert torch.equal(one[1]["audio"], two[1]["audio"])
    other = StemDataset(tmp_path, segment_seconds=0.5, seed=10)
    assert [other.segment_start(i) for i in range(2)] != [one.segment_start(i) for i in range(2)]


def test_downbeat_snapping_uses_bpm_and_meter(tmp_path: Path) -> None:
    write_song(
        tmp_path,
        "s",
        noise_stems(20 * SR),
        meta={"caption": "x", "bpm": 90, "time_signature": "3/4", "downbeat_s": 0.25},
    )
    ds = StemDataset(tmp_path, segment_seconds=4.0, snap_to_downbeat=True)
    bar = 3 * 60 / 90
    for seed in range(8):
        ds.seed = seed
        start = ds.segment_start(0)
        bars = (start - 0.25) / bar
        assert abs(bars - round(bars)) < 1e-9 and start + 4.0 <= 20.0


def test_resampling_mono_and_padding(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t))[None]  # mono 44.1 kHz, 1 s
    write_song(tmp_path, "mono44", {s: tone for s in STEMS}, sr=44100)
    ds = StemDataset(tmp_path, segment_seconds=1.5, loudness="none")
    audio = ds[0]["audio"].numpy()
    assert audio.shape == (5, 2, int(1.5 * SR))
    np.testing.assert_array_equal(audio[:, 0], audio[:, 1])  # mono -> both channels
    assert np.abs(audio[0, 0, SR + 100 :]).max() == 0.0  # shorter song: zero-padded tail
    spec = np.abs(np.fft.rfft(audio[0, 0, 4800:43200]))
    assert np.fft.rfftfreq(38400, 1 / SR)[np.argmax(spec)] == pytest.approx(1000, abs=2)


def test_loudness_normalisation_equal_rms_and_silence_kept(tmp_path: Path) -> None:
    stems = noise_stems(SR, levels=(0.3, 0.02, 0.1, 0.0))  # melody silent
    write_song(tmp_path, "lv", stems)
    item = StemDataset(tmp_path, segment_seconds=0.5, loudness="stem", target_db=-30.0)[0]
    audio = item["audio"].numpy()
    levels = [rms_db(audio[i]) for i in range(3)]
    assert levels == pytest.approx([-30.0] * 3, abs=0.01)
    assert np.abs(audio[3]).max() == 0.0
    np.testing.assert_allclose(audio[4], audio[:4].sum(0), atol=1e-6)
    loud = normalize_stems(audio[:4] * 50, target_db=-6.0, peak=0.99)  # would clip: one shared gain instead
    assert np.abs(loud.sum(0)).max() <= 0.99 + 1e-6
    assert rms_db(loud[0]) == pytest.approx(rms_db(loud[1]), abs=0.01) and np.abs(loud[3]).max() == 0.0


def test_mix_loudness_mode_keeps_the_balance(tmp_path: Path) -> None:
    write_song(tmp_path, "m", noise_stems(SR, levels=(0.3, 0.02, 0.1, 0.05)))
    raw = StemDataset(tmp_path, segment_seconds=0.5, loudness="none")[0]["audio"].numpy()
    mixed = StemDataset(tmp_path, segment_seconds=0.5, loudness="mix", target_db=-20.0)[0]["audio"].numpy()
    assert rms_db(mixed[4]) == pytest.approx(-20.0, abs=0.01)
    ratio = mixed[:4].reshape(4, -1).std(1) / raw[:4].reshape(4, -1).std(1)
    assert np.ptp(ratio) < 1e-4 * ratio.mean()


def test_collate_and_dataloader(tmp_path: Path) -> None:
    for i in range(3):
        write_song(tmp_path, f"s{i}", noise_stems(SR, i), meta={"caption": f"c{i}", "bpm": None, "key": "C major"})
    ds = StemDataset(tmp_path, segment_seconds=0.25)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate_stems)))
    assert batch["audio"].shape == (3, 5, 2, SR // 4)
    assert batch["caption"] == ["c0", "c1", "c2"] and batch["meta"][0]["key"] == "C major"


def test_cli_check_lists_bad_songs(mixed_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.cli_data import register

    parser = argparse.ArgumentParser(prog="jen")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", "check", str(mixed_root)])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "BAD other_rate: sample rates differ" in out and "BAD short_drums: lengths differ" in out
    args = parser.parse_args(["data", "check", str(mixed_root), "--strict"])
    with pytest.raises(JenError, match="broken_file"):
        args.func(args)
