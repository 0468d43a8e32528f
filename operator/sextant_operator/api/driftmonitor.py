"""DriftMonitor: compare a model's recent inputs and outputs with a reference data set."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from sextant_operator.api.common import (
    AGE_COLUMN,
    READY_COLUMN,
    ApiModel,
    CrdNames,
    Cron,
    HttpUrl,
    Identifier,
    Int32,
    Int64,
    ObjectName,
    PrinterColumn,
    Resource,
    ResourceStatus,
    S3Access,
    TableLocation,
    cel,
    nested,
)

NumericalTest = Literal["auto", "ks", "wasserstein", "psi", "jensenshannon"]
CategoricalTest = Literal["auto", "chisquare", "psi", "jensenshannon"]


class Target(ApiModel):
    """The model whose prediction log is checked."""

    model_deployment: ObjectName = Field(
        description="ModelDeployment in this namespace; it needs spec.predictionLog."
    )


class Reference(TableLocation):
    """The reference data set, usually the training data."""

    s3: S3Access | None = Field(
        default=None,
        description="Endpoint, region and credentials Secret of an s3:// uri, given to the "
        "drift check pods; only with one.",
    )

    @cel(
        "!has(self.s3) || self.uri.startsWith('s3://')",
        "spec.reference.s3 is only for an s3://BUCKET/KEY spec.reference.uri",
        field_path=".s3",
    )
    def _s3_only_for_s3(self) -> bool:
        return self.s3 is None or self.uri.startswith("s3://")


class DriftFeature(ApiModel):
    """A feature to test, and how to treat it."""

    name: Identifier = Field(description="Model input (and reference column) name.")
    type: Literal["numerical", "categorical"] = Field(
        description="numerical or categorical; picks the test."
    )


class DriftTests(ApiModel):
    """Statistical tests per feature type."""

    numerical: NumericalTest = Field(
        default="auto",
        description="ks, wasserstein, psi, jensenshannon, or auto (ks for small samples, "
        "wasserstein for large ones).",
    )
    categorical: CategoricalTest = Field(
        default="auto",
        description="chisquare, psi, jensenshannon, or auto (chisquare, or jensenshannon for "
        "many categories).",
    )
    threshold: Annotated[float, Field(gt=0, le=1)] | None = Field(
        default=None,
        description="Drift threshold: a p-value for ks and chisquare (drift below it), a "
        "distance for the others (drift above it). Omitted: 0.05 for p-values, 0.1 for "
        "distances.",
    )


class Window(ApiModel):
    """Which recent predictions are compared."""

    size: Annotated[Int32, Field(ge=10, le=1_000_000)] = Field(
        default=5000, description="Newest prediction log entries used per check."
    )


class PerformanceSpec(ApiModel):
    """How predictions are held against the ground truth posted to the runtime."""

    task: Literal["auto", "classification", "regression"] = Field(
        default="auto",
        description="classification (accuracy, macro precision, recall, F1) or regression "
        "(MAE, RMSE, R2); auto: classification for integer, string or per-class outputs.",
    )
    prediction: Identifier | None = Field(
        default=None,
        description="The output tensor compared with the labels; omitted: the model's first.",
    )


class Action(ApiModel):
    """What happens when dataset drift is detected."""

    type: Literal["Alert", "AbortRollout", "Webhook"] = Field(
        description="Alert (Warning Event and Ready reason), AbortRollout (abort a running "
        "rollout of the target), or Webhook (POST the check result to url)."
    )
    url: HttpUrl | None = Field(default=None, description="Webhook URL; only with type Webhook.")

    @cel(
        "self.type != 'Webhook' || has(self.url)",
        "spec.actions: url is required with type Webhook",
        field_path=".url",
        reason="FieldValueRequired",
    )
    def _webhook_has_url(self) -> bool:
        return self.type != "Webhook" or self.url is not None

    @cel(
        "self.type == 'Webhook' || !has(self.url)",
        "spec.actions: url is only allowed with type Webhook",
        field_path=".url",
        reason="FieldValueForbidden",
    )
    def _url_only_for_webhook(self) -> bool:
        return self.type == "Webhook" or self.url is None


class DriftMonitorSpec(ApiModel):
    """What to compare, how, and how often."""

    target: Target = Field(description="The model to watch.")
    reference: Reference = Field(description="The reference data set.")
    features: Annotated[list[DriftFeature], Field(max_length=256)] = Field(
        default_factory=list,
        description="Features to test; names unique. Omitted: every model input, with the "
        "type inferred from the reference data.",
    )
    predictions: bool = Field(
        default=True, description="Also test the distribution of the model's output."
    )
    tests: DriftTests = nested(DriftTests, "Statistical tests.")
    performance: PerformanceSpec = nested(
        PerformanceSpec,
        "Model performance from the ground truth posted to the target's runtime "
        "(POST /v2/models/NAME/ground-truth), joined by request id with the window.",
    )
    window: Window = nested(Window, "Which predictions are compared.")
    schedule: Cron = Field(
        default="*/10 * * * *",
        description="Cron schedule of the check job, such as '*/10 * * * *'.",
    )
    drift_share: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.5,
        description="Dataset drift is declared when at least this share (0 exclusive to 1) of "
        "the tested features drift.",
    )
    actions: Annotated[list[Action], Field(max_length=16)] = Field(
        default_factory=list, description="What to do on dataset drift."
    )

    @cel(
        "!has(self.features) || "
        "self.features.all(f, self.features.exists_one(o, o.name == f.name))",
        "spec.features: feature names must be unique",
        field_path=".features",
    )
    def _unique_features(self) -> bool:
        return len({f.name for f in self.features}) == len(self.features)


# What `sextant drift check` may report: `z` is the test `auto` picks for a binary
# categorical feature with a small reference, as Evidently does.
TestName = Literal["ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z"]


class FeatureDrift(ApiModel):
    """The result for one feature (or the prediction)."""

    name: Annotated[str, StringConstraints(max_length=128)] = Field(description="Feature name.")
    test: TestName | None = Field(
        default=None, description="Test used; absent when the feature could not be tested."
    )
    statistic: float | None = Field(
        default=None,
        description="Test statistic or distance; absent when the feature could not be tested.",
    )
    p_value: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="p-value, for ks, chisquare and z."
    )
    drifted: bool = Field(description="Whether the feature drifted.")
    role: Literal["prediction"] | None = Field(
        default=None,
        description="prediction for a column of the model's output (spec.predictions); "
        "absent for input features.",
    )
    message: Annotated[str, StringConstraints(max_length=512)] | None = Field(
        default=None,
        description="Why the feature could not be tested (missing column, no finite value...).",
    )


MetricName = Annotated[str, StringConstraints(max_length=32)]


class PerformanceCheck(ApiModel):
    """Model performance over the labelled rows of the last check's window."""

    task: Literal["classification", "regression"] = Field(description="How it was measured.")
    prediction: Annotated[str, StringConstraints(max_length=128)] = Field(
        description="The output compared with the labels."
    )
    sample_size: Annotated[Int64, Field(ge=0)] = Field(
        description="Labelled rows of the window the metrics are over."
    )
    metrics: Annotated[dict[MetricName, float], Field(max_length=16)] = Field(
        default_factory=dict,
        description="Metric name -> value: accuracy, precision, recall, f1 (macro) or mae, "
        "rmse, r2; a metric that is undefined (r2 of constant labels) is left out.",
    )
    message: Annotated[str, StringConstraints(max_length=512)] | None = Field(
        default=None, description="Why there are no metrics, or rows left out."
    )


