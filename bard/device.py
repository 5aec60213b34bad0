"""Where and in what arithmetic bard computes: the device, and whether bfloat16 pays off on it.

Chatting imports this, not the trainer, so it stays free of training and distributed code.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from bard.errors import BardError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BardError("--device cuda was asked for, but PyTorch sees no CUDA device")
    return torch.device(name)


def bf16_is_native(device: torch.device) -> bool:
    """The hardware multiplies bfloat16 itself (AVX512-BF16 or AMX on CPUs); elsewhere bfloat16 is
    emulated, slower than float32, and oneDNN has no bfloat16 LSTM to train with at all."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if not cpu_kernels_allow_avx512():
        return False
    # Private helpers, but the only ones torch has; a future rename must not break chatting.
    try:
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    except AttributeError:
        return False


def cpu_kernels_allow_avx512() -> bool:
    """False when torch and oneDNN are held to AVX2 (ATEN_CPU_CAPABILITY=avx2 and
    ONEDNN_MAX_CPU_ISA=AVX2), as on most users' CPUs: the flags in /proc/cpuinfo then overstate
    what the kernels may use, and a bfloat16 LSTM fails as it would on a real AVX2 CPU."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    return torch.backends.cpu.get_cpu_capability() not in ("DEFAULT", "AVX2") and (
        isa == "ALL" or "AVX512" in isa or "AMX" in isa or "AVX10" in isa)


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto` becomes bfloat16 on CPUs that multiply it natively, else float32. GPUs stay in float32
    under `auto` for sampling (they are fast enough, and cuDNN's bfloat16 LSTM support varies by
    version); the trainer picks its own GPU arithmetic (see training_precision). bfloat16 asked for
    by name on a CPU without it stops: falling back quietly would hide that the setting is ignored,
    and emulated bfloat16 is slower than float32 (and cannot train an LSTM at all)."""
    if precision == "auto":
        return "bfloat16" if device.type == "cpu" and bf16_is_native(device) else "float32"
    if precision == "bfloat16" and device.type == "cpu" and not bf16_is_native(device):
        raise BardError("precision bfloat16 needs a CPU that multiplies it natively (AVX512-BF16 or AMX), "
                        "and this one does not: set the precision to auto or float32 "
                        "(e.g. --set train.precision=auto, --set sample.precision=auto)")
    return precision


def int8_pays(device: torch.device) -> bool:
    """x86 CPUs, where PyTorch's int8 kernels (fbgemm) run a sampling step of the shipped model
    3x faster than float32 on AVX2 and 1.8x faster than native bfloat16 (benchmarks/sampling_precision.py).
    Elsewhere (ARM's qnnpack, GPUs) it is not measured, and `auto` does not choose it."""
    return device.type == "cpu" and "fbgemm" in torch.backends.quantized.supported_engines


def sampling_precision(precision: str, device: torch.device, quantizable: bool = True) -> str:
    """The arithmetic of sampling and reading back: under `auto`, int8 weights (dynamic
    quantization of the LSTM and the head) where int8 pays and the model can be quantized, else as
    resolve_precision. int8 asked for by name stops where it cannot run."""
    if precision == "auto" and quantizable and int8_pays(device):
        return "int8"
    if precision == "int8":
        if not int8_pays(device):
            raise BardError(f"precision int8 runs on x86 CPUs only, not on {device.type} "
                            f"({platform.machine()}): set the precision to auto or float32 (--set sample.precision=auto)")
        if not quantizable:
            raise BardError("precision int8 quantizes the plain character model only, not a listening model: "
                            "set the precision to auto or float32 (--set sample.precision=auto)")
        return "int8"
    return resolve_precision(precision, device)


def training_precision(precision: str, device: torch.device) -> str:
    """The arithmetic of training: under `auto`, bfloat16 autocast on CPUs that multiply it
    natively, float16 autocast (with loss scaling) on CUDA, float32 elsewhere."""
    if precision == "auto" and device.type == "cuda":
        return "float16"
    return resolve_precision(precision, device)


# torch's own choice of CPU threads, before any reply changes it (set_num_threads is process-wide).
DEFAULT_THREADS = torch.get_num_threads()


def others_running() -> int | None:
    """How many threads of other processes are running or waiting for a CPU right now: Linux's
    count of runnable threads (/proc/loadavg) less this process's own (its OpenMP threads spin a
    while after each reply), the least of three looks; None where the system does not say."""
    looks = []
    try:
        for _ in range(3):
            everyone = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
            mine = sum(running(stat) for stat in Path("/proc/self/task").glob("*/stat"))
            looks.append(max(everyone - mine, 0))
    except (OSError, ValueError, IndexError):
        return None
    return min(looks)


def running(stat: Path) -> bool:
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "R"
    except (OSError, IndexError):  # the thread has just ended
        return False


def threads_beside(busy: int | None, available: int) -> int:
    """torch's CPU threads for a burst of inference: all of them on an idle machine, one when other
    processes keep the cores busy. OpenMP threads wait for each other by spinning, so two processes
    that both use every core slow each other 20-50 times (a reply beside `bard train`: 384 ms alone,
    13.8 s beside it, 0.62 s with one thread; benchmarks/responder.py --beside-training)."""
    return 1 if busy else available
