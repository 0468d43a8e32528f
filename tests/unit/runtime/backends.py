"""Small real backends for batcher and server tests: plain numpy arithmetic, no mocks."""

from __future__ import annotations

import threading
import time

import numpy as np

from sextant_runtime.model import Backend, Signature, TensorSpec


class Doubler(Backend):
    """y = 2x for x: FP32 [-1, -1]; records every batch it ran and can be told to fail."""

    platform = "test"

    def __init__(self, *, inner: int = -1, delay: float = 0.0) -> None:
        self._signature = Signature(
            (TensorSpec("x", "FP32", (-1, inner)),), (TensorSpec("y", "FP32", (-1, inner)),)
        )
        self.delay = delay
        self.batches: list[np.ndarray] = []
        self.fail_when_first_value = float("nan")
        self.gate = threading.Event()
        self.gate.set()

    @property
    def signature(self) -> Signature:
        return self._signature

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.gate.wait()
        x = inputs["x"]
        self.batches.append(x.copy())
        if self.delay:
            time.sleep(self.delay)
        if x.size and x.reshape(-1)[0] == self.fail_when_first_value:
            raise RuntimeError("the model refused this batch")
        return {"y": x * 2}
