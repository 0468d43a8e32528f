"""The response cache's key and value formats (Redis itself: tests/integration)."""

from __future__ import annotations

import numpy as np
import pytest

from sextant_runtime.cache import cache_key, decode_outputs, encode_outputs
from sextant_runtime.protocol import InferRequest


def request(**inputs: np.ndarray) -> InferRequest:
    return InferRequest(inputs, 1, None)


X = np.array([[1.0, 2.0]], np.float32)


def test_the_key_changes_with_every_part_of_every_input_and_the_version() -> None:
    base = cache_key("m", "1", request(x=X))
    assert base == cache_key("m", "1", request(x=X.copy()))
    assert base.startswith(b"sextant:cache:m:1:")
    different = [
        cache_key("m", "2", request(x=X)),  # another version
        cache_key("n", "1", request(x=X)),  # another model
        cache_key("m", "1", request(z=X)),  # another input name
        cache_key("m", "1", request(x=X.astype(np.float64))),  # another dtype
        cache_key("m", "1", request(x=X.reshape(2, 1))),  # another shape, same bytes
        cache_key("m", "1", request(x=X + 1)),  # other values
        cache_key("m", "1", request(x=X, y=X)),  # one more input
    ]
    assert base not in different
    assert len(set(different)) == len(different)


def test_string_inputs_are_keyed_by_their_bytes() -> None:
    a = np.array([b"ab", b"c"], dtype=object)
    b = np.array([b"a", b"bc"], dtype=object)
    assert cache_key("m", "1", request(s=a)) != cache_key("m", "1", request(s=b))


def test_outputs_round_trip_with_dtypes_shapes_and_strings() -> None:
    outputs = {
        "probabilities": np.arange(6, dtype=np.float32).reshape(2, 3),
        "label": np.array([3, 1], dtype=np.int64),
        "name": np.array([[b"cat"], [b"dog"]], dtype=object),
        "flag": np.array([True, False]),
    }
    back = decode_outputs(encode_outputs(outputs))
    assert list(back) == list(outputs)
    for name, arr in outputs.items():
        assert back[name].shape == arr.shape
        assert back[name].dtype == arr.dtype
        np.testing.assert_array_equal(back[name], arr)


@pytest.mark.parametrize("raw", [b"", b"\x05\x00\x00\x00[[", encode_outputs({"y": X})[:-1]])
def test_a_damaged_value_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="cache value"):
        decode_outputs(raw)
