import pytest

from sextant.registry import ModelRef


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/fraud@champion", ModelRef("fraud", alias="champion")),
        ("models:/fraud/7", ModelRef("fraud", version="7")),
        ("models:/fraud-detector.v2@shadow-1", ModelRef("fraud-detector.v2", alias="shadow-1")),
    ],
)
def test_registry_uri_parses_to_name_and_alias_or_version(uri: str, expected: ModelRef) -> None:
    ref = ModelRef.parse(uri)
    assert ref == expected
    assert ref.uri == uri


@pytest.mark.parametrize(
    "uri", ["models:/fraud", "models:/fraud/latest", "runs:/abc/model", "models:/a@b@c", ""]
)
def test_malformed_registry_uri_is_rejected_with_the_expected_forms(uri: str) -> None:
    with pytest.raises(ValueError, match=r"models:/NAME@ALIAS or models:/NAME/VERSION"):
        ModelRef.parse(uri)


def test_ref_needs_exactly_one_of_alias_and_version() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ModelRef("fraud", alias="champion", version="3")
    with pytest.raises(ValueError, match="exactly one"):
        ModelRef("fraud")
