"""ONNX models on onnxruntime, with the CUDA execution provider when it is asked for or there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from sextant_runtime.device import onnxruntime_providers
from sextant_runtime.model import Backend, Signature, TensorSpec
from sextant_runtime.optimize import NOT_ON_CUDA, Optimization, Quantization, try_int8

# spec.runtime.optimize.graphOptimization -> onnxruntime's level.
GRAPH_LEVELS = {
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
}

# onnxruntime's type strings -> OIP datatypes.
_ORT_TYPES = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


def _spec(arg: Any, path: Path) -> TensorSpec:
    datatype = _ORT_TYPES.get(arg.type)
    if datatype is None:
        raise ValueError(f"{path}: {arg.name!r} has type {arg.type}, which OIP cannot carry")
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (arg.shape or ()))
    return TensorSpec(arg.name, datatype, shape)


class OnnxBackend(Backend):
    platform = "onnxruntime_onnx"

    def __init__(
        self,
        path: Path,
        *,
        device: str = "auto",
        threads: int = 0,
        optimization: Optimization | None = None,
    ) -> None:
        optimization = optimization or Optimization()
        self.device, providers = onnxruntime_providers(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.graph_optimization_level = GRAPH_LEVELS[optimization.graph]
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads > 0:
            options.intra_op_num_threads = threads
        # Spinning worker threads would steal the CPU the HTTP side needs between batches.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=providers)
        inputs = tuple(_spec(a, path) for a in self._session.get_inputs())
        outputs = tuple(_spec(a, path) for a in self._session.get_outputs())
        self._signature = Signature(inputs, outputs)
        self._output_names = [s.name for s in outputs]
        self._strings = frozenset(s.name for s in inputs if s.datatype == "BYTES")
        self.graph_optimization = optimization.graph
        if optimization.quantize == "dynamic-int8":
            self.quantization = self._quantize(path, options, providers, optimization.tolerance)

    def _quantize(
        self, path: Path, options: ort.SessionOptions, providers: list[str], tolerance: float
    ) -> Quantization:
        if self.device == "cuda":
            # Dynamic int8 kernels (MatMulInteger, DynamicQuantizeLinear) are CPU kernels.
            return Quantization(
                False, NOT_ON_CUDA, "dynamic int8 runs on the CPU; serving the float model on cuda"
            )
        session, outcome = try_int8(
            path,
            self._session,
            self._signature,
            options=options,
            providers=providers,
            tolerance=tolerance,
        )
        if session is not None:
            self._session = session  # the float session is dropped with its memory
        return outcome

    @property
    def parameters(self) -> dict[str, str]:
        out = {"graph_optimization": self.graph_optimization}
        if self.quantization is not None:
            out.update(self.quantization.parameters())
        return out

    @property
    def signature(self) -> Signature:
        return self._signature

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self._strings:
            inputs = {k: _as_str(v) if k in self._strings else v for k, v in inputs.items()}
        if self.device == "cuda":
            return self._predict_cuda(inputs)
        outputs = self._session.run(self._output_names, inputs)
        return dict(zip(self._output_names, outputs, strict=True))

    def _predict_cuda(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Bind the batch's host buffers so onnxruntime copies each to the GPU once."""
        binding = self._session.io_binding()
        for name, arr in inputs.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(arr))
        for name in self._output_names:
            binding.bind_output(name, "cpu")
        self._session.run_with_iobinding(binding)
        return dict(zip(self._output_names, binding.copy_outputs_to_cpu(), strict=True))


def _as_str(arr: np.ndarray) -> np.ndarray:
    """onnxruntime string tensors take str; the wire brings bytes."""
    out = np.empty(arr.shape, dtype=object)
    flat = out.reshape(-1)
    for i, item in enumerate(arr.reshape(-1)):
        flat[i] = item.decode() if isinstance(item, bytes) else str(item)
    return out
