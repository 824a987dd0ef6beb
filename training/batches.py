"""Deterministic, resumable batches for one rank (a DistributedSampler equivalent).

Epoch ``e`` orders the dataset by a permutation drawn from ``(seed, e)``, repeats it until
every rank gets the same number of full batches, and gives rank r the items r, r + W, ...
(W = world size), like ``DistributedSampler`` with padding. Batch ``b`` of epoch ``e`` is a
pure function of ``(seed, e, b, rank, W)``, so a run resumed at step s continues with exactly
the batch a straight run would have drawn (the data position is the step).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class ShardedBatches:
    """Batches of ``batch_size`` items for ``rank`` of ``world_size``; iterate(start_step) yields (step, batch)."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        batch_size: int,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        num_workers: int = 0,
        collate: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
    ) -> None:
        self.dataset = dataset
        self.size = len(dataset)  # type: ignore[arg-type]
        if self.size == 0:
            raise ValueError("empty dataset")
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.seed, self.num_workers, self.collate, self.pin_memory = seed, num_workers, collate, pin_memory
        self.batches_per_epoch = max(1, math.ceil(self.size / (world_size * batch_size)))

    def position(self, step: int) -> tuple[int, int]:
        """(epoch, batch index within the epoch) of the batch used at ``step``."""
        return divmod(step, self.batches_per_epoch)

    def epoch_indices(self, epoch: int) -> list[int]:
        """This rank's item indices for ``epoch`` (batches_per_epoch * batch_size of them)."""
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.size)
        need = self.batches_per_epoch * self.batch_size * self.world_size
        tiled = np.resize(perm, need)
        return tiled[self.rank :: self.world_size].tolist()

    def keys(self, start_step: int = 0) -> Iterator[tuple[int, int]]:
        """Endless (epoch, item index) pairs of this rank from ``start_step``'s batch on."""
        epoch, offset = self.position(start_step)
        while True:
            for index in self.epoch_indices(epoch)[offset * self.batch_size :]:
                yield epoch, index
            epoch, offset = epoch + 1, 0

    def iterate(self, start_step: int = 0) -> Iterator[tuple[int, Any]]:
        """Endless (step, batch) pairs from ``start_step``; one DataLoader (and worker pool) for the whole run."""
        loader = DataLoader(
            _EpochItems(self.dataset),  # type: ignore[arg-type]
            batch_size=self.batch_size,
            sampler=_Keys(self, start_step),  # type: ignore[arg-type]
            num_workers=self.num_workers,
            collate_fn=self.collate,
            pin_memory=self.pin_memory,
            drop_last=True,
            generator=torch.Generator().manual_seed(self.seed),
        )
        yield from enumerate(loader, start=start_step)


class _Keys:
    """Sampler yielding (epoch, index) keys forever."""

    def __init__(self, batches: ShardedBatches, start_step: int) -> None:
        self.batches, self.start_step = batches, start_step

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return self.batches.keys(self.start_step)


class _EpochItems(Dataset):
    """Fetches item ``index`` of ``epoch``: datasets with ``set_epoch`` draw their segments per epoch."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        return self.dataset[index]