class DriftCheck(ApiModel):
    """The last drift check."""

    time: datetime | None = Field(default=None, description="When it ran.")
    sample_size: Annotated[Int64, Field(ge=0)] | None = Field(
        default=None, description="Prediction log entries compared."
    )
    dataset_drift: bool | None = Field(
        default=None, description="Whether at least spec.driftShare of the features drifted."
    )
    drift_share: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="Share of tested features that drifted."
    )
    features: Annotated[list[FeatureDrift], Field(max_length=512)] = Field(
        default_factory=list, description="Per-feature results."
    )
    performance: PerformanceCheck | None = Field(
        default=None,
        description="Performance against the ground truth; absent when the model has no output "
        "to compare.",
    )


class DriftMonitorStatus(ResourceStatus):
    """What the drift check jobs found."""

    last_check: DriftCheck | None = Field(default=None, description="The last drift check.")


class DriftMonitor(Resource):
    """Scheduled data and prediction drift checks of a ModelDeployment."""

    crd: ClassVar[CrdNames] = CrdNames(
        plural="driftmonitors",
        short_names=("dm",),
        printer_columns=(
            PrinterColumn(
                "Target", "string", ".spec.target.modelDeployment", "The ModelDeployment watched."
            ),
            PrinterColumn(
                "Drift",
                "boolean",
                ".status.lastCheck.datasetDrift",
                "Whether the last check found dataset drift.",
            ),
            PrinterColumn(
                "Last Check", "date", ".status.lastCheck.time", "When the last check ran."
            ),
            READY_COLUMN,
            AGE_COLUMN,
        ),
    )

    kind: Literal["DriftMonitor"] = Field(default="DriftMonitor", description="DriftMonitor.")
    spec: DriftMonitorSpec = Field(description="The desired state.")
    status: DriftMonitorStatus | None = Field(default=None, description="The observed state.")
