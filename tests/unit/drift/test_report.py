"""The HTML report: self-contained, one chart and one verdict per feature."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from sextant_runtime.drift import check_drift
from sextant_runtime.drift.report import render_html


def test_report_has_a_chart_test_and_verdict_per_feature(rng: np.random.Generator) -> None:
    ref = pa.table({"amount": rng.normal(0, 1, 3000), "country": rng.choice(["de", "fr"], 3000)})
    cur = pa.table({"amount": rng.normal(1, 1, 2000), "country": rng.choice(["de", "fr"], 2000)})
    html = render_html(check_drift(ref, cur))
    sections = re.findall(r'<section id="f\d+" data-feature="([^"]+)" data-drifted="(\w+)"', html)
    assert sections == [("amount", "true"), ("country", "false")]
    assert html.count("<svg") == 2
    assert "wasserstein" in html
    assert "jensenshannon" in html
    assert '<p id="verdict" class="drift">Dataset drift: 1 of 2 tested features' in html


def test_report_loads_nothing_from_elsewhere(rng: np.random.Generator) -> None:
    ref = pa.table({"x": rng.normal(0, 1, 100)})
    html = render_html(check_drift(ref, ref))
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_names_and_categories_are_escaped() -> None:
    ref = pa.table({"<b>": ["<script>alert(1)</script>", "x"] * 10})
    cur = pa.table({"<b>": ["x", "&"] * 10})
    html = render_html(check_drift(ref, cur), title="a <title>")
    assert "<script>" not in html
    assert "&lt;b&gt;" in html
    assert "<title>a &lt;title&gt;</title>" in html


def test_untested_features_say_why() -> None:
    ref = pa.table({"x": [1.0, 2.0], "y": [1.0, 2.0]})
    cur = pa.table({"y": [1.0, 2.0]})
    html = render_html(check_drift(ref, cur))
    assert "not tested (MissingColumn)" in html
    assert "x: missing from the current data" in html
