"""Call a served model over OIP v2 and say whether it answers: `helm test`'s check.

    python -m sextant_runtime.probe http://fraud.ml.svc.cluster.local --model fraud \\
        --request '{"inputs": [...]}'

Waits (bounded) for readiness, reads the model's metadata, sends one inference request
if given, prints what it got, and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import httpx


def probe(base_url: str, model: str, request: str | None, wait_seconds: float) -> str:
    """The inference response (or the model's metadata); raises on any failure."""
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=10.0, trust_env=False) as client:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                ready = client.get(f"/v2/models/{model}/ready")
                if ready.status_code == 200:
                    break
                problem = f"HTTP {ready.status_code}"
            except httpx.TransportError as err:
                problem = f"{type(err).__name__}: {err}"
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{base_url}: model {model} not ready after {wait_seconds:.0f}s ({problem})"
                )
            time.sleep(1.0)
        metadata = client.get(f"/v2/models/{model}")
        metadata.raise_for_status()
        if request is None:
            return metadata.text
        response = client.post(
            f"/v2/models/{model}/infer",
            content=request.encode(),
            headers={"content-type": "application/json"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"infer answered HTTP {response.status_code}: {response.text}")
        outputs = response.json().get("outputs")
        if not outputs:
            raise RuntimeError(f"infer answered without outputs: {response.text}")
        return response.text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sextant_runtime.probe", description=__doc__)
    parser.add_argument("url", help="base URL of the server or Service")
    parser.add_argument("--model", required=True)
    parser.add_argument("--request", help="one OIP v2 inference request body (JSON)")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for readiness")
    args = parser.parse_args(argv)
    if args.request is not None:
        json.loads(args.request)  # a malformed body is the caller's mistake: say so first
    try:
        print(probe(args.url, args.model, args.request, args.wait))
    except (RuntimeError, httpx.HTTPError) as err:
        print(f"probe failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
