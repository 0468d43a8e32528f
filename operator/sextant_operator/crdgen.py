"""Generate crds/*.yaml from the typed API models.

pydantic writes JSON Schema (draft 2020-12); Kubernetes wants a *structural* OpenAPI v3
schema: no $ref, every node typed, Optional as a missing key rather than a null branch,
exclusive bounds as booleans, unknown fields pruned unless a node says otherwise. This
module translates one into the other and checks the result, so a model that cannot be
expressed as a CRD fails here rather than at `kubectl apply`.
"""

from __future__ import annotations

import copy
import inspect
from pathlib import Path
from typing import Any

import yaml

from sextant_operator.api import GROUP, KINDS, VERSION, Resource

Schema = dict[str, Any]

FILE_PREFIX = f"{GROUP}_"

# JSON Schema keywords Kubernetes does not accept, or that only repeat the field name.
_DROPPED = frozenset({"title", "propertyNames", "examples"})

# Keys first in this order, the rest after them alphabetically: reads like `kubectl explain`.
_KEY_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
    "anyOf",
    "required",
    "properties",
    "items",
    "additionalProperties",
)

_ROOT_PROPERTIES: Schema = {
    "apiVersion": {
        "description": "Versioned schema of this object; sextant.dev/v1alpha1.",
        "type": "string",
    },
    "kind": {"description": "Kind of this object.", "type": "string"},
    "metadata": {"type": "object"},
}


class CrdGenerationError(ValueError):
    """An API model cannot be turned into a valid structural CRD schema."""


def _merge(base: Schema, override: Schema) -> Schema:
    """Field-level keys (description, default) win over the referenced type's own."""
    merged = {**base, **override}
    rules = base.get("x-kubernetes-validations", []) + override.get("x-kubernetes-validations", [])
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


def _inline(node: Schema, defs: dict[str, Schema], path: str) -> Schema:
    """Replace a $ref by its target and `X | None` by X: structural schemas have neither."""
    if "$ref" in node:
        name = node.pop("$ref").rsplit("/", 1)[-1]
        node = _merge(_structural(defs[name], defs, path), node)
    if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
        branches = [branch for branch in node.pop("anyOf") if branch != {"type": "null"}]
        if len(branches) != 1:
            raise CrdGenerationError(f"{path}: a union of types is not structural")
        node = _merge(_structural(branches[0], defs, path), node)
    return node


def _filled_default(properties: dict[str, Schema]) -> Schema:
    """The object the API server makes of a `{}` default once it defaulted the fields inside.

    Spelled out because the API server checks a default against the CEL rules of its
    object as written, before defaulting inside it: `{}` would fail `self.a >= self.b`.
    """
    return {key: child["default"] for key, child in properties.items() if "default" in child}


def _structural(node: Schema, defs: dict[str, Schema], path: str) -> Schema:
    node = _inline(copy.deepcopy(node), defs, path)
    if "default" in node and node["default"] is None:
        del node["default"]  # `X | None = None` means "absent", not null
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound in ("Minimum", "Maximum"):
        exclusive = node.get(f"exclusive{bound}")
        if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
            node[bound.lower()] = exclusive
            node[f"exclusive{bound}"] = True
    extra = node.pop("additionalProperties", None)
    if extra is True:
        node["x-kubernetes-preserve-unknown-fields"] = True
    elif isinstance(extra, dict):
        node["additionalProperties"] = _structural(extra, defs, f"{path}[*]")
    if "properties" in node:
        node["properties"] = {
            key: _structural(value, defs, f"{path}.{key}")
            for key, value in node["properties"].items()
        }
        if node.get("default") == {}:
            node["default"] = _filled_default(node["properties"])
        if not node["properties"]:
            del node["properties"]  # an empty object, such as `analysis: {}`
    if "items" in node:
        node["items"] = _structural(node["items"], defs, f"{path}[*]")
    for key in _DROPPED:
        node.pop(key, None)
    return _ordered(node)


def _ordered(node: Schema) -> Schema:
    rank = {key: index for index, key in enumerate(_KEY_ORDER)}
    return {key: node[key] for key in sorted(node, key=lambda k: (rank.get(k, len(rank)), k))}


