"""The committed artefacts are what the catalogue generates, and they hang together."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from vrac_contracts import CATALOGUE
from vrac_contracts.catalogue import Audience
from vrac_contracts.generate import artefacts, drifted, main


def test_committed_artefacts_match_the_catalogue(contracts_dir: Path) -> None:
    stale = [str(p.relative_to(contracts_dir)) for p in drifted(contracts_dir)]
    assert stale == [], "regenerate with: uv run python -m vrac_contracts.generate"


def test_check_mode_names_the_drifted_file(tmp_path: Path, contracts_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        (contracts_dir / "README.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--root", str(tmp_path), "--check"]) == 0

    schema = tmp_path / "schemas" / "org.vrac.intake.case-opened.v1.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace("pilot", "pilote"))
    (tmp_path / "schemas" / "org.vrac.intake.case-reopened.v1.json").write_text("{}")
    capsys.readouterr()
    assert main(["--root", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert "schemas/org.vrac.intake.case-opened.v1.json" in err
    assert "schemas/org.vrac.intake.case-reopened.v1.json" in err


def test_one_schema_file_per_event(contracts_dir: Path) -> None:
    files = sorted(p.name for p in (contracts_dir / "schemas").glob("*.json"))
    assert files == sorted(f"{s.ce_type}.json" for s in CATALOGUE)
    for spec in CATALOGUE:
        schema = json.loads((contracts_dir / spec.schema_file).read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(spec.ce_type)
        jsonschema.Draft202012Validator.check_schema(schema)


def test_asyncapi_lists_every_topic_with_its_sender_and_receivers(contracts_dir: Path) -> None:
    doc = yaml.safe_load((contracts_dir / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == {s.topic for s in CATALOGUE}

    def resolve(ref: str) -> object:
        node: object = doc
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(node, dict)
            node = node[part]
        return node

    senders: dict[str, set[str]] = {}
    receivers: dict[str, set[str]] = {}
    for operation in doc["operations"].values():
        channel = resolve(operation["channel"]["$ref"])
        assert isinstance(channel, dict)
        for message in operation["messages"]:
            resolve(message["$ref"])
        side = senders if operation["action"] == "send" else receivers
        side.setdefault(channel["address"], set()).add(operation["tags"][0]["name"])

    for spec in CATALOGUE:
        # a superseded event is no longer sent, so it has no operations at all
        assert senders.get(spec.topic, set()) == (set() if spec.superseded_by else {spec.service})
        assert receivers.get(spec.topic, set()) == set(spec.consumers)
        message = resolve(f"#/components/messages/{spec.ce_type}")
        assert isinstance(message, dict)
        assert (contracts_dir / message["payload"]["schema"]["$ref"]).exists()
        assert message["headers"]["properties"]["ce_type"]["const"] == spec.ce_type


def test_catalogue_json_matches_the_python_catalogue(contracts_dir: Path) -> None:
    data = json.loads((contracts_dir / "catalogue.json").read_text(encoding="utf-8"))
    assert [e["type"] for e in data["events"]] == [s.ce_type for s in CATALOGUE]
    for entry, spec in zip(data["events"], CATALOGUE, strict=True):
        assert entry["topic"] == spec.topic
        assert entry["audience"] == spec.audience
        assert entry["key"] == "case_id"
        assert entry["producer"] == spec.service
        assert [c["service"] for c in entry["consumers"]] == list(spec.consumers)
        assert (contracts_dir / entry["schema"]).exists()


def test_readme_lists_every_public_topic_and_no_internal_one(contracts_dir: Path) -> None:
    readme = (contracts_dir / "README.md").read_text(encoding="utf-8")
    public_section = readme.split("<!-- BEGIN GENERATED: public-topics -->")[1].split(
        "<!-- END GENERATED: public-topics -->"
    )[0]
    for spec in CATALOGUE:
        assert (spec.topic in public_section) == (spec.audience is Audience.PUBLIC)


def test_generation_is_deterministic(contracts_dir: Path) -> None:
    assert artefacts(contracts_dir) == artefacts(contracts_dir)


def test_asyncapi_uses_no_yaml_anchors(contracts_dir: Path) -> None:
    text = (contracts_dir / "asyncapi.yaml").read_text(encoding="utf-8")
    assert "&id0" not in text and "*id0" not in text
