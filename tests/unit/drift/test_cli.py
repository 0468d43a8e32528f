"""`sextant drift check|report` on files: JSON out, exit 0 whether drift or not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sextant.cli import main


@pytest.fixture
def files(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, Path]:
    reference = tmp_path / "train.parquet"
    current = tmp_path / "window.csv"
    pq.write_table(
        pa.table({"amount": rng.normal(0, 1, 800), "country": rng.choice(["de", "fr", "it"], 800)}),
        reference,
    )
    pacsv.write_csv(
        pa.table({"amount": rng.normal(1, 1, 500), "country": rng.choice(["de", "fr", "it"], 500)}),
        current,
    )
    return reference, current


def test_check_prints_the_verdict_and_exits_zero_on_drift(files: tuple[Path, Path]) -> None:
    reference, current = files
    args = ["drift", "check", "-r", str(reference), "-c", str(current)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    amount = next(f for f in payload["features"] if f["name"] == "amount")
    assert (amount["test"], amount["drifted"]) == ("ks", True)
    assert payload["sampleSize"] == 500


def test_check_options_reach_the_check(files: tuple[Path, Path], tmp_path: Path) -> None:
    reference, current = files
    out, state = tmp_path / "out.json", tmp_path / "s"
    args = ["drift", "check", "-r", f"file://{reference}", "-c", str(current), "-o", str(out),
            "-f", "country", "--categorical-test", "psi", "--correction", "bh",
            "--effect-size-floor", "0.2", "--consecutive", "2", "--state", str(state)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert [(f["name"], f["test"]) for f in payload["features"]] == [("country", "psi")]
    assert json.loads((tmp_path / "s").read_text()) == {"streaks": {"country": 0}}


def test_report_writes_html(files: tuple[Path, Path], tmp_path: Path) -> None:
    reference, current = files
    out = tmp_path / "report.html"
    args = ["drift", "report", "-r", str(reference), "-c", str(current), "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert out.read_text().count("<svg") == 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-c", "{cur}"], 2, "Missing option '--reference'"),
        (["-r", "{ref}"], 2, "no current data"),
        (["-r", "{ref}", "-c", "{cur}", "--redis-url", "redis://x"], 2, "not both"),
        (["-r", "{ref}", "--redis-url", "redis://x"], 2, "--model or --stream"),
        (["-r", "{ref}", "-c", "{cur}", "-f", "nope"], 2, "not a column of the reference"),
        (["-r", "{ref}", "-c", "{cur}", "-f", "amount:text"], 2, "numerical or categorical"),
        (["-r", "{ref}", "-c", "{cur}", "--consecutive", "3"], 2, "needs --state"),
        (["-r", "{ref}", "-c", "{cur}", "--categorical-test", "ks"], 2, "not a categorical"),
        (["-r", "/nonexistent.parquet", "-c", "{cur}"], 1, "no such file"),
        (["-r", "{ref}", "-c", "{cur}.data"], 1, "cannot tell parquet from csv"),
        (["-r", "pvc://data/x.parquet", "-c", "{cur}"], 1, "mounted by the operator"),
        (["-r", "{cur}", "-c", "{cur}", "--format", "parquet"], 1, "Parquet"),
    ],
)
def test_usage_and_io_errors_exit_non_zero(
    files: tuple[Path, Path], args: list[str], code: int, message: str
) -> None:
    reference, current = files
    argv = [a.format(ref=reference, cur=current) for a in args]
    result = CliRunner().invoke(main, ["drift", "check", *argv])
    assert result.exit_code == code, result.output
    assert message in result.output


def test_a_file_with_target_and_prediction_gets_performance(tmp_path: Path) -> None:
    reference, current = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    pq.write_table(pa.table({"amount": [1.0, 2.0, 3.0]}), reference)
    pq.write_table(pa.table({"amount": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 3.0, 4.0],
                             "yhat": [1.0, 2.0, 3.0, 6.0]}), current)  # fmt: skip
    args = ["drift", "check", "-r", str(reference), "-c", str(current), "--target", "y",
            "--prediction", "yhat"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    performance = json.loads(result.stdout)["performance"]
    assert performance["task"] == "regression"
    assert performance["sampleSize"] == 4
    assert performance["metrics"]["mae"] == pytest.approx(0.5)
    assert "performance" not in json.loads(
        CliRunner().invoke(main, args[:6]).stdout
    )  # no --target: no labels to compare with


def test_performance_usage_errors_name_the_option(files: tuple[Path, Path]) -> None:
    reference, current = files
    args = ["drift", "check", "-r", str(reference), "-c", str(current), "--target", "label"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "target 'label' is not a column" in result.output
    args = ["drift", "check", "-r", str(reference), "--redis-url", "redis://127.0.0.1:1/0",
            "--model", "m", "--target", "y"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2  # refused before Redis is asked
    assert "--target is for --current files" in result.output
