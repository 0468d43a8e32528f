"""An ONNX model whose inputs are features: y = concat(inputs) [batch, k], float32.

Its output is its inputs side by side, so a test reads back exactly what enrichment fed
it. Built locally with onnx.helper; nothing is downloaded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import onnx
from onnx import TensorProto, helper


def concat_model(path: Path, inputs: Sequence[str]) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Concat", list(inputs), ["y"], axis=1)],
        "features",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 1]) for name in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", len(inputs)])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
