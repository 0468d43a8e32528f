"""pvc:// models as the operator hands them over: the claim mounted read-only at
/mnt/models/CLAIM and `sextant serve` given the mounted path, read in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from sextant_operator.render import runtime_contract as rc
from tests.integration.runtime.conftest import Serve
from tests.unit.runtime import model_files


def _snapshot(root: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    )


def test_a_model_folder_on_a_claim_is_served_from_the_mount_in_place(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pod's /mnt/models, here a folder of the test; the operator's own path mapping.
    monkeypatch.setattr(rc, "PVC_ROOT", str(tmp_path / "mnt" / "models"))
    claim = tmp_path / "mnt" / "models" / "weights"
    model_files.onnx_linear(claim / "fraud" / "v3" / "model.onnx")
    (claim / "fraud" / "v3" / "README").write_text("trained 2024-01-01\n")
    before = _snapshot(claim)
    source = rc.serve_source("pvc://weights/fraud/v3")
    assert source == f"{claim}/fraud/v3"
    server = serve(source)
    response = server.infer(
        [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
    )
    assert response.status_code == 200, response.text
    assert _snapshot(claim) == before  # read-only: nothing written to the claim
