"""TorchScript (`torch.jit.save`) and `torch.export` programs (`.pt2`) on torch, CPU or CUDA.

A `torch.export` program carries its input names, dtypes and shapes (dynamic dims become
-1). TorchScript does not, so it needs a signature: a `sextant.json` extra file in the
archive (`torch.jit.save(m, path, _extra_files={"sextant.json": ...})`) or a
`sextant.json` beside the file, holding `{"inputs": [...], "outputs": [...]}` in model
metadata form. The same file may name a `.pt2` program's outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sextant_runtime.device import torch_device
from sextant_runtime.model import Backend, Signature, TensorSpec

SIGNATURE_FILE = "sextant.json"

_TORCH_TYPES = {
    torch.bool: "BOOL",
    torch.uint8: "UINT8",
    torch.int8: "INT8",
    torch.int16: "INT16",
    torch.int32: "INT32",
    torch.int64: "INT64",
    torch.float16: "FP16",
    torch.float32: "FP32",
    torch.float64: "FP64",
}


class TorchBackend(Backend):
    def __init__(
        self, path: Path, *, exported: bool, device: str = "auto", threads: int = 0
    ) -> None:
        self.device = torch_device(device, torch.cuda.is_available(), torch.cuda.device_count())
        self._torch_device = torch.device(self.device)
        if threads > 0:
            torch.set_num_threads(threads)
        extra = {SIGNATURE_FILE: ""}
        declared: Signature | None
        if exported:
            self.platform = "pytorch_export"
            program = torch.export.load(str(path), extra_files=extra)
            if self.device == "cuda":
                from torch.export.passes import move_to_device_pass  # noqa: PLC0415

                program = move_to_device_pass(program, self.device)
            declared = _declared_signature(path, extra[SIGNATURE_FILE])
            self._signature = _program_signature(program, declared)
            self._module: Any = program.module()
        else:
            self.platform = "pytorch_libtorch"
            module = torch.jit.load(str(path), map_location=self._torch_device, _extra_files=extra)  # type: ignore[no-untyped-call]
            declared = _declared_signature(path, extra[SIGNATURE_FILE])
            if declared is None:
                raise ValueError(
                    f"TorchScript model {path} declares no inputs: save it with "
                    f'_extra_files={{"{SIGNATURE_FILE}": json}} or put {SIGNATURE_FILE} beside it, '
                    'holding {"inputs": [{"name", "datatype", "shape"}], "outputs": [...]}'
                )
            self._signature = declared
            self._module = module.eval()
        self._input_names = [s.name for s in self._signature.inputs]
        self._output_names = [s.name for s in self._signature.outputs]

    @property
    def signature(self) -> Signature:
        return self._signature

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        device = self._torch_device
        tensors = []
        for name in self._input_names:
            arr = inputs[name]
            if not arr.flags.writeable:  # torch wants to own writable memory
                arr = arr.copy()
            tensor = torch.from_numpy(arr)
            tensors.append(tensor if device.type == "cpu" else tensor.to(device, non_blocking=True))
        with torch.inference_mode():
            result = self._module(*tensors)
        return self._outputs(result)

    def _outputs(self, result: Any) -> dict[str, np.ndarray]:
        if isinstance(result, dict):
            items = list(result.items())
        else:
            values = [result] if isinstance(result, torch.Tensor) else list(result)
            names = self._output_names or [f"output_{i}" for i in range(len(values))]
            if len(names) != len(values):
                raise ValueError(
                    f"model returned {len(values)} outputs, its signature names {len(names)}"
                )
            items = list(zip(names, values, strict=True))
        return {str(name): value.detach().cpu().numpy() for name, value in items}


def _declared_signature(path: Path, embedded: str | bytes) -> Signature | None:
    text: str | bytes = embedded
    if not text:
        beside = path.parent / SIGNATURE_FILE
        if not beside.is_file():
            return None
        text = beside.read_text()
    try:
        return Signature.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: {SIGNATURE_FILE} is not a valid signature: {err}") from None


def _program_signature(program: Any, declared: Signature | None) -> Signature:
    user_inputs = set(program.graph_signature.user_inputs)
    inputs: list[TensorSpec] = []
    outputs: list[TensorSpec] = []
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            inputs.append(_tensor_spec(node.name, node.meta.get("val")))
        elif node.op == "output":
            values = node.args[0] if isinstance(node.args[0], tuple | list) else (node.args[0],)
            for i, value in enumerate(values):
                outputs.append(_tensor_spec(f"output_{i}", getattr(value, "meta", {}).get("val")))
    if declared is not None and declared.outputs:
        if len(declared.outputs) != len(outputs):
            raise ValueError(
                f"{SIGNATURE_FILE} names {len(declared.outputs)} outputs; "
                f"the program has {len(outputs)}"
            )
        outputs = list(declared.outputs)
    return Signature(tuple(inputs), tuple(outputs))


def _tensor_spec(name: str, value: Any) -> TensorSpec:
    if value is None or not hasattr(value, "dtype"):
        raise ValueError(f"exported program input/output {name!r} is not a tensor")
    datatype = _TORCH_TYPES.get(value.dtype)
    if datatype is None:
        raise ValueError(f"{name!r} has dtype {value.dtype}, which OIP cannot carry")
    shape = tuple(int(d) if isinstance(d, int) else -1 for d in value.shape)
    return TensorSpec(name, datatype, shape)
