from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from vrac_contracts import (
    CATALOGUE,
    CaseOpened,
    ContractError,
    FamilyRegistered,
    Pilot,
    decode,
    encode,
    new_envelope,
)

OPENED = CaseOpened(
    case_id="case_7Hq2mX9aK3pL0sVd",
    pilot=Pilot.MECHELEN,
    occurred_at=datetime(2025, 3, 14, 10, 30, tzinfo=timezone(timedelta(hours=1))),
    programme="pit",
    opened_at=datetime(2025, 3, 14, 9, 0, tzinfo=UTC),
)


def _headers(record_headers: list[tuple[str, bytes]]) -> dict[str, bytes]:
    return dict(record_headers)


def test_encode_writes_binary_mode_headers_key_and_json_value() -> None:
    envelope = new_envelope(OPENED)
    record = encode(envelope)

    assert record.topic == "vrac.public.intake.case-opened.v1"
    assert record.key == b"case_7Hq2mX9aK3pL0sVd"
    headers = _headers(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"org.vrac.intake.case-opened.v1"
    assert headers["ce_source"] == b"/vrac/intake"
    assert headers["ce_subject"] == b"case_7Hq2mX9aK3pL0sVd"
    assert headers["content-type"] == b"application/json"
    assert headers["ce_time"] == b"2025-03-14T09:30:00Z"  # occurred_at, in UTC
    assert uuid.UUID(headers["ce_id"].decode()).version == 4
    assert json.loads(record.value)["programme"] == "pit"


def test_ce_id_is_minted_once_and_kept_when_given() -> None:
    first = new_envelope(OPENED)
    assert new_envelope(OPENED).id != first.id
    again = new_envelope(OPENED, id=first.id)
    assert encode(again) == encode(first)


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.ce_type)
def test_every_event_round_trips(spec) -> None:  # type: ignore[no-untyped-def]
    data = spec.model.model_validate(spec.example)
    envelope = new_envelope(data)
    record = encode(envelope)
    back = decode(record.headers, record.value)
    assert back == envelope
    assert type(back.data) is spec.model
    assert back.topic == spec.topic == record.topic


def test_decode_accepts_a_mapping_of_text_headers_and_any_case() -> None:
    record = encode(new_envelope(OPENED))
    text = {name.upper(): value.decode() for name, value in record.headers}
    assert decode(text, record.value).data == OPENED


def test_decode_ignores_unknown_fields_and_headers_for_forward_compatibility() -> None:
    record = encode(new_envelope(OPENED))
    value = json.loads(record.value) | {"added_in_v1_3": "something new"}
    headers = [*record.headers, ("ce_traceparent", b"00-abc"), ("correlation_id", b"x")]
    assert decode(headers, json.dumps(value).encode()).data == OPENED


def _broken(**changes: bytes | None) -> list[tuple[str, bytes]]:
    headers = _headers(encode(new_envelope(OPENED)).headers)
    for name, value in changes.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    return list(headers.items())


VALUE = encode(new_envelope(OPENED)).value


@pytest.mark.parametrize(
    ("headers", "value", "attribute"),
    [
        (_broken(ce_type=None), VALUE, "ce_type"),
        (_broken(ce_type=b"org.vrac.intake.case-eaten.v1"), VALUE, "ce_type"),
        (_broken(ce_specversion=b"0.3"), VALUE, "ce_specversion"),
        (_broken(ce_specversion=None), VALUE, "ce_specversion"),
        (_broken(ce_id=None), VALUE, "ce_id"),
        (_broken(ce_id=b""), VALUE, "ce_id"),
        (_broken(ce_source=None), VALUE, "ce_source"),
        (_broken(ce_time=b"yesterday"), VALUE, "ce_time"),
        (_broken(ce_subject=b"case_someoneelse01"), VALUE, "ce_subject"),
        (_broken(**{"content-type": b"text/plain"}), VALUE, "content-type"),
        (_broken(ce_id=b"\xff\xfe"), VALUE, "ce_id"),
        (_broken(), b"{not json", "data"),
        (_broken(), b"", "data"),
        (_broken(), None, "data"),
        (_broken(), b"[1, 2]", "data"),
    ],
)
def test_bad_input_raises_one_typed_error_naming_the_attribute(
    headers: list[tuple[str, bytes]], value: bytes | None, attribute: str
) -> None:
    with pytest.raises(ContractError) as caught:
        decode(headers, value)
    assert caught.value.attribute == attribute
    assert str(caught.value).startswith(f"{attribute}: ")
    assert "\n" not in str(caught.value)


def test_data_failing_the_model_names_the_field_without_its_value() -> None:
    spec = next(s for s in CATALOGUE if s.model is FamilyRegistered)
    record = encode(new_envelope(FamilyRegistered.model_validate(spec.example)))
    data = json.loads(record.value)
    data["guardians"][0]["email"] = "fatima-at-home"
    with pytest.raises(ContractError) as caught:
        decode(record.headers, json.dumps(data).encode())
    assert caught.value.attribute == "data.guardians.0.email"
    assert "fatima" not in str(caught.value)
    assert "\n" not in str(caught.value)

    del data["pilot"]
    with pytest.raises(ContractError) as caught:
        decode(record.headers, json.dumps(data).encode())
    assert caught.value.attribute in {"data.pilot", "data.guardians.0.email"}
    assert "more" in caught.value.reason  # two problems, one line


def test_wrong_enum_value_names_the_field() -> None:
    record = encode(new_envelope(OPENED))
    data = json.loads(record.value) | {"pilot": "atlantis"}
    with pytest.raises(ContractError) as caught:
        decode(record.headers, json.dumps(data).encode())
    assert caught.value.attribute == "data.pilot"
    assert "atlantis" not in str(caught.value)


def test_a_malformed_time_is_described_in_the_schema_words_not_the_parsers() -> None:
    # the parser's own words describe the input ("invalid character in day", or the
    # character itself for some types); the error keeps to what the field expects
    record = encode(new_envelope(OPENED))
    data = json.loads(record.value) | {"opened_at": "2025-03-1X 09:00:00Z"}
    with pytest.raises(ContractError) as caught:
        decode(record.headers, json.dumps(data).encode())
    assert caught.value.attribute == "data.opened_at"
    assert caught.value.reason == "datetime_parsing: Input should be a valid datetime"


def test_decode_without_time_and_subject_falls_back_to_the_data() -> None:
    headers = _broken(ce_time=None, ce_subject=None)
    envelope = decode(headers, VALUE)
    assert envelope.time == OPENED.occurred_at
    assert envelope.subject == OPENED.case_id


def test_new_envelope_refuses_data_that_is_not_an_event() -> None:
    with pytest.raises(ContractError) as caught:
        new_envelope(object())  # type: ignore[type-var]
    assert caught.value.attribute == "model"


def test_decoding_is_as_strict_as_the_json_schema() -> None:
    spec = next(s for s in CATALOGUE if s.event == "consent-changed")
    record = encode(new_envelope(spec.model.model_validate(spec.example)))
    data = json.loads(record.value) | {"granted": "yes"}
    with pytest.raises(ContractError) as caught:
        decode(record.headers, json.dumps(data).encode())
    assert caught.value.attribute == "data.granted"
