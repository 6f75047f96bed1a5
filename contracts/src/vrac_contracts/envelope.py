"""CloudEvents 1.0 on Kafka, binary content mode.

The event data is the JSON message value; the CloudEvents attributes travel as ``ce_*``
headers, with ``content-type: application/json``; the message key is the case id, so every
event of one case lands on the same partition number.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from .catalogue import by_type, spec_for
from .errors import ContractError, field_of, problem_of
from .events.base import EventData

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
REQUIRED_HEADERS: Final = ("ce_id", "ce_source", "ce_specversion", "ce_type")

DataT = TypeVar("DataT", bound=EventData)

Headers = Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]


class Envelope(BaseModel, Generic[DataT]):
    """One CloudEvent: its attributes and its typed data."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="CloudEvents id; minted once, kept on every re-publish.")
    source: str = Field(description="CloudEvents source, `/vrac/<service>`.")
    type: str = Field(description="CloudEvents type, `org.vrac.<service>.<event>.v<major>`.")
    specversion: str = Field(default=SPECVERSION, description="Always `1.0`.")
    time: AwareDatetime = Field(description="When the event occurred.")
    subject: str = Field(description="The case id the event is about.")
    data: DataT = Field(description="The event data.")

    @property
    def key(self) -> str:
        """The Kafka message key: the case id."""
        return str(getattr(self.data, spec_for(type(self.data)).key_field))

    @property
    def topic(self) -> str:
        return spec_for(type(self.data)).topic


@functools.cache
def envelope_of(model: type[EventData]) -> Any:
    """``Envelope[model]``, made once per event model: parametrising a generic model is
    not free, and every record decoded or event recorded needs it."""
    return Envelope[model]  # type: ignore[valid-type]


@dataclass(frozen=True)
class KafkaRecord:
    """What goes to Kafka: any client can send it as is."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    def headers_dict(self) -> dict[str, str]:
        """Headers as text, the shape FastStream's ``publish(headers=...)`` takes."""
        return {k: v.decode() for k, v in self.headers}


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, the way every ``ce_time`` is written."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def new_envelope(
    data: DataT, *, id: str | None = None, time: datetime | None = None
) -> Envelope[DataT]:
    """Wrap event data in a new envelope.

    ``id`` defaults to a fresh UUID4: mint it once, when the event is recorded (in the
    outbox), and pass it back in on a re-publish so consumers see the same ``ce_id``.
    ``time`` defaults to the data's ``occurred_at``.
    """
    spec = spec_for(type(data))
    # parametrised by the concrete class so handlers can annotate Envelope[CaseOpened]
    result: Envelope[DataT] = envelope_of(type(data))(
        id=id or str(uuid.uuid4()),
        source=spec.source,
        type=spec.ce_type,
        time=time or data.occurred_at,
        subject=str(getattr(data, spec.key_field)),
        data=data,
    )
    return result


def encode(envelope: Envelope[Any]) -> KafkaRecord:
    """The Kafka record for ``envelope``, in CloudEvents binary content mode."""
    spec = spec_for(type(envelope.data))
    if envelope.type != spec.ce_type:
        raise ContractError("ce_type", f"does not match the data model ({spec.ce_type})")
    key = str(getattr(envelope.data, spec.key_field))
    headers = [
        ("ce_id", envelope.id),
        ("ce_source", envelope.source),
        ("ce_specversion", envelope.specversion),
        ("ce_type", envelope.type),
        ("ce_time", format_time(envelope.time)),
        ("ce_subject", envelope.subject),
        ("content-type", CONTENT_TYPE),
    ]
    return KafkaRecord(
        topic=spec.topic,
        key=key.encode(),
        value=envelope.data.model_dump_json().encode(),
        headers=[(name, value.encode()) for name, value in headers],
    )


def _header_map(headers: Headers | None) -> dict[str, str]:
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    try:
        for name, raw in items:
            if raw is None:
                continue
            # header names are case-insensitive in the binding; the last duplicate wins
            lowered = name.lower() if isinstance(name, str) else bytes(name).decode().lower()
            try:
                text = raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)
            except UnicodeDecodeError:
                raise ContractError(lowered, "header value is not UTF-8") from None
            result[lowered] = text
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ContractError):
            raise
        raise ContractError("headers", "not a list of (name, value) pairs or a mapping") from None
    return result


def _validation_error(exc: ValidationError) -> ContractError:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0]
    where = ".".join(["data", field_of(first["loc"])]) if first["loc"] else "data"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if first["type"] == "json_invalid":
        return ContractError("data", "not valid JSON")
    return ContractError(where, f"{first['type']}: {problem_of(first)}{more}")


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ContractError("ce_time", "not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise ContractError("ce_time", "has no UTC offset")
    return moment


def decode(headers: Headers | None, value: bytes | str | None) -> Envelope[Any]:
    """The typed envelope of a Kafka message in CloudEvents binary content mode.

    ``headers`` is a list of ``(name, value)`` pairs or a mapping; values may be bytes or
    text. Every problem raises ContractError naming the header or data field.
    """
    attrs = _header_map(headers)
    for name in REQUIRED_HEADERS:
        if not attrs.get(name):
            raise ContractError(name, "missing")
    if attrs["ce_specversion"] != SPECVERSION:
        raise ContractError("ce_specversion", f"must be {SPECVERSION}")
    spec = by_type(attrs["ce_type"])
    content_type = attrs.get("content-type", CONTENT_TYPE).split(";")[0].strip().lower()
    if content_type != CONTENT_TYPE and not content_type.endswith("+json"):
        raise ContractError("content-type", f"must be {CONTENT_TYPE}")
    if value is None or len(value) == 0:
        raise ContractError("data", "empty message value")

    try:
        # strict: accept exactly what the JSON Schema accepts ("1" is not a number)
        data = spec.model.model_validate_json(value, strict=True)
    except ValidationError as exc:
        raise _validation_error(exc) from None

    case_id = str(getattr(data, spec.key_field))
    subject = attrs.get("ce_subject") or case_id
    if subject != case_id:
        raise ContractError("ce_subject", f"does not match data.{spec.key_field}")
    time = _parse_time(attrs["ce_time"]) if attrs.get("ce_time") else data.occurred_at  # type: ignore[attr-defined]

    decoded: Envelope[Any] = envelope_of(spec.model)(
        id=attrs["ce_id"],
        source=attrs["ce_source"],
        type=spec.ce_type,
        specversion=SPECVERSION,
        time=time,
        subject=subject,
        data=data,
    )
    return decoded


def decode_record(record: Any) -> Envelope[Any]:
    """Decode anything shaped like a consumer record (``.headers`` and ``.value``),
    such as aiokafka's ``ConsumerRecord``."""
    return decode(record.headers, record.value)


def to_json(envelope: Envelope[Any]) -> str:
    """The envelope in CloudEvents structured JSON form, for logs of non-personal events
    and for tooling; the wire format stays binary mode."""
    body = {
        "specversion": envelope.specversion,
        "id": envelope.id,
        "source": envelope.source,
        "type": envelope.type,
        "time": format_time(envelope.time),
        "subject": envelope.subject,
        "datacontenttype": CONTENT_TYPE,
        "data": envelope.data.model_dump(mode="json"),
    }
    return json.dumps(body, ensure_ascii=False)
