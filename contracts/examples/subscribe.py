"""Subscribe to VRAC public topics with a plain Kafka client and validate every message.

Needs only aiokafka and jsonschema (``pip install aiokafka jsonschema``) and the
``catalogue.json`` and ``schemas/`` folder of the contracts package next to this folder.

    KAFKA_BOOTSTRAP_SERVERS=localhost:9092 python examples/subscribe.py
    python examples/subscribe.py --topic vrac.public.network.task-assigned.v1 --max 10

For a secured cluster also set KAFKA_SECURITY_PROTOCOL (e.g. SASL_SSL),
KAFKA_SASL_MECHANISM (e.g. SCRAM-SHA-512), KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
from aiokafka import AIOKafkaConsumer

CONTRACTS = Path(__file__).resolve().parent.parent


class InvalidMessage(Exception):
    """A message that is not a valid VRAC event; says which header or field and why."""


def load_validators(root: Path = CONTRACTS) -> dict[str, jsonschema.protocols.Validator]:
    """One JSON Schema validator per CloudEvents type, from catalogue.json."""
    catalogue = json.loads((root / "catalogue.json").read_text(encoding="utf-8"))
    validators = {}
    for event in catalogue["events"]:
        schema = json.loads((root / event["schema"]).read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        validators[event["type"]] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validators


def public_topics(root: Path = CONTRACTS) -> list[str]:
    catalogue = json.loads((root / "catalogue.json").read_text(encoding="utf-8"))
    prefix = catalogue["publicTopicPrefix"]
    return [e["topic"] for e in catalogue["events"] if e["topic"].startswith(prefix)]


def check_message(
    validators: dict[str, Any],
    headers: Iterable[tuple[str, bytes]],
    key: bytes | None,
    value: bytes | None,
) -> tuple[str, str, dict[str, Any]]:
    """(type, case id, data) of a valid message; InvalidMessage otherwise."""
    attrs = {name.lower(): raw.decode("utf-8", "replace") for name, raw in headers}
    if attrs.get("ce_specversion") != "1.0":
        raise InvalidMessage("ce_specversion: missing or not 1.0")
    for name in ("ce_id", "ce_source", "ce_type"):
        if not attrs.get(name):
            raise InvalidMessage(f"{name}: missing")
    validator = validators.get(attrs["ce_type"])
    if validator is None:
        # a type added after your copy of the contracts: update them, or skip it
        raise InvalidMessage("ce_type: unknown to this copy of the contracts")
    try:
        data = json.loads(value or b"")
    except ValueError:
        raise InvalidMessage("data: not valid JSON") from None
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidMessage(f"data/{where}: fails {error.validator}")
    case_id = key.decode() if key else ""
    if case_id != data.get("case_id"):
        raise InvalidMessage("key: is not the case id")
    return attrs["ce_type"], case_id, data


def _security() -> dict[str, Any]:
    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        options["ssl_context"] = ssl.create_default_context()
    if protocol.startswith("SASL"):
        options["sasl_mechanism"] = os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        options["sasl_plain_username"] = os.environ["KAFKA_SASL_USERNAME"]
        options["sasl_plain_password"] = os.environ["KAFKA_SASL_PASSWORD"]
    return options


async def subscribe(topics: list[str], group: str, max_messages: int | None) -> int:
    validators = load_validators()
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **_security(),
    )
    seen = 0
    await consumer.start()
    try:
        async for record in consumer:
            try:
                ce_type, case_id, data = check_message(
                    validators, record.headers, record.key, record.value
                )
                print(f"{ce_type} {case_id} {json.dumps(data, ensure_ascii=False)}", flush=True)
            except InvalidMessage as problem:
                print(f"skipped {record.topic}@{record.partition}:{record.offset}: {problem}")
            # commit after handling: a crash re-reads rather than loses a message
            await consumer.commit()
            seen += 1
            if max_messages is not None and seen >= max_messages:
                break
    finally:
        await consumer.stop()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topic", action="append", help="topic to read (default: all public)")
    parser.add_argument("--group", default=os.environ.get("KAFKA_GROUP_ID", "partner-example"))
    parser.add_argument("--max", type=int, default=None, help="stop after this many messages")
    args = parser.parse_args()
    asyncio.run(subscribe(args.topic or public_topics(), args.group, args.max))


if __name__ == "__main__":
    main()
