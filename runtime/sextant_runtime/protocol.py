"""The Open Inference Protocol v2 codec: JSON tensors and Triton's binary tensor data extension.

Decoding validates a request against the model's signature with plain comparisons and
turns each input into a numpy array (zero-copy views into the body for binary data; JSON
numbers mostly come out of jsonbody.load_request as an array already).
Encoding writes outputs as JSON numbers (orjson serializes numpy buffers directly) or as
raw little-endian bytes after the JSON header when the caller asked for binary data.

No pydantic and no logging here: this is the request path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from sextant_runtime.datatypes import (
    ACCEPTED_KINDS,
    INT_LIMITS,
    NUMPY_DTYPES,
    UnsupportedDatatype,
    decode_bytes_tensor,
    encode_bytes_tensor,
    oip_datatype,
)
from sextant_runtime.errors import BadRequest, InferenceError
from sextant_runtime.jsonbody import load_request
from sextant_runtime.model import Signature, TensorSpec

_JSON_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_ALL = frozenset({"*"})  # binary_outputs when every output goes as binary data


class InferRequest:
    """A decoded, validated request. `key` groups requests that may share a batch."""

    __slots__ = (
        "binary_outputs", "id", "inputs", "key", "log_id", "outputs", "parameters", "rows"
    )  # fmt: skip

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        rows: int,
        key: object,
        *,
        request_id: str | None = None,
        parameters: dict[str, Any] | None = None,
        outputs: list[str] | None = None,
        binary_outputs: frozenset[str] = frozenset(),
    ) -> None:
        self.inputs = inputs
        self.rows = rows
        self.key = key
        self.id = request_id
        self.parameters = parameters
        self.outputs = outputs
        self.binary_outputs = binary_outputs
        self.log_id: str | None = None  # set when the prediction log is on


class _InputRule:
    """Precomputed checks for one model input."""

    __slots__ = ("datatype", "dtype", "fixed", "kinds", "limits", "name", "rank", "shape_text")

    def __init__(self, spec: TensorSpec) -> None:
        self.name = spec.name
        self.datatype = spec.datatype
        self.dtype = NUMPY_DTYPES[spec.datatype]
        self.rank = len(spec.shape)
        # (axis, size) for every dimension the model fixes.
        self.fixed = tuple((i, d) for i, d in enumerate(spec.shape) if d != -1)
        self.kinds = ACCEPTED_KINDS.get(spec.datatype, "")
        self.limits = INT_LIMITS.get(spec.datatype)
        self.shape_text = _shape_text(spec.shape)


def _open_rule(raw: dict[str, Any]) -> _InputRule:
    """A rule built from what the request itself declares, for models without a signature."""
    name, datatype, shape = raw.get("name"), raw.get("datatype"), raw.get("shape")
    if type(name) is not str or not name:
        raise BadRequest("each input needs a 'name'")
    if datatype not in NUMPY_DTYPES:
        raise BadRequest(
            f"input {name!r}: datatype {datatype!r} is not one of {', '.join(NUMPY_DTYPES)}"
        )
    if type(shape) is not list:
        raise BadRequest(f"input {name!r}: shape must be a list of non-negative integers")
    return _InputRule(TensorSpec(name, str(datatype), (-1,) * len(shape)))


def _shape_text(shape: tuple[int, ...] | list[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


class Codec:
    """Decodes requests for, and encodes responses of, one model."""

    def __init__(self, model_name: str, model_version: str, signature: Signature) -> None:
        self.model_name = model_name
        self.model_version = model_version
        self.signature = signature
        self._rules = {spec.name: _InputRule(spec) for spec in signature.inputs}
        self._order = tuple(spec.name for spec in signature.inputs)
        self._output_names = frozenset(spec.name for spec in signature.outputs)
        self._batchable = signature.batchable
        # A model without declared inputs (an MLflow model logged without a signature)
        # takes whatever the request declares, unbatched.
        self._open = not signature.inputs
        self._expected_inputs = ", ".join(
            f"{s.name} ({s.datatype} {_shape_text(s.shape)})" for s in signature.inputs
        )

    # -- requests ---------------------------------------------------------------------

    def decode(self, body: bytes, header_length: int | None = None) -> InferRequest:
        """Parse and validate one inference request body; raise BadRequest on any problem."""
        if header_length is None:
            header: bytes | memoryview = body
            binary = memoryview(b"")
        else:
            if header_length < 0 or header_length > len(body):
                raise BadRequest(
                    f"Inference-Header-Content-Length is {header_length} but the body has "
                    f"{len(body)} bytes"
                )
            view = memoryview(body)
            header = view[:header_length]
            binary = view[header_length:]
        try:
            obj = load_request(header)
        except orjson.JSONDecodeError as err:
            raise BadRequest(f"request body is not valid JSON: {err}") from None
        if type(obj) is not dict:
            raise BadRequest("request body must be a JSON object with an 'inputs' list")
        raw_inputs = obj.get("inputs")
        if type(raw_inputs) is not list or not raw_inputs:
            raise BadRequest(
                f"request needs a non-empty 'inputs' list; model takes {self._expected_inputs}"
            )

        inputs = self._decode_inputs(raw_inputs, binary)
        outputs, binary_outputs = self._requested_outputs(obj)
        request_id = obj.get("id")
        parameters = obj.get("parameters")
        if parameters is not None and type(parameters) is not dict:
            raise BadRequest("'parameters' must be an object")
        rows, key = self._batch_key(inputs)
        return InferRequest(
            inputs,
            rows,
            key,
            request_id=None if request_id is None else str(request_id),
            parameters=parameters,
            outputs=outputs,
            binary_outputs=binary_outputs,
        )

    def _decode_inputs(self, raw_inputs: list[Any], binary: memoryview) -> dict[str, np.ndarray]:
        inputs: dict[str, np.ndarray] = {}
        offset = 0
        for raw in raw_inputs:
            if type(raw) is not dict:
                raise BadRequest(
                    "each entry of 'inputs' must be an object with name, shape, datatype, data"
                )
            name = raw.get("name")
            rule = self._rules.get(name)  # type: ignore[arg-type]
            if rule is None and self._open:
                rule = _open_rule(raw)
            if rule is None:
                raise BadRequest(
                    f"unknown input {name!r}: model {self.model_name} takes {self._expected_inputs}"
                )
            if name in inputs:
                raise BadRequest(f"input {name!r} appears twice")
            inputs[rule.name], offset = self._decode_input(rule, raw, binary, offset)
        if len(inputs) != len(self._rules) and not self._open:
            missing = [n for n in self._order if n not in inputs]
            raise BadRequest(
                f"missing input(s) {', '.join(missing)}: model takes {self._expected_inputs}"
            )
        if offset != len(binary):
            raise BadRequest(
                f"{len(binary) - offset} bytes of binary data after the inputs are not claimed "
                "by any input's binary_data_size"
            )
        return inputs

    def _decode_input(
        self, rule: _InputRule, raw: dict[str, Any], binary: memoryview, offset: int
    ) -> tuple[np.ndarray, int]:
        name = rule.name
        datatype = raw.get("datatype")
        if datatype != rule.datatype:
            raise BadRequest(
                f"input {name!r}: datatype {datatype!r} but the model expects {rule.datatype}"
            )
        shape = raw.get("shape")
        if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
            raise BadRequest(
                f"input {name!r}: shape must be a list of non-negative integers, got {shape!r}"
            )
        if len(shape) != rule.rank or any(shape[i] != d for i, d in rule.fixed):
            raise BadRequest(
                f"input {name!r}: shape {_shape_text(shape)} but the model expects "
                f"{rule.shape_text} (-1 is any size)"
            )
        count = 1
        for d in shape:
            count *= d

        params = raw.get("parameters")
        size = params.get("binary_data_size") if type(params) is dict else None
        if size is not None:
            return self._binary_input(rule, shape, count, size, (binary, offset))
        if "data" not in raw:
            raise BadRequest(f"input {name!r}: needs 'data' or parameters.binary_data_size")
        return self._json_input(rule, shape, count, raw["data"]), offset

    @staticmethod
    def _binary_input(
        rule: _InputRule,
        shape: list[int],
        count: int,
        size: object,
        at: tuple[memoryview, int],
    ) -> tuple[np.ndarray, int]:
        name = rule.name
        binary, offset = at
        if type(size) is not int or size < 0:
            raise BadRequest(f"input {name!r}: binary_data_size must be a non-negative integer")
        end = offset + size
        if end > len(binary):
            raise BadRequest(
                f"input {name!r}: binary_data_size {size} runs past the end of the body "
                f"({len(binary) - offset} bytes left)"
            )
        chunk = binary[offset:end]
        if rule.datatype == "BYTES":
            try:
                arr = decode_bytes_tensor(chunk, count)
            except ValueError as err:
                raise BadRequest(f"input {name!r}: binary BYTES data {err}") from None
            return arr.reshape(shape), end
        expected = count * rule.dtype.itemsize
        if size != expected:
            raise BadRequest(
                f"input {name!r}: binary_data_size {size} but shape {_shape_text(shape)} of "
                f"{rule.datatype} needs {expected} bytes"
            )
        arr = np.frombuffer(chunk, dtype=rule.dtype).reshape(shape)
        if not arr.flags.aligned:
            arr = arr.copy()
        return arr, end

    @staticmethod
    def _json_input(rule: _InputRule, shape: list[int], count: int, data: object) -> np.ndarray:
        name = rule.name
        if type(data) is np.ndarray:  # JSON numbers, already an array (jsonbody.py)
            arr = data
        elif type(data) is not list:
            raise BadRequest(f"input {name!r}: 'data' must be a list of {rule.datatype} values")
        elif rule.datatype == "BYTES":
            return _json_bytes(name, shape, count, data)
        else:
            try:
                arr = np.asarray(data)
            except ValueError as err:
                raise BadRequest(
                    f"input {name!r}: 'data' is not a rectangular list of numbers: {err}"
                ) from None
        if arr.dtype.kind not in rule.kinds:
            if arr.size == 0 and count == 0:
                return np.empty(shape, dtype=rule.dtype)
            raise BadRequest(f"input {name!r}: 'data' holds values that are not {rule.datatype}")
        if arr.size != count:
            raise BadRequest(
                f"input {name!r}: 'data' has {arr.size} elements but shape {_shape_text(shape)} "
                f"needs {count}"
            )
        limits = rule.limits
        if limits is not None and count and arr.dtype != rule.dtype:
            low, high = limits
            if int(arr.min()) < low or int(arr.max()) > high:
                raise BadRequest(f"input {name!r}: values out of range for {rule.datatype}")
        return arr.astype(rule.dtype, copy=False).reshape(shape)

    def _requested_outputs(self, obj: dict[str, Any]) -> tuple[list[str] | None, frozenset[str]]:
        params = obj.get("parameters")
        binary_default = type(params) is dict and params.get("binary_data_output") is True
        raw_outputs = obj.get("outputs")
        if raw_outputs is None:
            return None, _ALL if binary_default else frozenset()
        if type(raw_outputs) is not list:
            raise BadRequest("'outputs' must be a list of {name, parameters} objects")
        names: list[str] = []
        binary: set[str] = set()
        for raw in raw_outputs:
            name = raw.get("name") if type(raw) is dict else None
            if type(name) is not str:
                raise BadRequest("each entry of 'outputs' needs a 'name'")
            if self._output_names and name not in self._output_names:
                raise BadRequest(
                    f"unknown output {name!r}: model {self.model_name} produces "
                    f"{', '.join(s.name for s in self.signature.outputs)}"
                )
            names.append(name)
            oparams = raw.get("parameters")
            flag = oparams.get("binary_data") if type(oparams) is dict else None
            if flag is True or (flag is None and binary_default):
                binary.add(name)
        return names, frozenset(binary)

    def _batch_key(self, inputs: dict[str, np.ndarray]) -> tuple[int, object]:
        """Rows in this request, and what must match for two requests to share a batch."""
        if not self._batchable:
            return 1, object()  # never equal to another request's key
        arrays = [inputs[n] for n in self._order]
        rows = arrays[0].shape[0]
        if any(a.shape[0] != rows for a in arrays):
            return 1, object()  # inputs disagree on the batch dimension: run alone
        if len(arrays) == 1:
            return rows, arrays[0].shape[1:]
        return rows, tuple(a.shape[1:] for a in arrays)

    # -- responses --------------------------------------------------------------------

    def encode(
        self, request: InferRequest, outputs: dict[str, np.ndarray]
    ) -> tuple[bytes, int | None]:
        """The response body, and the JSON header's length when binary data follows it."""
        names = request.outputs if request.outputs is not None else list(outputs)
        binary_names = request.binary_outputs
        all_binary = "*" in binary_names
        entries: list[dict[str, Any]] = []
        chunks: list[bytes] = []
        for name in names:
            arr = outputs.get(name)
            if arr is None:
                raise BadRequest(
                    f"output {name!r} was not produced; the model returned {', '.join(outputs)}"
                )
            try:
                datatype = oip_datatype(arr.dtype)
            except UnsupportedDatatype as err:
                raise InferenceError(f"output {name!r}: {err}") from None
            entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": arr.shape}
            if all_binary or name in binary_names:
                if datatype == "BYTES":
                    data = encode_bytes_tensor(arr)
                else:
                    data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
                entry["parameters"] = {"binary_data_size": len(data)}
                chunks.append(data)
            elif datatype == "BYTES":
                entry["data"] = _json_strings(name, arr)
            else:
                entry["data"] = np.ascontiguousarray(arr).reshape(-1)
            entries.append(entry)
        response: dict[str, Any] = {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "outputs": entries,
        }
        if request.id is not None:
            response["id"] = request.id
        header = orjson.dumps(response, option=_JSON_NUMPY)
        if not chunks:
            return header, None
        return b"".join((header, *chunks)), len(header)


def _json_bytes(name: str, shape: list[int], count: int, data: list[Any]) -> np.ndarray:
    try:
        arr = np.array(data, dtype=object)
    except ValueError as err:
        raise BadRequest(f"input {name!r}: {err}") from None
    if arr.size != count or not all(isinstance(v, str | bytes) for v in arr.flat):
        raise BadRequest(
            f"input {name!r}: 'data' must hold {count} strings for shape {_shape_text(shape)}"
        )
    return arr.reshape(shape)


def _json_strings(name: str, arr: np.ndarray) -> list[str]:
    out: list[str] = []
    for item in arr.reshape(-1):
        if isinstance(item, bytes):
            try:
                out.append(item.decode())
            except UnicodeDecodeError:
                raise BadRequest(
                    f"output {name!r} holds bytes that are not UTF-8; request it with "
                    '"parameters": {"binary_data": true}'
                ) from None
        else:
            out.append(str(item))
    return out


def error_body(message: str) -> bytes:
    return orjson.dumps({"error": message})
