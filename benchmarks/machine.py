"""What a benchmark ran on: figures differ two-fold between the CPUs this project meets."""

from __future__ import annotations

import os
import platform

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
