"""The compatibility checker, on synthetic schemas and on the real released ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from vrac_contracts import CATALOGUE
from vrac_contracts.compat import check_compatibility, check_folders, main

BASE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"Pilot": {"type": "string", "enum": ["leiden", "lille", "norwich"]}},
    "properties": {
        "case_id": {"type": "string", "pattern": "^case_[0-9a-z]{8,40}$", "maxLength": 45},
        "pilot": {"$ref": "#/$defs/Pilot"},
        "count": {"type": "integer", "minimum": 0, "maximum": 100},
        "ratio": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5},
        "note": {"type": "string", "maxLength": 50, "pattern": "^[a-z ]*$"},
    },
    "required": ["case_id", "pilot"],
}


def changed(edit: Any) -> dict[str, Any]:
    schema = copy.deepcopy(BASE)
    edit(schema)
    return schema


def kinds(new: dict[str, Any]) -> set[str]:
    return {change.kind for change in check_compatibility(BASE, new)}


def test_identical_schema_is_compatible() -> None:
    assert check_compatibility(BASE, copy.deepcopy(BASE)) == []


def test_added_optional_field_and_widenings_are_compatible() -> None:
    def widen(s: dict[str, Any]) -> None:
        s["properties"]["respondent"] = {"type": "string", "enum": ["child"]}
        s["$defs"]["Pilot"]["enum"].append("wattrelos")
        s["properties"]["count"]["maximum"] = 1000
        s["properties"]["note"]["maxLength"] = 80
        s["properties"]["tags"]["maxItems"] = 10
        s["properties"]["count"] = {"anyOf": [s["properties"]["count"], {"type": "null"}]}

    assert check_compatibility(BASE, changed(widen)) == []


@pytest.mark.parametrize(
    ("edit", "kind"),
    [
        (lambda s: s["properties"].pop("note"), "removed property"),
        (
            lambda s: s["properties"].__setitem__("remark", s["properties"].pop("note")),
            "removed property",
        ),
        (lambda s: s["required"].append("count"), "newly required property"),
        (
            lambda s: (
                s["properties"].__setitem__("extra", {"type": "string"})
                or s["required"].append("extra")
            ),
            "newly required property",
        ),
        (lambda s: s["properties"]["count"].__setitem__("type", "string"), "narrowed type"),
        (
            lambda s: s["properties"].__setitem__("ratio", {"type": "number"}),
            "narrowed type",
        ),
        (lambda s: s["$defs"]["Pilot"]["enum"].remove("lille"), "narrowed enum"),
        (
            lambda s: s["properties"]["tags"]["items"].__setitem__("enum", ["a"]),
            "narrowed enum",
        ),
        (lambda s: s["properties"]["note"].__setitem__("maxLength", 20), "tightened maxLength"),
        (lambda s: s["properties"]["note"].__setitem__("pattern", "^[a-z]*$"), "tightened pattern"),
        (
            lambda s: s["properties"]["tags"]["items"].__setitem__("maxLength", 10),
            "tightened maxLength",
        ),
        (lambda s: s["properties"]["count"].__setitem__("minimum", 1), "tightened minimum"),
        (lambda s: s["properties"]["tags"].__setitem__("maxItems", 3), "tightened maxItems"),
        (lambda s: s.__setitem__("additionalProperties", False), "narrowed type"),
    ],
    ids=[
        "removed",
        "renamed",
        "optional-now-required",
        "new-required",
        "type-changed",
        "null-dropped",
        "enum-value-removed",
        "enum-added",
        "maxlength",
        "pattern",
        "nested-maxlength",
        "minimum",
        "maxitems",
        "closed-object",
    ],
)
def test_each_kind_of_break_is_detected(edit: Any, kind: str) -> None:
    assert kind in kinds(changed(edit))


def test_breaking_change_names_the_path() -> None:
    new = changed(lambda s: s["$defs"]["Pilot"]["enum"].remove("norwich"))
    (change,) = check_compatibility(BASE, new)
    assert change.path == "/pilot"
    assert "norwich" in str(change)


def test_current_schemas_are_compatible_with_the_released_ones(contracts_dir: Path) -> None:
    released = contracts_dir / "released" / "v1"
    assert sorted(p.name for p in released.glob("*.json")), "no released schemas"
    assert check_folders(released, contracts_dir / "schemas") == {}
    assert main([str(contracts_dir)]) == 0


def test_every_v1_event_has_a_released_schema(contracts_dir: Path) -> None:
    released = {p.name for p in (contracts_dir / "released" / "v1").glob("*.json")}
    assert {f"{s.ce_type}.json" for s in CATALOGUE if s.major == 1} <= released


def test_a_vanished_event_and_a_real_break_fail_the_folder_check(
    tmp_path: Path, contracts_dir: Path
) -> None:
    released, current = tmp_path / "released", tmp_path / "schemas"
    released.mkdir()
    current.mkdir()
    name = "org.vrac.intake.case-closed.v1.json"
    schema = json.loads((contracts_dir / "released" / "v1" / name).read_text(encoding="utf-8"))
    (released / name).write_text(json.dumps(schema))
    (released / "org.vrac.intake.case-lost.v1.json").write_text(json.dumps(schema))
    schema["$defs"]["CloseReason"]["enum"].remove("moved-away")
    (current / name).write_text(json.dumps(schema))

    report = check_folders(released, current)
    assert [c.kind for c in report[name]] == ["narrowed enum"]
    assert [c.kind for c in report["org.vrac.intake.case-lost.v1.json"]] == ["removed event"]
