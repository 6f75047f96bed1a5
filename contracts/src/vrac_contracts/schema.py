"""JSON Schema (2020-12) of each event's data, built from the pydantic models."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, Final

from .catalogue import EventSpec

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def schema_id(spec: EventSpec) -> str:
    # a URN: stable and resolvable offline, and no promise of a web address
    return f"urn:vrac:schema:{spec.ce_type}"


def event_schema(spec: EventSpec) -> dict[str, Any]:
    """The JSON Schema of ``spec``'s data, as committed under ``schemas/``.

    Validation mode: the schema says what a consumer accepts. Additional properties are
    allowed on purpose (see ``EventData``): optional fields may be added within v1.
    """
    body = spec.model.model_json_schema(mode="validation")
    head: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": schema_id(spec),
        "title": body.pop("title", spec.model.__name__),
        "description": body.pop("description", spec.description),
        "x-vrac-type": spec.ce_type,
        "x-vrac-topic": spec.topic,
        "x-vrac-audience": str(spec.audience),
    }
    return {**head, **body, "examples": [spec.example]}


def schema_nodes(
    schema: Any, skip: Collection[str] = ("examples",)
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in ``schema`` with its path (``#/properties/x``), parents first.

    Keys in ``skip`` are not descended into: they hold values, not schemas.
    """

    def walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            yield path, node
            for key, child in node.items():
                if key not in skip:
                    yield from walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                yield from walk(child, f"{path}/{index}")

    return walk(schema, "#")


def personal_fields(schema: dict[str, Any]) -> list[str]:
    """Paths of every property marked ``x-personal-data`` anywhere in ``schema``."""
    return [path for path, node in schema_nodes(schema) if node.get("x-personal-data") is True]
