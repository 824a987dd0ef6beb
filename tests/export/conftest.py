"""One ONNX export of random:tiny per test session (about 15 s on a 2-core CPU), shared by every export test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from export.onnx_export import export_onnx

    return export_onnx("random:tiny", tmp_path_factory.mktemp("onnx") / "tiny")


@pytest.fixture(scope="session")
def onnx_pipeline(tiny_export: Path):
    from export.runtimes.onnx_rt import load_onnx_pipeline

    return load_onnx_pipeline(tiny_export, threads=2)


@pytest.fixture(scope="session")
def tiny_model():
    """The same weights as the export (load_pipeline('random:tiny') uses seed 0)."""
    from jen_core.model import build_model
    from jen_core.presets import get_preset

    return build_model(get_preset("tiny"), seed=0)
