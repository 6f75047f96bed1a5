"""Bad records and bad names. A record no consumer can read (undecodable bytes, or a
well-formed envelope of the wrong shape) is dead-lettered by each group that reads it, and the
partition moves on. A name with a line separator or a carriage return is refused by the HTTP
APIs with a 422 naming the field; one already on a topic (as an older version could have
published it, sealed like every name) holds back none of the case's other messages."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import consumed_by, spec_for
from vrac_contracts.envelope import encode, new_envelope
from vrac_contracts.events import CaseOpened, MemberAddedV2, MemberDetails, TaskAssigned
from vrac_contracts.events.base import EventData
from vrac_runtime.keks import DEVELOPMENT_KEK, KeyEncryptionKeys
from vrac_runtime.sealing import DataKeys
from vrac_testing.builders import family_registration
from vrac_testing.faults import CaseStream, dead_letters, header, verify
from vrac_testing.kafka import send_raw
from vrac_testing.polling import eventually
from vrac_testing.processes import SERVICES, Platform
from vrac_testing.sinks import SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration]

BAD_NAMES = ("Oma\u2028Aziza", "Opa\rJan")


def _record(data: EventData) -> tuple[str, bytes, bytes, list[tuple[str, bytes]], str]:
    """topic, value, key, headers and ce_id of ``data`` as its producer would send it."""
    record = encode(new_envelope(data))
    ce_id = dict(record.headers)["ce_id"].decode()
    return record.topic, record.value, record.key, list(record.headers), ce_id


def _example(model: type[EventData], **values: Any) -> EventData:
    return model.model_validate({**spec_for(model).example, **values})


def _groups_reading(model: type[EventData]) -> set[str]:
    spec = spec_for(model)
    return {spec.group_for(s) for s in SERVICES if spec in consumed_by(s)}


async def test_poison_records_are_dead_lettered_and_their_partitions_move_on(
    new_stream: Callable[[str], CaseStream], platform: Platform, smtp: SmtpSink, poison: set[str]
) -> None:
    stream = new_stream("lille")
    await stream.register_webhook()
    running = asyncio.create_task(stream.run(5))
    case_id = await eventually(lambda: stream.cases and stream.cases[0].case_id, "a first case")
    now = dt.datetime.now(dt.UTC)
    # on the first case's partitions, before the rest of its events
    topic, _, key, headers, undecodable = _record(
        _example(TaskAssigned, case_id=case_id, pilot="lille", occurred_at=now)
    )
    await send_raw(platform.kafka_bootstrap, platform.prefix + topic, b"\xff\xfe{not", key, headers)
    topic, _, key, headers, wrong_shape = _record(
        _example(CaseOpened, case_id=case_id, pilot="lille", occurred_at=now)
    )
    shape = json.dumps({"case_id": case_id, "pilot": "lille", "opened": "yesterday"}).encode()
    await send_raw(platform.kafka_bootstrap, platform.prefix + topic, shape, key, headers)
    poison.update({undecodable, wrong_shape})
    await running

    await verify(stream, smtp, poison)
    letters = Counter(
        (header(r, "ce_id"), header(r, "vrac_dlq_group").removeprefix(platform.prefix))
        for r in await dead_letters(platform)
        if header(r, "ce_id") in poison
    )
    expected = Counter(
        [(undecodable, group) for group in _groups_reading(TaskAssigned)]
        + [(wrong_shape, group) for group in _groups_reading(CaseOpened)]
    )
    assert letters == expected


async def test_names_with_line_breaks_are_refused_and_one_already_sent_blocks_nothing(
    new_stream: Callable[[str], CaseStream], platform: Platform, smtp: SmtpSink
) -> None:
    stream = new_stream("wattrelos")
    await stream.register_webhook()
    for name in BAD_NAMES:
        guardian = {"name": name, "email": "x@example.org", "preferred_channel": "email"}
        body = family_registration(guardian, pilot="wattrelos")
        reply = await stream.call("POST", "intake", "/cases", stream.coach, json=body)
        assert reply.status_code == 422, (repr(name), reply.status_code, reply.text)
        assert "name" in reply.json()["detail"], reply.text

    [case] = await stream.run(1)
    members = f"/cases/{case.case_id}/members"
    for name in BAD_NAMES:
        member = {
            "kind": "informal",
            "role": "base-worker",
            "display_name": name,
            "email": "x@example.org",
            "channel": "email",
            "language": "fr",
        }
        reply = await stream.call("POST", "network", members, stream.coach, json=member)
        assert reply.status_code == 422, (repr(name), reply.status_code, reply.text)
        assert "display_name" in reply.json()["detail"], reply.text

    # Members with such names, and a task for each, already on the topics: sealed under a
    # data key of network's, as an older version of network could have published them.
    now = dt.datetime.now(dt.UTC)
    client: AsyncMongoClient[Any] = AsyncMongoClient(platform.mongodb_url)
    network_keys = DataKeys(
        client[platform.env("network")["VRAC_MONGODB_DATABASE"]],
        KeyEncryptionKeys.parse(DEVELOPMENT_KEK),
    )
    for name in BAD_NAMES:
        member_id = f"mbr_{uuid.uuid4().hex[:16]}"
        details = MemberDetails(display_name=name, email=f"{member_id}@example.org")
        added = _example(
            MemberAddedV2,
            case_id=case.case_id,
            pilot="wattrelos",
            occurred_at=now,
            member_id=member_id,
            kind="informal",
            role="base-worker",
            language="fr",
            details=await network_keys.seal(case.case_id, member_id, details),
        )
        topic, value, key, headers, _ = _record(added)
        await send_raw(platform.kafka_bootstrap, platform.prefix + topic, value, key, headers)
        assigned = _example(
            TaskAssigned,
            case_id=case.case_id,
            pilot="wattrelos",
            occurred_at=now,
            task_id=f"task_{uuid.uuid4().hex[:16]}",
            assignee_id=member_id,
            assignee_kind="informal",
            due_date=None,
        )
        topic, value, key, headers, _ = _record(assigned)
        await send_raw(platform.kafka_bootstrap, platform.prefix + topic, value, key, headers)
        case.owed += 1
        case.doubtful_recipients.add(member_id)
    await client.close()

    # The case's next message, to someone with an ordinary name, still goes out.
    aunt = f"aunt-{stream.tag}@example.org"
    member = {
        "kind": "informal",
        "role": "base-worker",
        "display_name": "Tante Lou",
        "email": aunt,
        "channel": "email",
        "language": "fr",
    }
    joined = await stream.ok("POST", "network", members, stream.coach, json=member)
    task = {"category": "homework-support", "assignee_id": joined["member_id"]}
    await stream.ok("POST", "network", f"/cases/{case.case_id}/tasks", stream.coach, json=task)
    case.owed += 1
    case.extra_emails.append(aunt)

    # one case of this pilot: below the report's suppression threshold, nothing to compare
    await verify(stream, smtp, report=False)
