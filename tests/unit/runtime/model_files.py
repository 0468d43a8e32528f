"""Model artifacts for the runtime's tests, built locally in a temp dir (nothing downloaded)."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import onnx
import pandas as pd
import torch
from mlflow.models import infer_signature
from onnx import TensorProto, helper, numpy_helper

ONNX_TYPES = {
    "BOOL": TensorProto.BOOL,
    "UINT8": TensorProto.UINT8,
    "UINT16": TensorProto.UINT16,
    "UINT32": TensorProto.UINT32,
    "UINT64": TensorProto.UINT64,
    "INT8": TensorProto.INT8,
    "INT16": TensorProto.INT16,
    "INT32": TensorProto.INT32,
    "INT64": TensorProto.INT64,
    "FP16": TensorProto.FLOAT16,
    "FP32": TensorProto.FLOAT,
    "FP64": TensorProto.DOUBLE,
    "BYTES": TensorProto.STRING,
}


def _save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def onnx_linear(path: Path, fan_in: int = 4, fan_out: int = 3, seed: int = 0) -> Path:
    """y = x @ W + b on float32 [batch, fan_in] -> [batch, fan_out]."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((fan_in, fan_out)).astype(np.float32)
    bias = rng.standard_normal(fan_out).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", fan_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", fan_out])],
        initializer=[numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def onnx_mlp(path: Path, layers: tuple[int, ...] = (32, 128, 128, 8), seed: int = 0) -> Path:
    """Gemm+Relu layers on float32 [batch, layers[0]] -> [batch, layers[-1]] (int8-friendly)."""
    rng = np.random.default_rng(seed)
    nodes, weights, current = [], [], "x"
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layers)):
        weight = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        weights += [
            numpy_helper.from_array(weight, f"w{i}"),
            numpy_helper.from_array(np.zeros(fan_out, np.float32), f"b{i}"),
        ]
        last = i == len(layers) - 2
        out = "y" if last else f"h{i}"
        nodes.append(
            helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [out if last else f"g{i}"])
        )
        if not last:
            nodes.append(helper.make_node("Relu", [f"g{i}"], [out]))
        current = out
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", layers[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", layers[-1]])],
        initializer=weights,
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def onnx_identity(path: Path, datatype: str, inner: int = 3) -> Path:
    """y = x for one datatype, shape [batch, inner]."""
    kind = ONNX_TYPES[datatype]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        f"identity_{datatype.lower()}",
        [helper.make_tensor_value_info("x", kind, ["batch", inner])],
        [helper.make_tensor_value_info("y", kind, ["batch", inner])],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def onnx_two_inputs(path: Path) -> Path:
    """sum = a + b (FP32 [batch, 2]) and count = c (INT64 [batch, 1]) passed through."""
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["sum"]),
            helper.make_node("Identity", ["c"], ["count"]),
        ],
        "two",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("c", TensorProto.INT64, ["batch", 1]),
        ],
        [
            helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("count", TensorProto.INT64, ["batch", 1]),
        ],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def torch_module(seed: int = 0):  # type: ignore[no-untyped-def]

    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()


TORCH_SIGNATURE = {
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
    "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3]}],
}


def torchscript(path: Path, *, embed_signature: bool = True) -> Path:

    traced = torch.jit.trace(torch_module(), torch.zeros(2, 4))
    extra = {"sextant.json": json.dumps(TORCH_SIGNATURE)} if embed_signature else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(traced, str(path), _extra_files=extra)
    return path


def torch_export(path: Path) -> Path:

    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(
        torch_module(), (torch.zeros(2, 4),), dynamic_shapes=({0: batch},)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, str(path))
    return path


_PYFUNC_REQUIREMENTS = ["mlflow", "numpy", "pandas"]

_PYFUNC_CODE = """
import numpy as np
import mlflow.pyfunc
from mlflow.models import set_model


class Scaler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        if hasattr(model_input, "columns"):  # a DataFrame: one column per input
            return model_input.assign(total=model_input["a"] * 2 + model_input["b"])[["total"]]
        return (np.asarray(model_input, dtype=np.float32) * 3.0).astype(np.float32)


set_model(Scaler())
"""


def mlflow_pyfunc(path: Path, *, columns: bool = False) -> Path:
    """An MLflow pyfunc model (models-from-code: self-contained, no pickled test classes)."""

    code = path.parent / f"{path.name}_code.py"
    code.parent.mkdir(parents=True, exist_ok=True)
    code.write_text(textwrap.dedent(_PYFUNC_CODE))
    if columns:
        example = pd.DataFrame({"a": np.array([1.0, 2.0]), "b": np.array([3, 4], dtype=np.int64)})
        signature = infer_signature(example, pd.DataFrame({"total": np.array([5.0, 8.0])}))
    else:
        x = np.zeros((2, 4), dtype=np.float32)
        signature = infer_signature(x, x * 3)
    # Explicit requirements: mlflow would otherwise infer them in a child process.
    mlflow.pyfunc.save_model(
        str(path),
        python_model=str(code),
        signature=signature,
        pip_requirements=_PYFUNC_REQUIREMENTS,
    )
    return path


def onnx_all_types(path: Path) -> Path:
    """y_<type> = x_<type> for every OIP datatype, each [batch, 2]: one model, all codecs."""
    nodes, inputs, outputs = [], [], []
    for datatype, kind in ONNX_TYPES.items():
        low = datatype.lower()
        nodes.append(helper.make_node("Identity", [f"x_{low}"], [f"y_{low}"]))
        inputs.append(helper.make_tensor_value_info(f"x_{low}", kind, ["batch", 2]))
        outputs.append(helper.make_tensor_value_info(f"y_{low}", kind, ["batch", 2]))
    graph = helper.make_graph(nodes, "all_types", inputs, outputs)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


_SLEEPER_CODE = '''
import time

import numpy as np
import mlflow.pyfunc
from mlflow.models import set_model


class Sleeper(mlflow.pyfunc.PythonModel):
    """Sleeps for the largest value of the batch (seconds); refuses negative values."""

    def predict(self, context, model_input, params=None):
        x = np.asarray(model_input, dtype=np.float32)
        if (x < 0).any():
            raise ValueError("negative sleep requested")
        time.sleep(float(x.max()) if x.size else 0.0)
        return x


set_model(Sleeper())
'''


def mlflow_sleeper(path: Path) -> Path:
    """x: FP32 [-1, 1] = seconds to sleep; y = x. Slow on demand, failing on demand."""

    code = path.parent / f"{path.name}_code.py"
    code.parent.mkdir(parents=True, exist_ok=True)
    code.write_text(textwrap.dedent(_SLEEPER_CODE))
    x = np.zeros((2, 1), dtype=np.float32)
    mlflow.pyfunc.save_model(
        str(path),
        python_model=str(code),
        signature=infer_signature(x, x),
        pip_requirements=_PYFUNC_REQUIREMENTS,
    )
    return path
