"""Resumable per-rank batches (the DistributedSampler equivalent)."""

from __future__ import annotations

from itertools import islice

from training.batches import ShardedBatches


class _Items:
    def __init__(self, n: int) -> None:
        self.n, self.epoch = n, 0

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> tuple[int, int]:
        return self.epoch, i


def _batches(rank: int, world: int, n: int = 10, batch: int = 3) -> ShardedBatches:
    return ShardedBatches(_Items(n), batch_size=batch, rank=rank, world_size=world, seed=7, collate=list)


def test_ranks_cover_the_dataset_with_equal_full_batches() -> None:
    world = 2
    shards = [_batches(r, world).epoch_indices(4) for r in range(world)]
    assert len(shards[0]) == len(shards[1]) == 2 * 3  # ceil(10 / (2 * 3)) = 2 batches of 3 per rank
    assert set(shards[0]) | set(shards[1]) == set(range(10))  # every item, padded by repeats like DistributedSampler
    assert _batches(0, world).epoch_indices(4) != _batches(0, world).epoch_indices(5)  # reshuffled per epoch


def test_iteration_resumed_mid_epoch_matches_a_straight_one() -> None:
    straight = [b for _, b in islice(_batches(1, 2).iterate(0), 7)]
    resumed = [b for _, b in islice(_batches(1, 2).iterate(3), 4)]
    assert resumed == straight[3:]
    steps = [s for s, _ in islice(_batches(1, 2).iterate(3), 4)]
    assert steps == [3, 4, 5, 6]
    assert {e for b in straight for e, _ in b} == {0, 1, 2, 3}  # items carry their epoch (segment draw)
