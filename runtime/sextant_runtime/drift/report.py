"""The drift report: one self-contained HTML page, inline SVG, no script, no CDN.

A summary (dataset verdict, share of drifted features, one row per feature), model
performance when ground truth was joined, and a section per feature: reference and
current distributions side by side (shares per bin or per category), the test, its
statistic, p-value, threshold and verdict, and data quality.
"""

from __future__ import annotations

from html import escape

from sextant_runtime.drift.types import Distribution, DriftResult, FeatureResult, Performance

WIDTH, HEIGHT, MARGIN = 640, 180, 28
REFERENCE_COLOUR, CURRENT_COLOUR = "#4c78a8", "#f58518"

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left}th{background:#f4f4f4}.drift{color:#b00020;font-weight:600}
.ok{color:#1b7f3b}.untested{color:#8a6d00}section{border-top:1px solid #ddd;margin-top:1.5em}
.legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}
"""


def render_html(result: DriftResult, title: str = "Sextant drift report") -> str:
    verdict = "Dataset drift" if result.dataset_drift else "No dataset drift"
    head = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p id="verdict" class="{"drift" if result.dataset_drift else "ok"}">{verdict}: '
        f"{result.drifted_features} of {result.tested_features} tested features drifted "
        f"(share {result.drift_share:.3f}, threshold {result.drift_share_threshold:g}). "
        f"Reference {result.reference_size} rows, current {result.sample_size} rows.</p>"
    )
    violations = ""
    if result.schema_violations:
        items = "".join(f"<li>{escape(v)}</li>" for v in result.schema_violations)
        violations = f'<h2>Schema violations</h2><ul id="schema">{items}</ul>'
    rows = "".join(_summary_row(i, feature) for i, feature in enumerate(result.features))
    summary = (
        '<h2>Features</h2><table id="summary"><tr><th>feature</th><th>type</th><th>test</th>'
        "<th>statistic</th><th>p-value</th><th>threshold</th><th>verdict</th></tr>"
        f"{rows}</table>"
    )
    sections = "".join(_section(i, feature) for i, feature in enumerate(result.features))
    performance = _performance(result.performance)
    return f"{head}{violations}{performance}{summary}{sections}</body></html>\n"


def _performance(performance: Performance | None) -> str:
    if performance is None:
        return ""
    averaged = (
        " (precision, recall and F1 macro-averaged)" if performance.task == "classification" else ""
    )
    lead = (
        f'<p id="performance-summary">{performance.task.capitalize()}{averaged}: '
        f"{performance.sample_size} labelled rows of {performance.window_rows}, prediction "
        f"{escape(performance.prediction)}.</p>"
    )
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{_fmt(value)}</td></tr>"
        for name, value in performance.metrics.items()
    )
    note = f"<p>{escape(performance.message)}</p>" if performance.message else ""
    table = f'<table id="performance">{rows}</table>' if rows else ""
    return f"<h2>Performance</h2>{lead}{table}{note}"


def _verdict(feature: FeatureResult) -> tuple[str, str]:
    if feature.status.value != "ok":
        return "untested", f"not tested ({feature.status.value})"
    return ("drift", "drift") if feature.drifted else ("ok", "no drift")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _summary_row(index: int, feature: FeatureResult) -> str:
    css, text = _verdict(feature)
    return (
        f'<tr><td><a href="#f{index}">{escape(feature.name)}</a></td>'
        f"<td>{feature.kind.value}{' (prediction)' if feature.prediction else ''}</td>"
        f"<td>{escape(feature.test or '-')}</td>"
        f"<td>{_fmt(feature.statistic)}</td><td>{_fmt(feature.p_value)}</td>"
        f'<td>{_fmt(feature.threshold)}</td><td class="{css}">{text}</td></tr>'
    )


def _section(index: int, feature: FeatureResult) -> str:
    css, text = _verdict(feature)
    quality = feature.quality.to_json()
    facts = [
        ("test", escape(feature.test or "-")),
        ("statistic", _fmt(feature.statistic)),
        ("p-value", _fmt(feature.p_value)),
        ("threshold", _fmt(feature.threshold)),
        ("effect size", _fmt(feature.effect_size)),
        ("values tested", f"reference {feature.reference_size}, current {feature.current_size}"),
        *((escape(k), escape(str(v))) for k, v in quality.items()),
    ]
    if feature.adjusted_p_value is not None:
        facts.insert(3, ("adjusted p-value", _fmt(feature.adjusted_p_value)))
    if feature.prediction:
        facts.insert(0, ("role", "model prediction"))
    if feature.message:
        facts.append(("note", escape(feature.message)))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    chart = _chart(feature.name, feature.distribution) if feature.distribution else ""
    return (
        f'<section id="f{index}" data-feature="{escape(feature.name)}" '
        f'data-drifted="{str(feature.drifted).lower()}" '
        f'data-role="{"prediction" if feature.prediction else "feature"}">'
        f'<h2>{escape(feature.name)} <small class="{css}">{text}</small></h2>'
        f"{chart}<table>{table}</table></section>"
    )


def _chart(name: str, dist: Distribution) -> str:
    n = len(dist.labels)
    top = max([*dist.reference, *dist.current, 1e-12])
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    slot = plot_w / max(n, 1)
    bar = slot * 0.42
    bars = []
    for i, (label, ref, cur) in enumerate(zip(dist.labels, dist.reference, dist.current,
                                              strict=True)):  # fmt: skip
        x = MARGIN + i * slot + slot * 0.08
        for offset, share, colour, side in (
            (0.0, ref, REFERENCE_COLOUR, "reference"),
            (bar, cur, CURRENT_COLOUR, "current"),
        ):
            h = plot_h * share / top
            bars.append(
                f'<rect x="{x + offset:.2f}" y="{MARGIN + plot_h - h:.2f}" '
                f'width="{bar:.2f}" height="{h:.2f}" fill="{colour}" class="{side}">'
                f"<title>{escape(label)}: {side} {share:.2%}</title></rect>"
            )
    axis = (
        f'<line x1="{MARGIN}" y1="{MARGIN + plot_h}" x2="{WIDTH - MARGIN}" '
        f'y2="{MARGIN + plot_h}" stroke="#888"/>'
        f'<text x="{MARGIN}" y="{MARGIN - 8}" font-size="11">max {top:.1%}</text>'
    )
    if dist.edges is not None:
        axis += (
            f'<text x="{MARGIN}" y="{HEIGHT - 8}" font-size="11">'
            f'{dist.edges[0]:.4g}</text><text x="{WIDTH - MARGIN}" y="{HEIGHT - 8}" '
            f'font-size="11" text-anchor="end">{dist.edges[-1]:.4g}</text>'
        )
    else:
        axis += "".join(
            f'<text x="{MARGIN + (i + 0.5) * slot:.2f}" y="{HEIGHT - 8}" font-size="10" '
            f'text-anchor="middle">{escape(label[:12])}</text>'
            for i, label in enumerate(dist.labels)
        )
    legend = (
        f'<div class="legend"><span style="background:{REFERENCE_COLOUR}"></span>reference'
        f'<span style="background:{CURRENT_COLOUR}"></span>current</div>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(name)}: reference and current distributions">'
        f"{''.join(bars)}{axis}</svg>{legend}"
    )
