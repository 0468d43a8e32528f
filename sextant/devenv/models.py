"""Small ONNX models built locally from seeded weights: for the demo, tests and benchmarks.

Nothing is downloaded: the graphs are made with onnx.helper (the `dev` extra).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


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
