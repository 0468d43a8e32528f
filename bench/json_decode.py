"""JSON request decode: the runtime's codec with simdjson (jsonbody.py) against orjson.

    .venv/bin/python -m bench.json_decode            # 64 to 512, and 150,528 FP32 values
    .venv/bin/python -m bench.json_decode --rounds 9

One single-row FP32 request per size, as clients write it: the values printed as float32
(`%.9g`, what numpy and tritonclient send) or as the float64 repr of each float32 (what
`tolist()` then `json.dumps` sends, as bench/runtime.py does). The same `Codec.decode`
runs with simdjson for every body size and with its parser swapped back to `orjson.loads`
(the codec before jsonbody.py), alternating round by round in one process. It reports
the median µs per decode, the ratio, and which parser the runtime picks at that body size
(orjson below jsonbody's size threshold).
"""

from __future__ import annotations

import argparse
import json
import statistics
import timeit
from collections.abc import Callable
from unittest import mock

import numpy as np
import orjson

from sextant_runtime import jsonbody, protocol
from sextant_runtime.model import Signature, TensorSpec
from sextant_runtime.protocol import Codec

SIZES = (64, 128, 256, 512, 150_528)  # small MLP, ..., compute-bound MLP, a 224x224x3 image


def body(width: int, printed: str) -> bytes:
    values = np.random.default_rng(0).standard_normal(width).astype(np.float32)
    data = [float(f"{v:.9g}") for v in values] if printed == "float32" else values.tolist()
    entry = {"name": "x", "shape": [1, width], "datatype": "FP32", "data": data}
    return json.dumps({"inputs": [entry]}).encode()


def per_call_us(call: Callable[[], object], width: int) -> float:
    number = max(3, 100_000 // width)
    return min(timeit.repeat(call, number=number, repeat=3)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(
        "| values | printed as | body bytes | orjson µs | simdjson µs | speed-up | runtime uses |"
    )
    print("|---|---|---|---|---|---|---|")
    for width in SIZES:
        codec = Codec("m", "1", Signature((TensorSpec("x", "FP32", (-1, width)),), ()))
        for printed in ("float32", "float64"):
            request = body(width, printed)
            expected = np.asarray(orjson.loads(request)["inputs"][0]["data"], dtype=np.float32)
            assert np.array_equal(codec.decode(request).inputs["x"][0], expected)
            simd: list[float] = []
            plain: list[float] = []
            for _ in range(args.rounds):
                with mock.patch.object(jsonbody, "_SIMDJSON_FROM_BYTES", 0):
                    simd.append(per_call_us(lambda: codec.decode(request), width))  # noqa: B023
                with mock.patch.object(protocol, "load_request", orjson.loads):
                    plain.append(per_call_us(lambda: codec.decode(request), width))  # noqa: B023
            now, old = statistics.median(simd), statistics.median(plain)
            uses = "simdjson" if len(request) >= jsonbody._SIMDJSON_FROM_BYTES else "orjson"
            print(
                f"| {width:,} | {printed} | {len(request):,} | {old:,.1f} | {now:,.1f} "
                f"| {old / now:.2f}x | {uses} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
