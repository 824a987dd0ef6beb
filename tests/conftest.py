"""Shared fixtures: one random tiny pipeline per session (building it takes well under a second)."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def tiny_pipeline():
    from jen_core.pipelines import load_pipeline

    return load_pipeline("random:tiny", device="cpu")
