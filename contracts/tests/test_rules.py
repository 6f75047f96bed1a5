"""The contract rules, applied to every catalogued event."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, Field
from vrac_contracts import CATALOGUE, personal
from vrac_contracts.catalogue import Audience, EventSpec
from vrac_contracts.events import ChildDetails, GuardianDetails, MemberDetails
from vrac_contracts.events.base import EventData
from vrac_contracts.fields import described
from vrac_contracts.rules import (
    naming_violations,
    personal_fields,
    public_violations,
    unbounded_strings,
    undescribed_fields,
)
from vrac_contracts.schema import event_schema

SPECS = pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.ce_type)


@SPECS
def test_names_follow_the_rule(spec: EventSpec) -> None:
    assert naming_violations(spec) == []


@SPECS
def test_every_field_has_a_description(spec: EventSpec) -> None:
    assert undescribed_fields(spec.model) == []


@SPECS
def test_public_events_hold_no_personal_data_or_free_text(spec: EventSpec) -> None:
    assert public_violations(spec, event_schema(spec)) == []


@SPECS
def test_example_validates_against_model_and_schema(spec: EventSpec) -> None:
    spec.model.model_validate(spec.example)
    schema = event_schema(spec)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(spec.example)
    # and what we put on the wire for it validates too
    dumped = spec.model.model_validate(spec.example).model_dump(mode="json")
    validator.validate(dumped)


def test_internal_events_with_contact_details_are_marked_personal() -> None:
    marked = {
        spec.ce_type: set(personal_fields(spec.model))
        for spec in CATALOGUE
        if spec.audience is Audience.INTERNAL
    }
    assert {"FamilyRegistered.child_first_name", "Guardian.email", "Guardian.phone"} <= marked[
        "org.vrac.intake.family-registered.v1"
    ]
    assert {"MemberAdded.display_name", "MemberAdded.email"} <= marked[
        "org.vrac.network.member-added.v1"
    ]
    assert {"ChildDetails.child_first_name", "ChildDetails.school_name"} <= set(
        personal_fields(ChildDetails)
    )
    assert {"GuardianDetails.email", "MemberDetails.relationship"} <= set(
        personal_fields(GuardianDetails)
    ) | set(personal_fields(MemberDetails))


def test_no_published_event_carries_personal_data_in_clear() -> None:
    """Personal data on internal topics travels sealed: a field marked personal appears only
    on the superseded v1 events (no longer published) and in the sealed plain models."""
    in_clear = {
        spec.ce_type: personal_fields(spec.model)
        for spec in CATALOGUE
        if not spec.superseded_by and personal_fields(spec.model)
    }
    assert in_clear == {}


def test_every_catalogued_model_is_an_event_with_the_common_fields() -> None:
    for spec in CATALOGUE:
        assert issubclass(spec.model, EventData)
        assert {"case_id", "pilot", "occurred_at"} <= set(spec.model.model_fields)


# The rules must catch what they are for: feed them a deliberately bad event.


class _Leaky(EventData):
    """A public event that leaks."""

    nickname: str = personal("The child's nickname.", max_length=40)
    note: str = described("Anything the coach wants to add.")
    mood: str | None = Field(default=None)


_LEAKY = EventSpec(
    "screening", "mood-noted", 1, Audience.PUBLIC, _Leaky, "Leaks.", {}, ("reporting",)
)


def _fake_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def test_rules_catch_personal_data_free_text_and_missing_descriptions() -> None:
    problems = public_violations(_LEAKY, _fake_schema(_Leaky))
    assert "personal data on a public event: _Leaky.nickname" in problems
    assert any(p.endswith("/properties/note") for p in problems)
    assert any("/properties/mood" in p for p in problems)
    assert undescribed_fields(_Leaky) == ["_Leaky.mood"]


def test_a_pattern_alone_does_not_bound_a_string() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string", "pattern": "^.*$"}}}
    assert unbounded_strings(schema) == ["#/properties/x"]
    schema["properties"]["x"]["maxLength"] = 10
    assert unbounded_strings(schema) == []


@pytest.mark.parametrize(
    ("service", "event", "complaint"),
    [
        ("screening", "complete-screening", "past tense"),
        ("screening", "screening_completed", "kebab-case"),
        ("billing", "invoice-sent", "not one of"),
        ("network", "Task-Assigned", "kebab-case"),
    ],
)
def test_naming_rule_catches_bad_names(service: str, event: str, complaint: str) -> None:
    spec = EventSpec(service, event, 1, Audience.PUBLIC, _Leaky, "x", {}, ())
    assert any(complaint in problem for problem in naming_violations(spec))


def test_known_past_participles_pass_the_naming_rule() -> None:
    spec = EventSpec("network", "task-overdue", 1, Audience.PUBLIC, _Leaky, "x", {}, ())
    assert naming_violations(spec) == []
