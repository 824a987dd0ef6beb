"""``jen bench``: time one generation task per backend and report speed and memory.

Per run: wall time end to end, time to first audio (the end of the first decode: pipelines return
all stems after one batched decode, so nothing can be streamed earlier), per-stage times (text
encoder, sampling loop including every UNet call, decoder), the real-time factor
(wall / audio seconds; <= 1 is real time), and peak memory (process RSS high-water mark, reset per
run on Linux; CUDA max allocated when torch runs on a GPU). With ``vs`` two backends are loaded in
one process and run alternately (ABBA order), so a busy machine slows both alike; medians and the
speed ratio are reported.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jen_core.errors import JenError

STAGES = ("text", "sampling", "decode")


@dataclass
class BenchConfig:
    model: str = "random:small"
    backends: tuple[str, ...] = ("torch",)
    stems: int | tuple[str, ...] = 4
    seconds: float = 10.0
    steps: int = 25
    sampler: str = "dpmpp"
    guidance: float | None = None  # None: the model's CFG scale (2.0: the CFG batch is used)
    repeats: int = 3
    warmup: int = 1
    device: str = "cpu"
    threads: int | None = None
    prompt: str = "funky bass and tight drums, 120 bpm"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Stages:
    """Accumulates the wall time spent in wrapped callables, and the time of each sampler step."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.spent = {"text": 0.0, "decode": 0.0}
        self.text_end: float | None = None
        self.first_audio: float | None = None
        self.last_step: float | None = None

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            out = _sync(fn(*args, **kwargs))
            end = time.perf_counter()
            self.spent[stage] += end - start
            if stage == "text":
                self.text_end = end
            elif self.first_audio is None:
                self.first_audio = end - self.t0
            return out

        return timed

    def on_step(self, done: int, total: int) -> None:
        self.last_step = time.perf_counter()


def _sync(value: Any) -> Any:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return value


@contextmanager
def instrument(pipe: Any) -> Iterator[_Stages]:
    """Time the text encoder and decoder of ``pipe`` (a JenPipeline or a NumpyPipeline) while inside."""
    stages = _Stages()
    if hasattr(pipe, "runtime"):  # NumpyPipeline: onnx / tensorrt / torch runtimes
        owners = [(pipe.runtime, "text", "text"), (pipe.runtime, "decode", "decode")]
    else:  # jen_core JenPipeline
        owners = [(pipe.model.text_encoder, "encode", "text"), (pipe.model.autoencoder, "decode", "decode")]
    for owner, attr, stage in owners:
        object.__setattr__(owner, attr, stages.wrap(stage, getattr(owner, attr)))
    try:
        yield stages
    finally:
        for owner, attr, _ in owners:
            object.__delattr__(owner, attr)


def stem_list(pipe: Any, stems: int | Sequence[str]) -> list[str]:
    if isinstance(stems, int):
        if not 1 <= stems <= len(pipe.stems):
            raise JenError(f"--stems {stems}: this model has {len(pipe.stems)} stems ({', '.join(pipe.stems)})")
        return list(pipe.stems[:stems])
    return list(stems)


def run_once(pipe: Any, cfg: BenchConfig) -> dict[str, float]:
    """One timed generate(); returns seconds per stage, totals and memory."""
    stems = stem_list(pipe, cfg.stems)
    _reset_peaks()
    with instrument(pipe) as st:
        start = st.t0
        pipe.generate(cfg.prompt, seconds=cfg.seconds, stems=stems, steps=cfg.steps, sampler=cfg.sampler,
                      guidance=cfg.guidance, seed=cfg.seed, on_step=st.on_step)
        _sync(None)
        total = time.perf_counter() - start
    text_end = st.text_end if st.text_end is not None else start
    sampling = (st.last_step - text_end) if st.last_step is not None else float("nan")
    return {
        "total_s": total,
        "time_to_first_audio_s": st.first_audio if st.first_audio is not None else total,
        "text_s": st.spent["text"],
        "sampling_s": sampling,
        "decode_s": st.spent["decode"],
        "rtf": total / cfg.seconds,
        **_peaks(),
    }


def run_bench(cfg: BenchConfig, *, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Load each backend, warm up, run ``repeats`` alternating rounds; returns a JSON-able report."""
    from export.runtimes import load_pipeline

    say = log or (lambda _msg: None)
    if not 1 <= cfg.repeats <= 100:
        raise JenError(f"--repeats {cfg.repeats} is outside 1-100")
    pipes: dict[str, Any] = {}
    loads: dict[str, float] = {}
    for backend in cfg.backends:
        say(f"loading {cfg.model} on {backend}")
        t0 = time.perf_counter()
        pipes[backend] = load_pipeline(cfg.model, device=cfg.device, backend=backend, threads=cfg.threads)
        loads[backend] = time.perf_counter() - t0
    runs: dict[str, list[dict[str, float]]] = {b: [] for b in cfg.backends}
    for i in range(cfg.warmup):
        for backend in cfg.backends:
            say(f"warm-up {i + 1}/{cfg.warmup} on {backend}")
            run_once(pipes[backend], cfg)
    for r in range(cfg.repeats):
        order = list(cfg.backends) if r % 2 == 0 else list(reversed(cfg.backends))  # ABBA
        for backend in order:
            result = run_once(pipes[backend], cfg)
            runs[backend].append(result)
            say(f"run {r + 1}/{cfg.repeats} {backend}: {result['total_s']:.2f} s (RTF {result['rtf']:.2f})")
    report: dict[str, Any] = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(cfg.device),
        "config": {"model": cfg.model, "backends": list(cfg.backends), "stems": stem_list(pipes[cfg.backends[0]], cfg.stems),
                   "seconds": cfg.seconds, "steps": cfg.steps, "sampler": cfg.sampler, "guidance": cfg.guidance,
                   "repeats": cfg.repeats, "warmup": cfg.warmup, "device": cfg.device, "threads": cfg.threads},
        "results": {b: {"load_s": loads[b], "median": _median(runs[b]), "runs": runs[b]} for b in cfg.backends},
    }
    if len(cfg.backends) == 2:
        a, b = cfg.backends
        report["speedup"] = {
            "backend": a, "baseline": b,
            "ratio": report["results"][b]["median"]["total_s"] / report["results"][a]["median"]["total_s"],
            "note": f"median wall time of {b} / {a}; > 1 means {a} is faster",
        }
    return report


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]} if runs else {}


def _reset_peaks() -> None:
    try:  # Linux: writing 5 resets the RSS high-water mark (VmHWM) of this process
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats()


def _peaks() -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    out["peak_rss_mb"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    if "peak_rss_mb" not in out:  # lifetime peak (KiB on Linux, bytes on macOS)
        scale = 1 / (1 << 20) if sys.platform == "darwin" else 1 / 1024
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / (1 << 20)
    return out


def machine_info(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "cpu": _cpu_name(), "cpus": os.cpu_count()}
    try:
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        pass
    try:
        info["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        pass
    for name in ("torch", "onnxruntime", "numpy"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = getattr(module, "__version__", "?")
    torch = sys.modules.get("torch")
    if torch is not None and device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
