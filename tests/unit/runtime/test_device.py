"""Device choice: pure logic, so it is tested here on a machine without a GPU."""

from __future__ import annotations

import pytest

from sextant_runtime.device import (
    ORT_CPU,
    ORT_CUDA,
    DeviceError,
    choose_device,
    onnxruntime_providers,
    torch_device,
)


@pytest.mark.parametrize(
    ("requested", "cuda", "expected"),
    [("auto", True, "cuda"), ("auto", False, "cpu"), ("cpu", True, "cpu"), ("cuda", True, "cuda")],
)
def test_device_choice(requested: str, cuda: bool, expected: str) -> None:
    assert choose_device(requested, cuda, "test") == expected


def test_cuda_without_a_gpu_is_an_error_that_says_what_was_seen() -> None:
    with pytest.raises(
        DeviceError, match=r"--device cuda .* onnxruntime \(providers: CPUExecutionProvider\)"
    ):
        onnxruntime_providers("cuda", [ORT_CPU])


def test_onnxruntime_puts_cuda_first_and_keeps_cpu_as_fallback() -> None:
    assert onnxruntime_providers("auto", [ORT_CUDA, ORT_CPU]) == ("cuda", [ORT_CUDA, ORT_CPU])
    assert onnxruntime_providers("auto", [ORT_CPU]) == ("cpu", [ORT_CPU])
    assert onnxruntime_providers("cpu", [ORT_CUDA, ORT_CPU]) == ("cpu", [ORT_CPU])


def test_torch_needs_a_device_as_well_as_cuda() -> None:
    assert torch_device("auto", True, 0) == "cpu"
    assert torch_device("auto", True, 1) == "cuda"
    with pytest.raises(DeviceError, match="CUDA devices: 0"):
        torch_device("cuda", False, 0)


def test_unknown_device_is_rejected() -> None:
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        choose_device("tpu", False, "test")
