"""The drift report as a browser shows it: headless Chromium lays out every chart.

Needs Debian's `chromium` (apt-get install chromium). The test appends a small probe
script to a copy of the report (the report itself has none) that measures each chart
after layout and writes what it found into the DOM, which `--dump-dom` prints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sextant_runtime.drift import check_drift
from sextant_runtime.drift.performance import from_columns
from sextant_runtime.drift.report import render_html

PROBE = """<script>
const found = [...document.querySelectorAll('section')].map(s => {
  const svg = s.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const bars = svg ? [...svg.querySelectorAll('rect')].filter(r => r.getBBox().height > 0) : [];
  return {feature: s.dataset.feature, drifted: s.dataset.drifted, width: box.width,
          height: box.height, bars: bars.length,
          verdict: s.querySelector('h2 small').textContent};
});
const out = document.createElement('pre');
out.id = 'probe';
out.textContent = JSON.stringify({found, verdict: document.getElementById('verdict').textContent});
document.body.appendChild(out);
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("no chromium on PATH: apt-get install -y --no-install-recommends chromium")


def test_every_feature_chart_is_drawn_in_chromium(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    ref = pa.table({"amount": rng.normal(0, 1, 3000), "country": rng.choice(["de", "fr"], 3000),
                    "empty": pa.nulls(3000, pa.float64())})  # fmt: skip
    cur = pa.table({"amount": rng.normal(1, 1, 2000), "country": rng.choice(["de", "fr"], 2000),
                    "empty": pa.nulls(2000, pa.float64())})  # fmt: skip
    page = tmp_path / "report.html"
    page.write_text(render_html(check_drift(ref, cur)).replace("</body>", PROBE + "</body>"))
    done = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, done.stdout[-2000:]
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    by_feature = {f["feature"]: f for f in probe["found"]}
    assert probe["verdict"].startswith("Dataset drift: 1 of 2 tested features")
    assert by_feature["amount"]["verdict"] == "drift"
    assert by_feature["country"]["verdict"] == "no drift"
    assert by_feature["empty"]["verdict"] == "not tested (EmptyReference)"
    for name in ("amount", "country"):
        assert by_feature[name]["width"] == 640
        assert by_feature[name]["height"] == 180
        assert by_feature[name]["bars"] >= 4
    assert by_feature["empty"]["bars"] == 0


PERFORMANCE_PROBE = """<script>
const table = document.getElementById('performance');
const out = document.createElement('pre');
out.id = 'probe';
out.textContent = JSON.stringify({
  summary: document.getElementById('performance-summary').textContent,
  rows: [...table.querySelectorAll('tr')].map(r => [r.cells[0].textContent,
                                                     r.cells[1].textContent]),
  visible: table.getBoundingClientRect().height > 0});
document.body.appendChild(out);
</script>"""


def test_performance_from_ground_truth_is_shown_in_chromium(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    ref = pa.table({"amount": rng.normal(0, 1, 500)})
    cur = pa.table({"amount": rng.normal(0, 1, 400), "target": [0, 1, 1, 2] * 100,
                    "prediction": [0, 1, 2, 2] * 100})  # fmt: skip
    result = check_drift(ref, cur)
    result.performance = from_columns(cur, "target", "prediction")
    page = tmp_path / "report.html"
    page.write_text(render_html(result).replace("</body>", PERFORMANCE_PROBE + "</body>"))
    done = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, done.stdout[-2000:]
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["visible"]
    assert probe["summary"].startswith("Classification (precision, recall and F1 macro")
    assert "400 labelled rows of 400" in probe["summary"]
    assert dict(probe["rows"]) == {"accuracy": "0.75", "precision": "0.8333",
                                   "recall": "0.8333", "f1": "0.7778"}  # fmt: skip
