"""Where training runs: `--device auto|cpu|cuda|mps` and what each device changes.

A GPU is limited by the work per step, not by the step rate as a CPU is, so there the
papers' long segments and larger batches are the defaults (a CPU keeps the configs' short
segments, see trainer.py); CUDA also gets mixed precision (bfloat16 autocast over the model's
forward; the loss stays in float32, since the STFTs of the loss lose too much in 16 bits)
and pinned host memory for the batches."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch

from rig.errors import UserError

CHOICES = ("auto", "cpu", "cuda", "mps")
GPU_SEGMENT_S = 3.0  # the papers' segments (Comunità et al. 2025, table 5)
GPU_BATCH = 32


@dataclass(frozen=True)
class DeviceProfile:
    device: torch.device
    segment_s: float | None  # None: the model config's
    batch_size: int
    pin_memory: bool
    autocast_dtype: torch.dtype | None

    def autocast(self) -> AbstractContextManager:
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def resolve_device(name: str) -> torch.device:
    """auto: CUDA when present, then Apple's MPS, else the CPU. A device asked for by name
    that is not there is a user error (one line, exit 2), never a silent fallback."""
    if name not in CHOICES:
        raise UserError(f"--device {name}: unknown device; use one of {', '.join(CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise UserError(
            f"--device cuda: no CUDA GPU is visible to PyTorch ({torch.__version__}, {build}); "
            "use --device cpu (or auto), or install a CUDA build of torch"
        )
    if name == "mps" and not _mps_available():
        raise UserError(
            "--device mps: Apple's Metal backend is not available on this machine; use --device cpu (or auto)"
        )
    return torch.device(name)


def profile(name: str) -> DeviceProfile:
    device = resolve_device(name)
    if device.type == "cpu":
        return DeviceProfile(device, None, 8, False, None)
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return DeviceProfile(device, GPU_SEGMENT_S, GPU_BATCH, device.type == "cuda", torch.bfloat16 if bf16 else None)
