"""PNG plots of an evaluation (matplotlib, Agg backend: no display needed).

- :func:`stem_spectrograms`: log-mel spectrograms of a generated song's stems and mix beside the
  ground truth;
- :func:`metric_bars`: each figure as bars for the shuffled-prompt bound, the model and the
  ground-truth bound (and Opus for reconstruction), one panel per unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from training.eval.signal import ANALYSIS_SR, analysis_mono

COLORS = {"shuffled": "#bbbbbb", "model": "#1f77b4", "ground_truth": "#2ca02c", "opus": "#ff7f0e"}
LABELS = {
    "shuffled": "shuffled prompts (lower)",
    "model": "model",
    "ground_truth": "ground truth (upper)",
    "opus": "Opus",
}


def _pyplot():  # noqa: ANN202 - matplotlib module
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _logmel(wav: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    y = analysis_mono(wav, sr)
    mel = librosa.feature.melspectrogram(y=y, sr=ANALYSIS_SR, n_fft=1024, hop_length=256, n_mels=96)
    return librosa.power_to_db(mel, ref=1.0, top_db=None)


def stem_spectrograms(
    path: str | Path,
    generated: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray] | None,
    sr: int,
    *,
    title: str = "",
) -> Path:
    """Rows: tracks of ``generated`` ({name: [C, L]}); columns: generated, reference. Returns the PNG path."""
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(generated)
    cols = 2 if reference else 1
    fig, axes = plt.subplots(len(names), cols, figsize=(6 * cols, 1.8 * len(names)), squeeze=False, sharey=True)
    for r, name in enumerate(names):
        for c, (label, source) in enumerate((("generated", generated), ("ground truth", reference or {}))[:cols]):
            ax = axes[r][c]
            if name not in source:
                ax.axis("off")
                continue
            spec = _logmel(source[name], sr)
            seconds = source[name].shape[-1] / sr
            ax.imshow(
                spec,
                origin="lower",
                aspect="auto",
                vmin=-80,
                vmax=max(float(spec.max()), -40),
                extent=(0, seconds, 0, spec.shape[0]),
                cmap="magma",
            )
            ax.set_title(f"{label}: {name}", fontsize=9)
            ax.set_ylabel("mel bin", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[-1][0].set_xlabel("seconds", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def metric_bars(path: str | Path, metrics: Mapping[str, Mapping[str, object]], *, title: str = "") -> Path:
    """Grouped horizontal bars per figure (shuffled, model, ground truth, Opus), one panel per unit."""
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    units: dict[str, list[str]] = {}
    for name, entry in metrics.items():
        if any(isinstance(entry.get(c), int | float) for c in COLORS):
            units.setdefault(str(entry.get("unit")), []).append(name)
    if not units:
        units = {"none": []}
    heights = [max(1.5, 0.45 * len(v) + 1.0) for v in units.values()]
    fig, axes = plt.subplots(
        len(units), 1, figsize=(9, sum(heights)), squeeze=False, gridspec_kw={"height_ratios": heights}
    )
    for ax, (unit, names) in zip(axes[:, 0], units.items(), strict=True):
        conds = [c for c in COLORS if any(isinstance(metrics[n].get(c), int | float) for n in names)]
        width = 0.8 / max(len(conds), 1)
        for j, cond in enumerate(conds):
            vals = [metrics[n].get(cond) for n in names]
            ys = np.arange(len(names)) + j * width
            xs = [float(v) if isinstance(v, int | float) else np.nan for v in vals]  # nothing measured: no bar
            if unit == "dB":
                xs = [min(x, 60.0) for x in xs]  # identity SI-SDR is ~+150 dB
            ax.barh(ys, xs, height=width, color=COLORS[cond], label=LABELS[cond])
        ax.set_yticks(np.arange(len(names)) + 0.4 - width / 2)
        ax.set_yticklabels(names, fontsize=7)
        ax.invert_yaxis()
        better = metrics[names[0]].get("better") if names else ""
        ax.set_xlabel(f"{unit} ({better} is better)" + (", clipped at 60" if unit == "dB" else ""), fontsize=8)
        if unit == "share":
            ax.set_xlim(0, 1)
        ax.legend(fontsize=7, loc="lower right")
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
