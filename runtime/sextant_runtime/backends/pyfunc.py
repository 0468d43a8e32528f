"""MLflow pyfunc models: whatever `mlflow.pyfunc.load_model` can load.

The model's MLflow signature gives the inputs: a tensor signature maps to OIP tensors of
the same names, dtypes and shapes; a column signature maps each column to a 1-D tensor
and the model gets a pandas DataFrame. A model logged without a signature takes any
inputs (passed as a dict of arrays, or the array alone when there is one) and is not
batched. Outputs come back as arrays, DataFrames (one tensor per column), Series or dicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np

from sextant_runtime.datatypes import UnsupportedDatatype, oip_datatype
from sextant_runtime.model import Backend, Signature, TensorSpec

# MLflow column types -> OIP datatypes.
_COLUMN_TYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
}


class PyfuncBackend(Backend):
    platform = "mlflow_pyfunc"

    def __init__(self, path: Path, *, threads: int = 0) -> None:
        del threads  # the model's own library decides
        self._model = mlflow.pyfunc.load_model(str(path))
        meta = self._model.metadata
        self._columns = False
        self._single_unnamed = False
        inputs = self._schema_specs(meta.get_input_schema(), inputs=True)
        outputs = self._schema_specs(meta.get_output_schema(), inputs=False)
        self._signature = Signature(inputs, outputs)
        self._output_names = [s.name for s in outputs]

    @property
    def signature(self) -> Signature:
        return self._signature

    def _schema_specs(self, schema: Any, *, inputs: bool) -> tuple[TensorSpec, ...]:
        if schema is None:
            return ()
        specs: list[TensorSpec] = []
        if schema.is_tensor_spec():
            for i, spec in enumerate(schema.inputs):
                name = spec.name or f"{'input' if inputs else 'output'}_{i}"
                specs.append(TensorSpec(name, oip_datatype(spec.type), tuple(spec.shape)))
            if inputs:
                self._single_unnamed = len(schema.inputs) == 1 and not schema.inputs[0].name
        else:
            for i, col in enumerate(schema.inputs):
                type_name = getattr(col.type, "name", str(col.type))
                datatype = _COLUMN_TYPES.get(type_name)
                if datatype is None:
                    raise UnsupportedDatatype(f"MLflow column {col.name!r} has type {type_name}")
                specs.append(TensorSpec(col.name or f"column_{i}", datatype, (-1,)))
            if inputs:
                self._columns = True
        return tuple(specs)

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        data: Any
        if self._columns:
            import pandas as pd  # type: ignore[import-untyped]  # noqa: PLC0415 - column models

            data = pd.DataFrame({name: _column(arr) for name, arr in inputs.items()})
        elif self._single_unnamed or (not self._signature.inputs and len(inputs) == 1):
            data = next(iter(inputs.values()))
        else:
            data = inputs
        return self._outputs(self._model.predict(data))

    def _outputs(self, result: Any) -> dict[str, np.ndarray]:
        import pandas as pd  # noqa: PLC0415

        if isinstance(result, pd.DataFrame):
            return {str(col): _array(result[col].to_numpy()) for col in result.columns}
        if isinstance(result, dict):
            return {str(k): _array(np.asarray(v)) for k, v in result.items()}
        if isinstance(result, pd.Series):
            result = result.to_numpy()
        name = self._output_names[0] if self._output_names else "output_0"
        return {name: _array(np.asarray(result))}


def _column(arr: np.ndarray) -> np.ndarray:
    flat = arr.reshape(-1)
    if flat.dtype == object:
        return np.array([v.decode() if isinstance(v, bytes) else v for v in flat], dtype=object)
    return flat


def _array(arr: np.ndarray) -> np.ndarray:
    """Strings and mixed objects become BYTES-compatible object arrays."""
    if arr.dtype.kind in "US":
        return arr.astype(object)
    return arr
