"""Shared fixtures: one random tiny pipeline per session (building it takes well under a second)."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One intra-op thread per process: the tests' models are tiny, and several test processes (servers,
# torchrun ranks) share 2 cores. Two spinning OpenMP threads per process on a busy 2-core machine made
# a tiny training step 75x slower (4.1 s vs 0.056 s). Subprocesses inherit the variables.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_pipeline():
    from jen_core.pipelines import load_pipeline

    return load_pipeline("random:tiny", device="cpu")
