"""Where and in what arithmetic bard computes: the device, and whether bfloat16 pays off on it.

Chatting imports this, not the trainer, so it stays free of training and distributed code.
"""

from __future__ import annotations

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
    emulated and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # Private helpers, but the only ones torch has; a future rename must not break chatting.
    try:
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    except AttributeError:
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto` becomes bfloat16 on CPUs that multiply it natively, else float32. GPUs stay in float32
    under `auto` for sampling (they are fast enough, and cuDNN's bfloat16 LSTM support varies by
    version); the trainer picks its own GPU arithmetic (see training_precision)."""
    if precision == "auto":
        return "bfloat16" if device.type == "cpu" and bf16_is_native(device) else "float32"
    return precision


def training_precision(precision: str, device: torch.device) -> str:
    """The arithmetic of training: under `auto`, bfloat16 autocast on CPUs that multiply it
    natively, float16 autocast (with loss scaling) on CUDA, float32 elsewhere."""
    if precision == "auto":
        return "float16" if device.type == "cuda" else resolve_precision(precision, device)
    return precision
