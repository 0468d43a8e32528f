"""`sextant drift check|report`: test a window of data against a reference.

The reference is a parquet or csv file (a path, file:// or http(s)://); the current
window is another such file (`--current`) or the last `--window` rows of a model's
prediction log in Redis (`--redis-url` and `--model`, or `--stream`). `check` prints the
result as JSON (DriftMonitor's `status.lastCheck`); `report` writes an HTML page.

Performance (concept drift) comes with it: from the prediction log, the ground truth
posted to the runtime (`sextant:labels:MODEL`) is joined by request id; from a file,
`--target` names the label column and `--prediction` the predicted one.

Exit status: 0 whether or not drift was found (the verdict is in the output), 1 when the
data cannot be read, 2 on a usage error.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import pyarrow as pa

    from sextant_runtime.drift import DriftResult, Feature, WindowStreaks
    from sextant_runtime.drift.types import Performance

TESTS = ("auto", "ks", "chisquare", "z", "psi", "wasserstein", "jensenshannon")


def _data_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--reference", "-r", required=True, metavar="URI",
                     help="Reference data: parquet or csv, a path, file:// or http(s)://."),
        click.option("--current", "-c", metavar="URI",
                     help="Current data, as --reference. Or read the prediction log:"),
        click.option("--redis-url", metavar="URL", help="Redis holding the prediction log."),
        click.option("--model", help="The logged model, NAME or NAMESPACE/NAME as the runtime "
                     "was given (stream sextant:predictions:MODEL)."),
        click.option("--stream", help="The stream key, instead of --model."),
        click.option("--window", type=click.IntRange(min=1), default=5000, show_default=True,
                     help="Rows of the prediction log to test (the newest)."),
        click.option("--format", "data_format", type=click.Choice(["parquet", "csv"]),
                     help="Format of both files (default: from the name's extension)."),
        click.option("--feature", "-f", "features", multiple=True, metavar="NAME[:TYPE]",
                     help="Feature to test, TYPE numerical or categorical (default: every "
                          "reference column, typed from the data). Repeatable."),
        click.option("--numerical-test", type=click.Choice(TESTS), default="auto",
                     show_default=True),
        click.option("--categorical-test", type=click.Choice(TESTS), default="auto",
                     show_default=True),
        click.option("--threshold", type=click.FloatRange(min=0, min_open=True),
                     help="Threshold of every test (default: each test's own, as Evidently)."),
        click.option("--drift-share", type=click.FloatRange(0, 1, min_open=True), default=0.5,
                     show_default=True, help="Dataset drift when this share of features drift."),
        click.option("--effect-size-floor", type=click.FloatRange(min=0),
                     help="Sample-size-aware: a feature drifts only if its effect size "
                          "reaches this too."),
        click.option("--correction", type=click.Choice(["none", "bh", "bonferroni"]),
                     default="none", show_default=True,
                     help="Multiple-testing correction of p-values across features."),
        click.option("--consecutive", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Declare drift after this many drifting windows in a row "
                          "(needs --state)."),
        click.option("--state", type=click.Path(dir_okay=False, path_type=Path),
                     help="JSON file keeping the window streaks between runs."),
        click.option("--predictions/--no-predictions", default=None,
                     help="Test the model's predictions: reference columns named after an "
                          "output (OUT, or OUT_0 ... per element) or 'prediction'. Default: "
                          "those the reference has; --predictions also reports their absence."),
        click.option("--target", metavar="COLUMN",
                     help="Performance of a --current file: its label column."),
        click.option("--prediction", metavar="NAME",
                     help="The prediction compared with labels: an output tensor of the log "
                          "(default: the model's first) or a column (default: prediction)."),
        click.option("--task", type=click.Choice(["auto", "classification", "regression"]),
                     default="auto", show_default=True,
                     help="auto: classification for integer, string or per-class outputs."),
        click.option("--labels-stream", metavar="KEY",
                     help="Ground truth stream (default with --model: sextant:labels:MODEL)."),
    ]  # fmt: skip
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


@click.group()
def drift() -> None:
    """Data and prediction drift: test a window against a reference."""


# A DriftMonitor's job hands its result to the operator under --result-key; a week
# leaves an operator that was down time to read it.
RESULT_TTL_SECONDS = 7 * 24 * 3600


@drift.command()
@_data_options
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON here instead of stdout.")  # fmt: skip
@click.option("--result-key", metavar="KEY",
              help="Also store the JSON in Redis (--redis-url) under KEY, kept a week "
                   "(how a DriftMonitor's job reports to the operator).")  # fmt: skip
def check(output: Path | None, result_key: str | None, **options: Any) -> None:
    """Test every feature and print the result as JSON (exit 0 whether drift or not)."""
    if result_key is not None and options["redis_url"] is None:
        raise click.UsageError("--result-key needs --redis-url")
    result = _run(**options)
    text = json.dumps(result.to_json(), indent=2) + "\n"
    if result_key is not None:
        _store(options["redis_url"], result_key, text)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


def _store(redis_url: str, key: str, text: str) -> None:
    import redis

    try:
        with redis.Redis.from_url(redis_url, socket_timeout=10) as client:
            client.set(key, text, ex=RESULT_TTL_SECONDS)
    except (redis.RedisError, OSError) as err:
        raise click.ClickException(f"storing the result {key} at {redis_url}: {err}") from err


@drift.command()
@_data_options
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write.")  # fmt: skip
@click.option("--title", default="Sextant drift report", show_default=True)
def report(output: Path, title: str, **options: Any) -> None:
    """Write an HTML report: distributions, test, statistic and verdict per feature."""
    from sextant_runtime.drift.report import render_html

    result = _run(**options)
    output.write_text(render_html(result, title=title))
    verdict = "drift" if result.dataset_drift else "no drift"
    click.echo(
        f"{output}: {verdict} ({result.drifted_features} of {result.tested_features} "
        "features drifted)",
        err=True,
    )


def _run(
    *,
    reference: str,
    current: str | None,
    redis_url: str | None,
    model: str | None,
    stream: str | None,
    window: int,
    data_format: str | None,
    features: tuple[str, ...],
    numerical_test: str,
    categorical_test: str,
    threshold: float | None,
    drift_share: float,
    effect_size_floor: float | None,
    correction: str,
    consecutive: int,
    state: Path | None,
    predictions: bool | None,
    target: str | None,
    prediction: str | None,
    task: str,
    labels_stream: str | None,
) -> DriftResult:
    from sextant_runtime.drift import DriftOptions
    from sextant_runtime.drift.predictions import check_with_predictions
    from sextant_runtime.predictionlog import output_names

    if consecutive > 1 and state is None:
        raise click.UsageError("--consecutive needs --state, where the streaks are kept")
    if target is not None and current is None:
        raise click.UsageError("--target is for --current files; the log's labels are posted")
    try:
        options = DriftOptions(
            numerical_test=numerical_test,
            categorical_test=categorical_test,
            threshold=threshold,
            drift_share=drift_share,
            effect_size_floor=effect_size_floor,
            correction=correction,  # type: ignore[arg-type]
            consecutive=consecutive,
        )
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    parsed_features = [_feature(spec) for spec in features] or None
    reference_table = _read(reference, data_format)
    current_table = _current(
        current=current,
        redis_url=redis_url,
        model=model,
        stream=stream,
        window=window,
        data_format=data_format,
    )
    streaks: WindowStreaks | None = None
    if state is not None:
        streaks = _load_streaks(state)
    try:
        result = check_with_predictions(
            reference_table,
            current_table,
            parsed_features,
            options,
            streaks,
            outputs=output_names(current_table) if current is None else (),
            predictions=predictions,
            prediction=prediction,
            task=task,
        )
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    if state is not None and streaks is not None:
        try:
            streaks.save(state)
        except OSError as err:
            raise click.ClickException(f"{state}: {err}") from err
    if labels_stream is None and current is None and model is not None:
        from sextant_runtime.groundtruth import labels_key

        labels_stream = labels_key(model)
    result.performance = _performance(
        current_table,
        target=target,
        prediction=prediction,
        task=task,
        redis_url=redis_url if current is None else None,
        labels_stream=labels_stream,
    )
    return result


def _performance(
    table: pa.Table,
    *,
    target: str | None,
    prediction: str | None,
    task: str,
    redis_url: str | None,
    labels_stream: str | None,
) -> Performance | None:
    """Labels against predictions: a file's target column, or the posted ground truth."""
    import redis

    from sextant_runtime.drift.performance import from_columns, join_window
    from sextant_runtime.groundtruth import read_labels
    from sextant_runtime.predictionlog import output_names

    try:
        if target is not None:
            return from_columns(table, target, prediction or "prediction", task)  # type: ignore[arg-type]
        if redis_url is None or labels_stream is None:
            return None
        name = prediction or next(iter(output_names(table)), None)
        if name is None:  # entries without outputs: nothing to hold labels against
            return None
        labels = read_labels(redis_url, labels_stream)
        return join_window(table, labels, name, task)  # type: ignore[arg-type]
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    except (redis.RedisError, OSError) as err:
        raise click.ClickException(f"ground truth {labels_stream} at {redis_url}: {err}") from err


