"""The contract rules, as functions that list violations (empty list = fine).

The contract tests run them over the catalogue; services may run them over their own
candidate models before proposing a new event.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import BaseModel

from .catalogue import SERVICES, TOPIC_PATTERN, TYPE_PATTERN, Audience, EventSpec
from .fields import is_personal
from .schema import schema_nodes

EVENT_NAME: Final = re.compile(r"^[a-z]+(-[a-z]+)*$")
# irregular past participles and states reached that may end an event name ("due-soon": the
# state a task reaches some days before its due date, like "overdue" after it)
# fmt: off
PAST_PARTICIPLES: Final = frozenset(
    {
        "begun", "built", "chosen", "done", "drawn", "given", "held", "kept", "known", "left",
        "lost", "made", "met", "overdue", "paid", "read", "run", "seen", "sent", "set",
        "shown", "sold", "soon", "spent", "taken", "told", "won", "written",
    }
)
# fmt: on
BOUNDED_FORMATS: Final = frozenset({"date-time", "date", "time", "uuid", "duration"})


def naming_violations(spec: EventSpec) -> list[str]:
    problems = []
    if spec.service not in SERVICES:
        problems.append(f"service {spec.service!r} is not one of {SERVICES}")
    if not EVENT_NAME.match(spec.event):
        problems.append(f"event {spec.event!r} is not kebab-case letters")
    last = spec.event.rsplit("-", 1)[-1]
    if not (last.endswith("ed") or last in PAST_PARTICIPLES):
        problems.append(f"event {spec.event!r} is not in the past tense")
    if spec.major < 1:
        problems.append("major version must be 1 or more")
    if not TOPIC_PATTERN.match(spec.topic):
        problems.append(f"topic {spec.topic!r} breaks the naming rule")
    if not TYPE_PATTERN.match(spec.ce_type):
        problems.append(f"type {spec.ce_type!r} breaks the naming rule")
    for name in (spec.topic, spec.ce_type):
        if re.search(r"[^a-z0-9.-]", name):
            problems.append(f"{name!r} uses a separator other than '.' and '-'")
    if spec.key_field not in spec.model.model_fields:
        problems.append(f"key field {spec.key_field!r} is not a field of the model")
    return problems


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every model nested in its fields."""
    found: list[type[BaseModel]] = []

    def visit(candidate: Any) -> None:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if candidate in found:
                return
            found.append(candidate)
            for field in candidate.model_fields.values():
                visit(field.annotation)
        for argument in getattr(candidate, "__args__", ()):
            visit(argument)

    visit(model)
    return found


def undescribed_fields(model: type[BaseModel]) -> list[str]:
    return [
        f"{m.__name__}.{name}"
        for m in _models(model)
        for name, field in m.model_fields.items()
        if not (field.description and field.description.strip())
    ]


def personal_fields(model: type[BaseModel]) -> list[str]:
    return [
        f"{m.__name__}.{name}"
        for m in _models(model)
        for name, field in m.model_fields.items()
        if is_personal(field)
    ]


def unbounded_strings(schema: dict[str, Any]) -> list[str]:
    """Paths of string schemas that could carry free text.

    A string is bounded when it has an ``enum`` or ``const``, a known ``format`` such as
    ``date-time``, or both a ``pattern`` and a ``maxLength``.
    """

    def bounded(node: dict[str, Any]) -> bool:
        if "enum" in node or "const" in node:
            return True
        if node.get("format") in BOUNDED_FORMATS:
            return True
        return "pattern" in node and "maxLength" in node

    def is_string(node: dict[str, Any]) -> bool:
        types = node.get("type")
        return types == "string" or (isinstance(types, list) and "string" in types)

    values = ("examples", "default", "const", "enum")
    return [
        path
        for path, node in schema_nodes(schema, skip=values)
        if is_string(node) and not bounded(node)
    ]


def public_violations(spec: EventSpec, schema: dict[str, Any]) -> list[str]:
    """Personal data or free text on a public event."""
    if spec.audience is not Audience.PUBLIC:
        return []
    problems = [f"personal data on a public event: {f}" for f in personal_fields(spec.model)]
    problems += [f"unbounded string on a public event: {p}" for p in unbounded_strings(schema)]
    return problems
