"""`sextant crds` turns the models into structural, documented, deterministic CRDs, and the
committed crds/ folder is what it generates."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest
from click.testing import CliRunner
from pydantic import Field

from sextant.cli import main
from sextant_operator import crdgen
from sextant_operator.api import KINDS, DriftMonitor, FeatureView, ModelDeployment, Resource
from sextant_operator.api.common import (
    CRON_REGEX,
    DURATION_REGEX,
    ApiModel,
    CrdNames,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
CRDS = REPO_ROOT / "crds"


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{name}")
    if "items" in schema:
        yield from _nodes(schema["items"], f"{path}[*]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}{{*}}")


def _at(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = schema
    for part in dotted.split("."):
        node = node["items"] if part == "*" else node["properties"][part]
    return node


def _schema(kind: type[Resource]) -> dict[str, Any]:
    return crdgen.openapi_schema(kind)


def test_committed_crds_are_current() -> None:
    stale = crdgen.stale(CRDS)
    assert stale == [], (
        f"crds/ is stale ({', '.join(stale)}): the API models changed. "
        "Regenerate with `sextant crds` (or `make crds`) and commit crds/."
    )


def test_there_is_one_file_per_kind() -> None:
    assert sorted(p.name for p in CRDS.glob("*.yaml")) == sorted(
        f"sextant.dev_{kind.crd.plural}.yaml" for kind in KINDS
    )


def test_generation_is_deterministic_across_processes() -> None:
    in_process = {
        name: hashlib.sha256(text.encode()).hexdigest()
        for name, text in crdgen.render_all().items()
    }
    program = (
        "import hashlib, json; from sextant_operator import crdgen; "
        "print(json.dumps({n: hashlib.sha256(t.encode()).hexdigest() "
        "for n, t in crdgen.render_all().items()}))"
    )
    for seed in ("0", "12345"):
        result = subprocess.run(
            [sys.executable, "-c", program],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(result.stdout) == in_process


def test_check_flag_fails_on_a_stale_file_and_says_how_to_regenerate(tmp_path: Path) -> None:
    runner = CliRunner()
    written = runner.invoke(main, ["crds", "--output-dir", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert written.output.count("wrote ") == len(KINDS)

    target = tmp_path / "sextant.dev_modeldeployments.yaml"
    target.write_text(target.read_text().replace("maxBatchSize", "maxBatchSise"))
    checked = runner.invoke(main, ["crds", "--check", "--output-dir", str(tmp_path)])
    assert checked.exit_code == 1
    assert "sextant.dev_modeldeployments.yaml" in checked.output
    assert "run `sextant crds` or `make crds`" in checked.output

    rewritten = runner.invoke(main, ["crds", "--output-dir", str(tmp_path)])
    assert rewritten.output.strip() == f"wrote {target}"
    assert runner.invoke(main, ["crds", "--check", "--output-dir", str(tmp_path)]).exit_code == 0


def test_left_over_crd_files_are_stale_and_removed(tmp_path: Path) -> None:
    crdgen.write(tmp_path)
    left_over = tmp_path / "sextant.dev_oldkinds.yaml"
    left_over.write_text("kind: CustomResourceDefinition\n")
    unrelated = tmp_path / "README.md"
    unrelated.write_text("not a CRD\n")
    assert crdgen.stale(tmp_path) == ["sextant.dev_oldkinds.yaml"]
    assert crdgen.write(tmp_path) == [left_over]
    assert not left_over.exists()
    assert unrelated.exists()
    assert crdgen.stale(tmp_path) == []


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_schema_is_structural(kind: type[Resource]) -> None:
    for path, node in _nodes(_schema(kind)):
        int_or_string = node.get("x-kubernetes-int-or-string", False)
        assert "type" in node or int_or_string, f"{path}: untyped"
        assert "$ref" not in node, path
        assert "anyOf" not in node or int_or_string, f"{path}: anyOf outside int-or-string"
        for forbidden in ("const", "title", "nullable", "propertyNames", "uniqueItems"):
            assert forbidden not in node, f"{path}: {forbidden}"
        assert node.get("additionalProperties") is not False, path
        assert not ("properties" in node and "additionalProperties" in node), path
        for bound in ("exclusiveMinimum", "exclusiveMaximum"):
            assert node.get(bound, True) is True, f"{path}: {bound} must be a boolean"
        if "default" in node:
            assert node["default"] is not None, f"{path}: null default"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_field_has_a_description_and_every_value_a_bound(kind: type[Resource]) -> None:
    schema = _schema(kind)
    assert schema["description"]
    for part in ("spec", "status"):
        assert crdgen.lint(schema["properties"][part], f".{part}") == []
        for path, node in _nodes(schema["properties"][part], f".{part}"):
            for name, child in node.get("properties", {}).items():
                assert len(child.get("description", "")) > 5, f"{path}.{name}"
            if node.get("type") == "array":
                assert node["maxItems"] > 0, path


def test_crd_names_short_names_and_category() -> None:
    names = {kind.kind_name(): crdgen.crd(kind)["spec"]["names"] for kind in KINDS}
    assert names["ModelDeployment"] == {
        "kind": "ModelDeployment",
        "listKind": "ModelDeploymentList",
        "plural": "modeldeployments",
        "singular": "modeldeployment",
        "shortNames": ["md"],
        "categories": ["sextant"],
    }
    assert names["FeatureView"]["shortNames"] == ["fv"]
    assert names["DriftMonitor"]["shortNames"] == ["dm"]
    assert all(n["categories"] == ["sextant"] for n in names.values())


def test_status_subresource_on_every_kind_and_scale_on_model_deployment() -> None:
    versions = {kind.kind_name(): crdgen.crd(kind)["spec"]["versions"] for kind in KINDS}
    for kind_name, (version,) in versions.items():
        assert version["name"] == "v1alpha1", kind_name
        assert version["served"] is True
        assert version["storage"] is True
        assert version["subresources"]["status"] == {}
    assert versions["ModelDeployment"][0]["subresources"]["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }
    assert "scale" not in versions["FeatureView"][0]["subresources"]
    md = _schema(ModelDeployment)
    assert _at(md, "spec.replicas")["type"] == "integer"
    assert _at(md, "status.replicas")["type"] == "integer"
    assert _at(md, "status.selector")["type"] == "string"


def test_printer_columns_follow_the_contract() -> None:
    def columns(kind: type[Resource]) -> list[tuple[str, str]]:
        version = crdgen.crd(kind)["spec"]["versions"][0]
        return [(c["name"], c["jsonPath"]) for c in version["additionalPrinterColumns"]]

    ready = '.status.conditions[?(@.type=="Ready")].status'
    age = ".metadata.creationTimestamp"
    assert columns(ModelDeployment) == [
        ("Phase", ".status.phase"),
        ("Version", ".status.model.version"),
        ("Canary", ".status.canary.weight"),
        ("Ready", ".status.ready"),
        ("Age", age),
    ]
    assert columns(FeatureView) == [
        ("Entities", ".status.onlineEntities"),
        ("Last Materialized", ".status.lastMaterialization.time"),
        ("Ready", ready),
        ("Age", age),
    ]
    assert columns(DriftMonitor) == [
        ("Target", ".spec.target.modelDeployment"),
        ("Drift", ".status.lastCheck.datasetDrift"),
        ("Last Check", ".status.lastCheck.time"),
        ("Ready", ready),
        ("Age", age),
    ]
    # Every column points at a field the schema has.
    for kind in KINDS:
        schema = _schema(kind)
        for _, path in columns(kind):
            if path.startswith(".status.conditions") or path.startswith(".metadata"):
                continue
            assert _at(schema, path.lstrip("."))["description"]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_conditions_have_the_metav1_condition_shape(kind: type[Resource]) -> None:
    conditions = _at(_schema(kind), "status.conditions")
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) == {"type", "status", "reason", "message", "lastTransitionTime"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["lastTransitionTime"]["format"] == "date-time"
    assert item["properties"]["observedGeneration"]["format"] == "int64"
    assert _at(_schema(kind), "status.observedGeneration")["type"] == "integer"


def test_core_types_keep_kubernetes_semantics() -> None:
    md = _schema(ModelDeployment)
    quantity = _at(md, "spec.resources.requests")["additionalProperties"]
    assert quantity["x-kubernetes-int-or-string"] is True
    assert quantity["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert re.fullmatch(quantity["pattern"], "500m")
    assert not re.fullmatch(quantity["pattern"], "lots")
    affinity = _at(md, "spec.scheduling.affinity")
    assert affinity == {
        "description": affinity["description"],
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    spread = _at(md, "spec.scheduling.topologySpreadConstraints.*")
    assert spread["x-kubernetes-preserve-unknown-fields"] is True
    assert set(spread["required"]) == {"maxSkew", "topologyKey", "whenUnsatisfiable"}
    assert _at(md, "spec.runtime.env.*.valueFrom")["x-kubernetes-preserve-unknown-fields"] is True


def test_defaults_and_bounds_reach_the_schema() -> None:
    md = _schema(ModelDeployment)
    # Defaults of sub-objects are spelled out, as the API server would fill in `{}`.
    batching = {"maxBatchSize": 32, "maxDelayMs": 5, "maxQueueSize": 1024}
    assert _at(md, "spec.runtime")["default"] == {
        "batching": batching,
        "device": "auto",
        "optimize": {"graphOptimization": "all", "quantize": "none"},
        "cache": {"enabled": False, "ttl": "1h"},
    }
    assert _at(md, "spec.runtime.batching")["default"] == batching
    assert _at(md, "spec.rollout")["default"] == {
        "strategy": "RollingUpdate",
        "progressDeadlineSeconds": 600,
    }
    assert _at(md, "spec.scheduling")["default"] == {}
    assert _at(md, "spec.runtime.batching.maxBatchSize")["default"] == 32
    assert _at(md, "spec.rollout.strategy")["enum"] == ["RollingUpdate", "Canary", "BlueGreen"]
    assert _at(md, "spec.rollout.strategy")["default"] == "RollingUpdate"
    weight = _at(md, "spec.rollout.canary.steps.*.setWeight")
    assert (weight["minimum"], weight["maximum"]) == (0, 100)
    assert _at(md, "spec.autoscaling.targetCPUUtilization")["format"] == "int32"
    assert _at(md, "spec.model.registry.trackingUri")["format"] == "uri"
    share = _at(_schema(DriftMonitor), "spec.driftShare")
    assert (share["minimum"], share["exclusiveMinimum"]) == (0, True)
    assert (share["maximum"], share.get("exclusiveMaximum")) == (1, None)
    assert _at(_schema(FeatureView), "spec.features")["minItems"] == 1


def _rules_in(schema: dict[str, Any]) -> set[str]:
    return {
        rule["message"]
        for _, node in _nodes(schema)
        for rule in node.get("x-kubernetes-validations", [])
    }


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_cel_rule_names_its_field_or_states_its_format(kind: type[Resource]) -> None:
    for path, node in _nodes(_schema(kind)):
        for rule in node.get("x-kubernetes-validations", []):
            message = rule["message"]
            names_field = re.match(r"(spec|metadata)\.[A-Za-z]", message) is not None
            assert names_field or message.startswith("must be"), f"{path}: {message}"
            # CEL needs the bounds the cost estimator reads; regexes must be anchored.
            for regex in re.findall(r"matches\('(.*?)'\)", rule["rule"]):
                assert (regex[0], regex[-1]) == ("^", "$"), f"{path}: {regex}"


def test_each_models_cross_field_rules_are_in_the_crd() -> None:
    md = _schema(ModelDeployment)
    messages = _rules_in(md)
    for expected in (
        "spec.model: set exactly one of uri or registry",
        "spec.model.registry: set exactly one of alias or version",
        "spec.autoscaling.maxReplicas must be greater than or equal to minReplicas",
        "spec.rollout.canary is only allowed with strategy: Canary",
        "spec.rollout.blueGreen is only allowed with strategy: BlueGreen",
    ):
        assert expected in messages
    rollout_rules = _at(md, "spec.rollout")["x-kubernetes-validations"]
    assert {r["fieldPath"] for r in rollout_rules} == {".canary", ".blueGreen", ".analysis"}
    assert "spec.features: feature names must be unique" in _rules_in(_schema(FeatureView))


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("30s", True),
        ("2m", True),
        ("1h30m", True),
        ("1.5h", True),
        ("250ms", True),
        ("24h", True),
        ("2 minutes", False),
        ("10", False),
        ("1d", False),
        ("-5s", False),
        ("", False),
    ],
)
def test_duration_format(text: str, valid: bool) -> None:
    assert (re.search(DURATION_REGEX, text) is not None) == valid


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("*/15 * * * *", True),
        ("0 3 * * 1-5", True),
        ("0,30 8-18 1,15 JAN-JUN MON", True),
        ("@hourly", True),
        ("59 23 31 12 7", True),
        ("61 * * * *", False),
        ("* 24 * * *", False),
        ("* * 0 * *", False),
        ("*/10 * * *", False),
        ("* * * * * *", False),
        ("every 15 minutes", False),
        ("@every 5m", False),
    ],
)
def test_cron_format(text: str, valid: bool) -> None:
    assert (re.search(CRON_REGEX, text) is not None) == valid


class _Undocumented(ApiModel):
    """A spec whose fields break the rules."""

    names: list[str] = Field(default_factory=list)


class _UndocumentedKind(Resource):
    """A kind that must not generate."""

    crd: ClassVar[CrdNames] = CrdNames(plural="undocumented", short_names=(), printer_columns=())
    spec: _Undocumented = Field(description="The spec.")


class _Union(ApiModel):
    """A spec with a union of types."""

    value: int | str = Field(description="Either.")


class _UnionKind(Resource):
    """A kind with a union."""

    crd: ClassVar[CrdNames] = CrdNames(plural="unions", short_names=(), printer_columns=())
    spec: _Union = Field(description="The spec.")


def test_a_model_that_breaks_the_rules_does_not_generate() -> None:
    with pytest.raises(crdgen.CrdGenerationError) as caught:
        crdgen.openapi_schema(_UndocumentedKind)
    assert ".spec.names: no description" in str(caught.value)
    assert ".spec.names: list without maxItems" in str(caught.value)
    assert ".spec.names[*]: string without maxLength" in str(caught.value)
    with pytest.raises(crdgen.CrdGenerationError, match=r"\.spec\.value: a union of types"):
        crdgen.openapi_schema(_UnionKind)


def test_a_bounded_documented_model_generates() -> None:
    class Spec(ApiModel):
        """A spec."""

        names: Annotated[list[Annotated[str, Field(max_length=8)]], Field(max_length=4)] = Field(
            default_factory=list, description="Some names."
        )

    class Kind(Resource):
        """A kind."""

        crd: ClassVar[CrdNames] = CrdNames(plural="kinds", short_names=(), printer_columns=())
        spec: Spec = Field(description="The spec.")

    names = _at(crdgen.openapi_schema(Kind), "spec.names")
    assert names == {
        "description": "Some names.",
        "type": "array",
        "maxItems": 4,
        "items": {"type": "string", "maxLength": 8},
    }
