"""Choosing where a model runs: `--device auto|cpu|cuda`.

Pure functions of what was asked and what the machine has, so the choice is tested on
machines without a GPU; the backends ask onnxruntime or torch for the facts.
"""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")

ORT_CUDA = "CUDAExecutionProvider"
ORT_CPU = "CPUExecutionProvider"


class DeviceError(RuntimeError):
    """`--device cuda` on a machine, or with a backend build, that has no CUDA."""


def choose_device(requested: str, cuda_available: bool, what: str) -> str:
    """'cpu' or 'cuda'. `auto` takes CUDA when there is one; `cuda` without one is an error."""
    if requested not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {requested!r}")
    if requested == "cpu":
        return "cpu"
    if cuda_available:
        return "cuda"
    if requested == "cuda":
        raise DeviceError(f"--device cuda was asked for, but {what} sees no usable CUDA device")
    return "cpu"


def onnxruntime_providers(requested: str, available: list[str]) -> tuple[str, list[str]]:
    """The device and onnxruntime execution providers, CUDA first when it is used.

    `available` is onnxruntime.get_available_providers(): the CPU-only wheel never lists
    CUDA, the onnxruntime-gpu wheel does.
    """
    device = choose_device(
        requested,
        ORT_CUDA in available,
        f"onnxruntime (providers: {', '.join(available) or 'none'})",
    )
    return device, ([ORT_CUDA, ORT_CPU] if device == "cuda" else [ORT_CPU])


def torch_device(requested: str, cuda_available: bool, device_count: int) -> str:
    """'cpu' or 'cuda' for torch backends (torch.cuda.is_available(), device_count())."""
    return choose_device(
        requested, cuda_available and device_count > 0, f"torch (CUDA devices: {device_count})"
    )
