"""Build examples/models/iris.onnx: a softmax classifier of the iris flowers.

    .venv/bin/python examples/models/make_iris.py

Trained here with numpy (multinomial logistic regression) on the iris data set that
scikit-learn ships inside its package, and written with onnx.helper: nothing is
downloaded. Input `measurements` FP32 [batch, 4] (sepal length, sepal width, petal
length, petal width, in cm); output `probabilities` FP32 [batch, 3] (setosa, versicolor,
virginica).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_iris

HERE = Path(__file__).resolve().parent


def train(
    x: np.ndarray, y: np.ndarray, steps: int = 3000, rate: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    mean, std = x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / std
    onehot = np.eye(3)[y]
    weight, bias = np.zeros((4, 3)), np.zeros(3)
    for _ in range(steps):
        logits = z @ weight + bias
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot) / len(z)
        weight -= rate * (z.T @ grad)
        bias -= rate * grad.sum(axis=0)
    # Fold the standardization into the first layer: (x - m) / s @ W = x @ (W / s) - (m / s) @ W
    folded = weight / std[:, None]
    return folded.astype(np.float32), (bias - (mean / std) @ weight).astype(np.float32)


def main() -> None:
    data = load_iris()
    weight, bias = train(data.data, data.target)
    accuracy = float(((data.data @ weight + bias).argmax(axis=1) == data.target).mean())
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["measurements", "weight", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "iris",
        [helper.make_tensor_value_info("measurements", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])],
        initializer=[
            numpy_helper.from_array(weight, "weight"),
            numpy_helper.from_array(bias, "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.doc_string = f"iris softmax classifier; training accuracy {accuracy:.3f}"
    onnx.checker.check_model(model)
    onnx.save(model, str(HERE / "iris.onnx"))
    print(f"wrote {HERE / 'iris.onnx'} (training accuracy {accuracy:.3f})")


if __name__ == "__main__":
    main()
