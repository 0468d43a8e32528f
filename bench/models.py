"""The benchmark's models, built locally with onnx.helper from seeded random weights."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SMALL = (64, 256, 256, 10)
COMPUTE_BOUND = (512, 2048, 2048, 1000)


def mlp(layers: Sequence[int], seed: int = 0) -> onnx.ModelProto:
    """x [batch, layers[0]] -> Gemm+Relu ... -> Gemm -> y [batch, layers[-1]], float32."""
    rng = np.random.default_rng(seed)
    nodes = []
    initializers = []
    current = "x"
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layers)):
        weight = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        bias = np.zeros(fan_out, dtype=np.float32)
        initializers += [
            numpy_helper.from_array(weight, f"w{i}"),
            numpy_helper.from_array(bias, f"b{i}"),
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
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def save_mlp(path: Path, layers: Sequence[int], seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(mlp(layers, seed), str(path))
    return path


def save_torchscript_mlp(path: Path, layers: Sequence[int], seed: int = 0) -> Path:
    """The same MLP (the seeded weights of `mlp`) as TorchScript, its signature (input x,
    output y) in the archive's sextant.json."""
    import torch  # noqa: PLC0415 - only this bench variant needs torch

    weights = {t.name: numpy_helper.to_array(t) for t in mlp(layers, seed).graph.initializer}
    modules: list[torch.nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layers)):
        linear = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights[f"w{i}"].T.copy()))
            linear.bias.copy_(torch.from_numpy(weights[f"b{i}"]))
        modules += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules[:-1]).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    signature = {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, layers[0]]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, layers[-1]]}],
    }
    torch.jit.save(
        torch.jit.script(model), str(path), _extra_files={"sextant.json": json.dumps(signature)}
    )
    return path
