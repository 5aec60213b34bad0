"""What a benchmark ran on: figures differ two-fold between the CPUs this project meets."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import torch


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """The CPU, and the instruction set torch's kernels use on it: "AVX2" on an AVX2-only CPU, or on a
    newer one held to AVX2 (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2) to stand in for one."""
    return {"cpu": cpu_model(), "kernels": torch.backends.cpu.get_cpu_capability(),
            "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL"),
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def best_seconds(run: Callable[[], object], repeats: int, warm_up: Callable[[], object] | None = None) -> float:
    """The fastest of `repeats` timed calls of `run`, as timeit does (this machine's speed wanders),
    after one untimed `warm_up` (default: `run` itself; oneDNN builds its kernels on first use)."""
    (warm_up or run)()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return min(seconds)
