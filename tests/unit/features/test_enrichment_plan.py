"""Online enrichment's plan: which inputs come from Redis, how values become tensors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sextant_runtime.config import ServeConfig
from sextant_runtime.features.layout import EVENT_TIME_FIELD, entity_key
from sextant_runtime.features.online import FeatureSpecError, OnlineFeatures
from sextant_runtime.features.plan import EnrichmentPlan, EntityNotFound, PlanError
from sextant_runtime.features.views import Column
from sextant_runtime.model import Signature, TensorSpec


def online(on_missing: str = "default", entity_dtype: str = "string") -> OnlineFeatures:
    return OnlineFeatures(
        namespace="shop",
        view="users",
        redis_url="redis://127.0.0.1:1/0",
        entity_input="user_id",
        entity=Column("user_id", entity_dtype),
        features=(
            Column("age", "int64"),
            Column("ltv", "float64"),
            Column("vip", "bool"),
            Column("country", "string"),
            Column("unused", "float32"),
        ),
        on_missing=on_missing,  # type: ignore[arg-type]
    )


def model(*extra: TensorSpec) -> Signature:
    return Signature(
        inputs=(
            TensorSpec("ltv", "FP32", (-1, 1)),
            TensorSpec("age", "FP32", (-1, 1)),
            TensorSpec("vip", "BOOL", (-1,)),
            TensorSpec("country", "BYTES", (-1, 1)),
            *extra,
        ),
        outputs=(TensorSpec("score", "FP32", (-1, 1)),),
    )


def user_ids(*ids: str) -> dict[str, np.ndarray]:
    return {"user_id": np.array(ids, dtype=object)}


def test_clients_send_the_entity_key_instead_of_the_looked_up_features() -> None:
    plan = EnrichmentPlan(online(), model(TensorSpec("amount", "FP32", (-1, 1))))

    inputs = plan.request_signature.inputs
    assert [(s.name, s.datatype, s.shape) for s in inputs] == [
        ("user_id", "BYTES", (-1,)),
        ("amount", "FP32", (-1, 1)),
    ]
    assert plan.request_signature.outputs == model().outputs
    # Only the features the model takes are read, after the entity's event time.
    assert plan.fields == (EVENT_TIME_FIELD, "age", "ltv", "vip", "country")


def test_keys_follow_the_layout_materialize_writes() -> None:
    plan = EnrichmentPlan(online(), model())
    assert plan.keys(user_ids("u1", "a/b:c")) == [
        entity_key("shop", "users", ["u1"]),
        entity_key("shop", "users", ["a/b:c"]),
    ]
    int_plan = EnrichmentPlan(online(entity_dtype="int64"), model())
    assert int_plan.request_signature.inputs[0].datatype == "INT64"
    assert int_plan.keys({"user_id": np.array([[7], [12]], dtype=np.int64)}) == [
        entity_key("shop", "users", [7]),
        entity_key("shop", "users", [12]),
    ]


def test_values_become_the_model_inputs_in_its_order_and_dtype() -> None:
    plan = EnrichmentPlan(online(), model(TensorSpec("amount", "FP32", (-1, 1))))
    amount = np.array([[9.5], [1.5]], dtype=np.float32)
    rows = [
        [b"1700000000000000", b"42", b"123.25", b"1", b"FR"],
        [b"1700000000000001", b"7", b"0.5", b"0", b"DE"],
    ]

    tensors, missing = plan.tensors({**user_ids("u1", "u2"), "amount": amount}, rows)

    assert list(tensors) == ["ltv", "age", "vip", "country", "amount"]
    assert tensors["ltv"].dtype == np.float32
    assert tensors["ltv"].shape == (2, 1)
    assert tensors["ltv"][:, 0].tolist() == [123.25, 0.5]
    assert tensors["age"][:, 0].tolist() == [42.0, 7.0]
    assert tensors["vip"].dtype == np.bool_
    assert tensors["vip"].tolist() == [True, False]
    assert tensors["country"][:, 0].tolist() == [b"FR", b"DE"]
    assert tensors["amount"] is amount
    assert missing == 0


def test_missing_entity_gets_zero_values_by_default_and_is_counted() -> None:
    plan = EnrichmentPlan(online("default"), model())
    rows: list[list[bytes | None]] = [[None] * 5, [b"1", b"3", None, b"1", b"FR"]]

    tensors, missing = plan.tensors(user_ids("ghost", "u1"), rows)

    assert missing == 1
    assert tensors["age"][:, 0].tolist() == [0.0, 3.0]
    assert tensors["ltv"][:, 0].tolist() == [0.0, 0.0]  # a null feature of u1 too
    assert tensors["vip"].tolist() == [False, True]
    assert tensors["country"][:, 0].tolist() == [b"", b"FR"]


def test_missing_entity_gets_nan_with_the_null_policy() -> None:
    signature = Signature(
        (TensorSpec("ltv", "FP64", (-1,)), TensorSpec("age", "FP32", (-1, 1))),
        (TensorSpec("score", "FP32", (-1, 1)),),
    )
    plan = EnrichmentPlan(online("null"), signature)

    tensors, missing = plan.tensors(user_ids("ghost"), [[None, None, None]])

    assert missing == 1
    assert math.isnan(tensors["ltv"][0])
    assert math.isnan(tensors["age"][0, 0])


def test_null_policy_refuses_inputs_that_cannot_hold_nan_at_start() -> None:
    with pytest.raises(PlanError, match=r"'vip'.*onMissing null needs floating-point"):
        EnrichmentPlan(online("null"), model())


def test_reject_policy_answers_404_naming_the_entity() -> None:
    plan = EnrichmentPlan(online("reject"), model())
    rows: list[list[bytes | None]] = [[b"1", b"3", b"1.0", b"1", b"FR"], [None] * 5]

    with pytest.raises(EntityNotFound) as caught:
        plan.tensors(user_ids("u1", "ghost"), rows)

    assert caught.value.status == 404
    assert "user_id='ghost'" in str(caught.value)
    assert "shop/users" in str(caught.value)
    with pytest.raises(EntityNotFound, match="no value for feature 'ltv'"):
        plan.tensors(user_ids("u1"), [[b"1", b"3", None, b"1", b"FR"]])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (TensorSpec("age", "FP32", (-1, 3)), r"shape \[-1, 3\]; a feature input is"),
        (TensorSpec("country", "FP32", (-1,)), "FP32, which a string feature cannot fill"),
        (TensorSpec("ltv", "INT64", (-1,)), "INT64, which a float64 feature cannot fill"),
    ],
)
def test_a_model_that_does_not_fit_the_view_fails_at_start(spec: TensorSpec, message: str) -> None:
    signature = Signature((spec,), (TensorSpec("y", "FP32", (-1,)),))
    with pytest.raises(PlanError, match=message):
        EnrichmentPlan(online(), signature)


def test_a_model_without_any_feature_input_fails_at_start() -> None:
    signature = Signature((TensorSpec("x", "FP32", (-1, 4)),), (TensorSpec("y", "FP32", (-1,)),))
    with pytest.raises(PlanError, match="no input of the model is a feature of FeatureView"):
        EnrichmentPlan(online(), signature)


def test_an_entity_input_the_model_declares_reaches_the_model() -> None:
    plan = EnrichmentPlan(online(), model(TensorSpec("user_id", "BYTES", (-1, 1))))
    ids = np.array([["u1"]], dtype=object)

    tensors, _ = plan.tensors({"user_id": ids}, [[b"1", b"3", b"1.0", b"1", b"FR"]])

    assert tensors["user_id"] is ids
    assert [s.name for s in plan.request_signature.inputs] == ["user_id"]


def test_features_spec_round_trips_and_names_the_bad_field() -> None:
    spec = online("reject")
    assert OnlineFeatures.from_json(spec.to_json()) == spec
    broken = json.loads(spec.to_json())
    broken["onMissing"] = "skip"
    with pytest.raises(FeatureSpecError, match="onMissing 'skip' must be one of"):
        OnlineFeatures.from_json(json.dumps(broken))
    broken = json.loads(spec.to_json())
    broken["features"][1]["dtype"] = "double"
    with pytest.raises(FeatureSpecError, match=r"features\[1\]\.dtype 'double'"):
        OnlineFeatures.from_json(json.dumps(broken))
    with pytest.raises(ValueError, match="featureView 'users' must be NAMESPACE/NAME"):
        ServeConfig(source="-", name="m", features=json.dumps({**broken, "featureView": "users"}))
