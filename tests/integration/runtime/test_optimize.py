"""`sextant serve --quantize dynamic-int8` for real: what was kept is visible from outside."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.runtime.conftest import Serve
from tests.unit.runtime import model_files


def test_int8_kept_and_refused_show_in_metadata_metrics_and_log(
    serve: Serve, tmp_path: Path
) -> None:
    path = model_files.onnx_mlp(tmp_path / "mlp.onnx")
    kept = serve(path, "--quantize", "dynamic-int8", name="kept")
    refused = serve(
        path,
        name="refused",
        env={"SEXTANT_QUANTIZE": "dynamic-int8", "SEXTANT_QUANTIZE_TOLERANCE": "1e-7"},
    )
    row = [{"name": "x", "shape": [1, 32], "datatype": "FP32", "data": [0.5] * 32}]
    for server, accepted, reason in [
        (kept, 1, "WithinTolerance"),
        (refused, 0, "OutsideTolerance"),
    ]:
        assert server.infer(row).status_code == 200
        meta = httpx.get(f"{server.url}/v2/models/{server.name}", timeout=5).json()
        assert meta["parameters"]["quantization"] == ("dynamic-int8" if accepted else "none")
        assert meta["parameters"]["quantization_reason"] == reason
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        labels = f'model="{server.name}",version="1",track="stable",reason="{reason}"'
        assert f"sextant_model_quantization_accepted{{{labels}}} {accepted}" in metrics
    assert "int8 quantization not kept" in refused.log()
    assert "OutsideTolerance" in refused.log()
