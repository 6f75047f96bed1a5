"""The partner example validates our messages using only the committed files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from vrac_contracts import CATALOGUE, encode, new_envelope
from vrac_contracts.catalogue import Audience


def _load(contracts_dir: Path) -> ModuleType:
    path = contracts_dir / "examples" / "subscribe.py"
    spec = importlib.util.spec_from_file_location("vrac_example_subscribe", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example(contracts_dir: Path) -> ModuleType:
    return _load(contracts_dir)


def test_example_subscribes_to_every_public_topic_only(example: ModuleType) -> None:
    assert set(example.public_topics()) == {
        s.topic for s in CATALOGUE if s.audience is Audience.PUBLIC
    }


def test_example_accepts_every_event_we_publish(example: ModuleType) -> None:
    validators = example.load_validators()
    for spec in CATALOGUE:
        record = encode(new_envelope(spec.model.model_validate(spec.example)))
        ce_type, case_id, data = example.check_message(
            validators, record.headers, record.key, record.value
        )
        assert ce_type == spec.ce_type
        assert case_id == spec.example["case_id"]
        assert data["pilot"] == spec.example["pilot"]


def test_example_rejects_what_is_not_a_valid_event(example: ModuleType) -> None:
    validators = example.load_validators()
    spec = CATALOGUE[0]
    record = encode(new_envelope(spec.model.model_validate(spec.example)))
    bad_data = json.dumps(json.loads(record.value) | {"pilot": "atlantis"}).encode()
    no_type = [h for h in record.headers if h[0] != "ce_type"]

    for headers, key, value, complaint in [
        (record.headers, record.key, bad_data, "data/pilot"),
        (no_type, record.key, record.value, "ce_type"),
        (record.headers, b"case_someoneelse01", record.value, "key"),
        (record.headers, record.key, b"nope", "data"),
    ]:
        with pytest.raises(example.InvalidMessage) as caught:
            example.check_message(validators, headers, key, value)
        assert str(caught.value).startswith(complaint)
