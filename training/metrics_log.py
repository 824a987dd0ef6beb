"""Progress line, TensorBoard event files and a JSONL log of training metrics (rank 0 only).

TensorBoard (``torch.utils.tensorboard``) is imported lazily; without the ``tensorboard``
package the run goes on and ``metrics.jsonl`` is the record.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from training.distributed import DistEnv


class MetricsLogger:
    """Averages metrics between flushes; ``flush(step)`` prints a progress line and writes the logs."""

    def __init__(self, run_dir: Path, env: DistEnv, *, tensorboard: bool = True, total_steps: int = 0) -> None:
        self.run_dir, self.env, self.total_steps = run_dir, env, total_steps
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.writer: Any = None
        self.tty = sys.stderr.isatty()
        self._t = time.perf_counter()
        self._steps = 0
        self.last: dict[str, float] = {}
        if env.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            if tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter

                    self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))
                except ImportError:
                    print("note: tensorboard is not installed; metrics go to metrics.jsonl only", file=sys.stderr)

    def add(self, metrics: dict[str, float]) -> None:
        self._steps += 1
        for k, v in metrics.items():
            if v is not None and math.isfinite(v):
                self.sums[k] += float(v)
                self.counts[k] += 1

    def flush(self, step: int, *, extra: dict[str, float] | None = None) -> dict[str, float]:
        now = time.perf_counter()
        rate = self._steps / max(now - self._t, 1e-9)
        values = {k: self.sums[k] / self.counts[k] for k in self.sums if self.counts[k]}
        values.update(extra or {})
        values["steps_per_s"] = rate
        self.sums.clear()
        self.counts.clear()
        self._t, self._steps = now, 0
        self.last = values
        if not self.env.is_main:
            return values
        self.write(step, values)
        loss = values.get("loss", float("nan"))
        eta = (self.total_steps - step) / rate if rate > 0 and self.total_steps > step else 0.0
        line = (
            f"step {step}/{self.total_steps}  loss {loss:.4f}  lr {values.get('lr', 0.0):.2e}  "
            f"{rate:.2f} steps/s  eta {time.strftime('%H:%M:%S', time.gmtime(eta))}"
        )
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
        return values

    def write(self, step: int, values: dict[str, float]) -> None:
        """Record ``values`` at ``step`` in metrics.jsonl and TensorBoard (rank 0)."""
        if not self.env.is_main:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps({"step": step, **values}) + "\n")
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, v, step)

    def message(self, text: str) -> None:
        if self.env.is_main:
            print(("\n" if self.tty else "") + text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.env.is_main and self.tty:
            print(file=sys.stderr)
        if self.writer is not None:
            self.writer.close()
            self.writer = None
