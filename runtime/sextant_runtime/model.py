"""What every backend provides: tensor signatures taken from the model, and `predict`."""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sextant_runtime.datatypes import NUMPY_DTYPES

if TYPE_CHECKING:
    from sextant_runtime.optimize import Quantization


@dataclass(frozen=True)
class TensorSpec:
    """One input or output as the model declares it; -1 marks a dimension of any size."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.datatype not in NUMPY_DTYPES:
            raise ValueError(f"tensor {self.name!r}: unknown datatype {self.datatype!r}")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TensorSpec:
        return cls(str(obj["name"]), str(obj["datatype"]), tuple(int(d) for d in obj["shape"]))


@dataclass(frozen=True)
class Signature:
    """Inputs and outputs of a model, in the model's own order."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    # Free-form facts for model metadata (`platform` and the like).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def batchable(self) -> bool:
        """True when every input has a free first dimension that can carry a batch."""
        return bool(self.inputs) and all(s.shape and s.shape[0] == -1 for s in self.inputs)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Signature:
        """Parse `{"inputs": [...], "outputs": [...]}` as model metadata writes them."""
        return cls(
            tuple(TensorSpec.from_json(t) for t in obj.get("inputs", [])),
            tuple(TensorSpec.from_json(t) for t in obj.get("outputs", [])),
        )


class Backend(abc.ABC):
    """A loaded model. `predict` is called from one inference thread at a time."""

    platform: str = ""
    device: str = "cpu"
    # Set when int8 was asked for (spec.runtime.optimize.quantize): served or not, and why.
    quantization: Quantization | None = None

    @property
    def parameters(self) -> dict[str, str]:
        """Facts for the model metadata's `parameters` (how the model was loaded)."""
        return {}

    @property
    @abc.abstractmethod
    def signature(self) -> Signature: ...

    @abc.abstractmethod
    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch: arrays keyed by input name in, arrays keyed by output name out."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release what the backend holds (sessions, GPU memory)."""


def warmup_inputs(signature: Signature, rows: int = 1) -> dict[str, np.ndarray]:
    """Zeros shaped like the signature with `rows` in each free first dim (others 1)."""
    arrays: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        shape = tuple((rows if i == 0 else 1) if d == -1 else d for i, d in enumerate(spec.shape))
        if spec.datatype == "BYTES":
            arr = np.empty(shape, dtype=object)
            arr.fill(b"")
        else:
            arr = np.zeros(shape, dtype=NUMPY_DTYPES[spec.datatype])
        arrays[spec.name] = arr
    return arrays


def element_count(shape: tuple[int, ...] | list[int]) -> int:
    return math.prod(shape)
