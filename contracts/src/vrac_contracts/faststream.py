"""FastStream tie-in: subscribers receive typed envelopes, publishers send CloudEvents.

Needs the ``faststream`` extra (``vrac-contracts[faststream]``)::

    @broker.subscriber(spec.topic, group_id=spec.group_for("screening"),
                       decoder=envelope_decoder)
    async def on_case_opened(envelope: Envelope[CaseOpened]) -> None: ...

    await publish_envelope(broker, new_envelope(event))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from pydantic import BaseModel

from .catalogue import spec_for
from .envelope import Envelope, KafkaRecord, decode, encode
from .errors import ContractError


def envelope_decoder(msg: StreamMessage[Any]) -> Envelope[Any]:
    """FastStream ``decoder=``: the message as a typed Envelope, or ContractError.

    Reads the raw Kafka record's headers where there is one, so header bytes are checked
    by the codec rather than by FastStream's own parsing.
    """
    raw = msg.raw_message
    headers = getattr(raw, "headers", None)
    if headers is None:
        headers = msg.headers
    return decode(headers, msg.body)


def expecting(*models: type[BaseModel]) -> Callable[[StreamMessage[Any]], Envelope[Any]]:
    """A decoder that also refuses events of any other type than ``models``.

    Useful on a subscriber whose topic is shared or given by pattern: a message of the wrong
    type fails with ContractError (attribute ``ce_type``) and can be dead-lettered.
    """
    wanted = {spec_for(model).ce_type for model in models}

    def decoder(msg: StreamMessage[Any]) -> Envelope[Any]:
        envelope = envelope_decoder(msg)
        if envelope.type not in wanted:
            raise ContractError("ce_type", "not an event type this subscriber takes")
        return envelope

    return decoder


async def publish_record(broker: KafkaBroker, record: KafkaRecord, **kwargs: Any) -> Any:
    """Send an encoded record as is: its topic, key, value and CloudEvents headers."""
    return await broker.publish(
        record.value,
        record.topic,
        key=record.key,
        headers=record.headers_dict(),
        **kwargs,
    )


async def publish_envelope(broker: KafkaBroker, envelope: Envelope[Any], **kwargs: Any) -> Any:
    """Encode ``envelope`` and publish it on its topic, keyed by the case id.

    Extra keyword arguments (``partition``, ``no_confirm``...) go to ``broker.publish``.
    """
    return await publish_record(broker, encode(envelope), **kwargs)
