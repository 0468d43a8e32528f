"""OIP tensor datatypes and their numpy equivalents.

All wire data is little-endian (the binary tensor data extension says so); BYTES
tensors are numpy object arrays holding `bytes` (or `str` from JSON).
"""

from __future__ import annotations

import numpy as np

# OIP datatype name -> numpy dtype (little-endian, as on the wire).
NUMPY_DTYPES: dict[str, np.dtype[np.generic]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BYTES": np.dtype(np.object_),
}

_BY_NUMPY: dict[np.dtype[np.generic], str] = {v: k for k, v in NUMPY_DTYPES.items()}

# Which numpy kinds JSON data may arrive as for each target datatype. JSON numbers
# decode to Python int/float/bool; numpy infers int64, float64 or bool from them.
ACCEPTED_KINDS: dict[str, str] = {
    "BOOL": "b",
    **dict.fromkeys(("UINT8", "UINT16", "UINT32", "UINT64"), "iub"),
    **dict.fromkeys(("INT8", "INT16", "INT32", "INT64"), "iub"),
    **dict.fromkeys(("FP16", "FP32", "FP64"), "iubf"),
}

# Integer range checks for narrowing conversions (numpy's astype would wrap silently).
INT_LIMITS: dict[str, tuple[int, int]] = {
    name: (int(np.iinfo(name.lower()).min), int(np.iinfo(name.lower()).max))
    for name in ("UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64")
}


class UnsupportedDatatype(ValueError):
    """A numpy dtype with no OIP datatype (complex numbers, datetimes)."""


def oip_datatype(dtype: np.dtype[np.generic] | type) -> str:
    """The OIP datatype name of a numpy dtype; strings and bytes are BYTES."""
    dt = np.dtype(dtype)
    if dt.kind in "OSU":
        return "BYTES"
    name = _BY_NUMPY.get(dt.newbyteorder("<") if dt.byteorder == ">" else dt)
    if name is None:
        raise UnsupportedDatatype(f"numpy dtype {dt} has no Open Inference Protocol datatype")
    return name


def element_size(datatype: str) -> int:
    """Bytes per element on the wire for fixed-size datatypes; 0 for BYTES."""
    return 0 if datatype == "BYTES" else NUMPY_DTYPES[datatype].itemsize


def decode_bytes_tensor(buffer: memoryview, count: int) -> np.ndarray:
    """BYTES elements in the binary extension: each a 4-byte little-endian length, then data.

    Raises ValueError when the buffer does not hold exactly `count` elements.
    """
    out = np.empty(count, dtype=object)
    raw = buffer.tobytes()
    offset = 0
    end = len(raw)
    for i in range(count):
        if offset + 4 > end:
            raise ValueError(f"holds {i} BYTES elements, expected {count}")
        size = int.from_bytes(raw[offset : offset + 4], "little")
        offset += 4
        if offset + size > end:
            raise ValueError(f"element {i} claims {size} bytes but only {end - offset} remain")
        out[i] = raw[offset : offset + size]
        offset += size
    if offset != end:
        raise ValueError(f"has {end - offset} bytes left after {count} BYTES elements")
    return out


def encode_bytes_tensor(array: np.ndarray) -> bytes:
    """The binary extension's BYTES layout for an object/str/bytes array."""
    parts: list[bytes] = []
    for item in array.reshape(-1):
        data = item.encode() if isinstance(item, str) else bytes(item)
        parts.append(len(data).to_bytes(4, "little"))
        parts.append(data)
    return b"".join(parts)
