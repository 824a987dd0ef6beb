"""torchrun / DDP plumbing: process-group setup from the environment, rank-0-only output.

One process: nothing to set up. Under ``torchrun --nproc_per_node N`` the usual variables
(RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) are read and the default process
group is opened with NCCL on CUDA and gloo on CPU. torch's own DistributedDataParallel does
the gradient work; this module only wraps the handful of collectives the trainers need.
"""

from __future__ import annotations

import datetime
import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist

from jen_core.errors import JenError


@dataclass(frozen=True)
class DistEnv:
    """Where this process sits: rank of world_size, its device, the backend (None: one process)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.backend is not None


def resolve_train_device(device: str | None, local_rank: int = 0) -> torch.device:
    """'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'; under torchrun 'cuda' means cuda:LOCAL_RANK."""
    name = (device or "auto").strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise JenError(f"--device {device} asked for but no CUDA GPU is available; use --device cpu")
        return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)
    if name != "cpu":
        raise JenError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N")
    return torch.device("cpu")


def init_distributed(device: str | None = "auto") -> DistEnv:
    """Open the process group when started by torchrun (WORLD_SIZE > 1), else a one-process env."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_train_device(device, local_rank)
    if world <= 1:
        return DistEnv(device=dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=30))
    return DistEnv(rank=rank, world_size=world, local_rank=local_rank, device=dev, backend=backend)


def shutdown(env: DistEnv) -> None:
    if env.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(env: DistEnv) -> None:
    if env.distributed:
        if env.backend == "nccl":
            dist.barrier(device_ids=[env.device.index or 0])
        else:
            dist.barrier()


def all_reduce_sum(x: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """Sum of ``x`` over ranks (a new tensor on x's device); identity for one process."""
    if not env.distributed:
        return x.clone()
    y = x.detach().clone().to(env.device)
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y.to(x.device)


def all_gather(x: torch.Tensor, env: DistEnv) -> list[torch.Tensor]:
    """``x`` of every rank, in rank order (same shape and dtype on every rank)."""
    if not env.distributed:
        return [x.clone()]
    src = x.detach().contiguous().to(env.device)
    out = [torch.empty_like(src) for _ in range(env.world_size)]
    dist.all_gather(out, src)
    return [t.to(x.device) for t in out]


def broadcast_int(value: int, env: DistEnv) -> int:
    """Rank 0's ``value`` on every rank."""
    if not env.distributed:
        return value
    t = torch.tensor([value], dtype=torch.int64, device=env.device)
    dist.broadcast(t, src=0)
    return int(t.item())


def main_print(env: DistEnv, message: str, *, end: str = "\n") -> None:
    """Print on rank 0 only (stderr, flushed). A progress update (``end=""``, leading ``\\r``) gets its
    own line when stderr is not a terminal."""
    if not env.is_main:
        return
    if end == "" and not sys.stderr.isatty():
        message, end = message.lstrip("\r"), "\n"
        if not message:
            return
    print(message, end=end, file=sys.stderr, flush=True)