def _feature(spec: str) -> Feature:
    from sextant_runtime.drift import Feature, Kind

    name, _, kind = spec.partition(":")
    if not name:
        raise click.BadParameter(f"{spec!r}: NAME[:TYPE]", param_hint="--feature")
    if not kind:
        return Feature(name)
    try:
        return Feature(name, Kind(kind))
    except ValueError:
        raise click.BadParameter(
            f"{spec!r}: TYPE is numerical or categorical", param_hint="--feature"
        ) from None


def _read(uri: str, data_format: str | None) -> pa.Table:
    from sextant_runtime.drift.sources import SourceError, read_table

    try:
        return read_table(uri, data_format)  # type: ignore[arg-type]
    except SourceError as err:
        raise click.ClickException(str(err)) from err


def _current(
    *,
    current: str | None,
    redis_url: str | None,
    model: str | None,
    stream: str | None,
    window: int,
    data_format: str | None,
) -> pa.Table:
    if current is not None:
        if redis_url or model or stream:
            raise click.UsageError("--current or the prediction log (--redis-url), not both")
        return _read(current, data_format)
    if redis_url is None:
        raise click.UsageError("no current data: give --current, or --redis-url with --model")
    if (model is None) == (stream is None):
        raise click.UsageError("the prediction log needs --model or --stream (one of them)")
    import redis

    from sextant_runtime.predictionlog import read_window, stream_key

    key = stream if stream is not None else stream_key(str(model))
    try:
        table = read_window(redis_url, key, window)
    except (redis.RedisError, OSError, ValueError) as err:
        raise click.ClickException(f"prediction log {key} at {redis_url}: {err}") from err
    if table.num_rows == 0:
        raise click.ClickException(f"prediction log {key} at {redis_url} is empty")
    return table


def _load_streaks(state: Path) -> WindowStreaks:
    from sextant_runtime.drift import WindowStreaks

    try:
        return WindowStreaks.load(state)
    except (OSError, ValueError, TypeError) as err:
        raise click.ClickException(f"{state}: {err}") from err