def lint(schema: Schema, path: str = "") -> list[str]:
    """Problems that would make the CRD rejected, unhelpful, or too costly for CEL.

    Every node needs a type; every field a description; every string, list and map a
    bound, because the API server estimates CEL cost from those bounds and refuses
    rules whose worst case is unbounded.
    """
    problems: list[str] = []
    kind = schema.get("type")
    int_or_string = schema.get("x-kubernetes-int-or-string", False)
    if kind is None and not int_or_string:
        problems.append(f"{path}: no type")
    if "$ref" in schema or ("anyOf" in schema and not int_or_string):
        problems.append(f"{path}: not structural ($ref or anyOf)")
    unbounded_string = "maxLength" not in schema and "enum" not in schema
    if kind == "string" and unbounded_string and schema.get("format") != "date-time":
        problems.append(f"{path}: string without maxLength")
    if kind == "array" and "maxItems" not in schema:
        problems.append(f"{path}: list without maxItems")
    if kind == "object" and "additionalProperties" in schema and "maxProperties" not in schema:
        problems.append(f"{path}: map without maxProperties")
    for name, child in schema.get("properties", {}).items():
        if not child.get("description"):
            problems.append(f"{path}.{name}: no description")
        problems.extend(lint(child, f"{path}.{name}"))
    if "items" in schema:
        problems.extend(lint(schema["items"], f"{path}[*]"))
    if isinstance(schema.get("additionalProperties"), dict):
        problems.extend(lint(schema["additionalProperties"], f"{path}[*]"))
    return problems


def openapi_schema(kind: type[Resource]) -> Schema:
    """The structural openAPIV3Schema of one kind."""
    raw = kind.model_json_schema(by_alias=True, mode="validation")
    schema = _structural(raw, raw.pop("$defs", {}), "")
    properties = {**schema["properties"], **_ROOT_PROPERTIES}
    order = ("apiVersion", "kind", "metadata", "spec", "status")
    schema["properties"] = {key: properties[key] for key in order if key in properties}
    schema["required"] = ["spec"]
    problems = [
        problem
        for part in ("spec", "status")
        if part in properties
        for problem in lint(properties[part], f".{part}")
    ]
    if problems:
        raise CrdGenerationError(f"{kind.__name__}: " + "; ".join(problems))
    return schema


def crd(kind: type[Resource]) -> Schema:
    """The CustomResourceDefinition of one kind, as a dict ready to dump."""
    names = kind.crd
    name = kind.kind_name()
    subresources: Schema = {"status": {}}
    if names.scale is not None:
        spec_path, status_path, selector_path = names.scale
        subresources["scale"] = {
            "specReplicasPath": spec_path,
            "statusReplicasPath": status_path,
            "labelSelectorPath": selector_path,
        }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{names.plural}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "sextant", "app.kubernetes.io/part-of": "sextant"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": name,
                "listKind": f"{name}List",
                "plural": names.plural,
                "singular": name.lower(),
                "shortNames": list(names.short_names),
                "categories": list(names.categories),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": subresources,
                    "additionalPrinterColumns": [c.as_schema() for c in names.printer_columns],
                    "schema": {"openAPIV3Schema": openapi_schema(kind)},
                }
            ],
        },
    }


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors for repeated sub-schemas, lists indented like kubectl's."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def render(kind: type[Resource]) -> str:
    source = Path(inspect.getfile(kind))
    header = (
        f"# Generated by `sextant crds` from the {kind.kind_name()} model in "
        f"operator/sextant_operator/api/{source.name}. Do not edit: change the model, then "
        "run `make crds`.\n"
    )
    body = yaml.dump(
        crd(kind), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100
    )
    return header + body


def file_name(kind: type[Resource]) -> str:
    return f"{FILE_PREFIX}{kind.crd.plural}.yaml"


def render_all() -> dict[str, str]:
    """File name -> content of every CRD, in a stable order."""
    return {file_name(kind): render(kind) for kind in KINDS}


def stale(output_dir: Path) -> list[str]:
    """CRD files in output_dir that are missing, differ from generation, or are left over."""
    wanted = render_all()
    problems = [
        name
        for name, text in wanted.items()
        if not (output_dir / name).is_file() or (output_dir / name).read_text() != text
    ]
    problems += sorted(
        path.name for path in output_dir.glob(f"{FILE_PREFIX}*.yaml") if path.name not in wanted
    )
    return problems


def write(output_dir: Path) -> list[Path]:
    """Write every CRD, remove left-over ones; return the files that changed."""
    output_dir.mkdir(parents=True, exist_ok=True)
    wanted = render_all()
    changed: list[Path] = []
    for name, text in wanted.items():
        path = output_dir / name
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    for path in sorted(output_dir.glob(f"{FILE_PREFIX}*.yaml")):
        if path.name not in wanted:
            path.unlink()
            changed.append(path)
    return changed
