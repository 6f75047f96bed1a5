"""The consortium across clusters: MirrorMaker 2 copies a pilot's public topics into the
consortium's cluster, where the consortium's reporting counts every pilot.

Two clusters, as two shared cores bear them: the local stack's broker is Leiden's cluster; a
second broker, started here, is the consortium's cluster and also Mechelen's (its producers
publish there directly, as a pilot whose cluster hosts the consortium would). MirrorMaker 2
runs with the properties ``deploy/consortium.py`` generates from the catalogue. Leiden's
events, a private topic and a dead-letter topic are written before MirrorMaker starts, so it
sees all three topics when it lists Leiden's and must leave two of them behind.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from vrac_contracts.catalogue import EventSpec, by_type
from vrac_contracts.envelope import Envelope, decode_record, new_envelope
from vrac_contracts.ids import new_id
from vrac_testing.clusters import KafkaNode, MirrorMaker
from vrac_testing.kafka import publish_to, read_all, send_raw
from vrac_testing.polling import eventually
from vrac_testing.processes import Platform
from vrac_testing.tokens import bearer

from deploy.consortium import mirror_maker_properties

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

# MirrorMaker 2 needs a minute or more to start its connectors on two busy cores
MIRRORED_WITHIN = 420.0
CASES = {"leiden": 6, "mechelen": 7}  # at least 5 each: smaller counts are suppressed
AT = "2025-03-14T09:30:00Z"
MONTH = "2025-03"
OPENED = by_type("org.vrac.intake.case-opened.v1")
PRIVATE = by_type("org.vrac.intake.consent-recorded.v1")


def _event(spec: EventSpec, **fields: Any) -> Envelope[Any]:
    return new_envelope(spec.model.model_validate({**spec.example, **fields}))


def pilot_events(pilot: str, cases: int) -> list[Envelope[Any]]:
    """``cases`` new cases of ``pilot`` opened in MONTH, each with its parents' consent to
    reporting (without it a case is not counted)."""
    consent = by_type("org.vrac.intake.consent-changed.v2")
    events = []
    for _ in range(cases):
        case = new_id("case")
        common = {"case_id": case, "pilot": pilot, "occurred_at": AT}
        events.append(_event(consent, **common, purpose="reporting", granted=True, changed_at=AT))
        events.append(_event(OPENED, **common))
    return events


@pytest.fixture(scope="module")
def prefix(used_prefixes: set[str]) -> str:
    """This run's topic prefix (its topics on the stack's broker go at the session's end)."""
    name = f"t{uuid.uuid4().hex[:10]}"
    used_prefixes.add(name)
    return f"{name}."


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    with KafkaNode(tmp_path_factory.mktemp("consortium-kafka")).start() as node:
        yield node


@pytest.fixture(scope="module")
async def written(kafka_bootstrap: str, consortium: KafkaNode, prefix: str) -> None:
    """Both pilots' events on their own clusters; on Leiden's also a private record and a
    dead letter, which must stay there."""
    await publish_to(kafka_bootstrap, prefix, *pilot_events("leiden", CASES["leiden"]))
    await publish_to(consortium.bootstrap, prefix, *pilot_events("mechelen", CASES["mechelen"]))
    await publish_to(kafka_bootstrap, prefix, _event(PRIVATE, pilot="leiden"))
    await send_raw(kafka_bootstrap, prefix + OPENED.dlq_topic, b"{}", b"case", [])


@pytest.fixture(scope="module")
def mirror(
    kafka_bootstrap: str,
    consortium: KafkaNode,
    prefix: str,
    written: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MirrorMaker]:
    properties = mirror_maker_properties(
        {"leiden": kafka_bootstrap},
        consortium.bootstrap,
        topic_prefix=prefix,
        replication_factor=1,
    )
    with MirrorMaker(properties, tmp_path_factory.mktemp("mirror-maker")).start() as mm2:
        yield mm2


@pytest.fixture(scope="module")
async def reporting(
    consortium: KafkaNode,
    mongodb_url: str,
    prefix: str,
    mirror: MirrorMaker,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """The consortium's reporting, a process reading the consortium cluster only."""
    platform = Platform(consortium.bootstrap, mongodb_url, prefix, tmp_path_factory.mktemp("logs"))
    await asyncio.to_thread(platform.start, ("reporting",))
    try:
        yield platform.url("reporting")
    finally:
        await asyncio.to_thread(platform.stop)


async def leiden_opened_in_consortium(consortium: KafkaNode, prefix: str) -> list[Any]:
    topic = prefix + OPENED.topic
    records = await read_all(consortium.bootstrap, topic, expect=sum(CASES.values()), timeout=5)
    return [r for r in records if decode_record(r).data.pilot == "leiden"]


async def test_consortium_report_shows_the_figures_of_pilots_on_two_clusters(
    reporting: str, mirror: MirrorMaker
) -> None:
    async def both_pilots() -> dict[str, Any] | None:
        mirror.check()
        async with httpx.AsyncClient(base_url=reporting) as client:
            got = await client.get("/reports/consortium", headers=bearer("consortium", "*"))
        got.raise_for_status()
        month = next((m for m in got.json()["months"] if m["month"] == MONTH), None)
        if month is None:
            return None
        pilots: dict[str, Any] = month["pilots"]
        counted = {pilot: pilots[pilot]["cases_opened"] for pilot in CASES}
        return pilots if counted == CASES else None

    pilots = await eventually(
        both_pilots, "both pilots' cases in the consortium report", MIRRORED_WITHIN, 1.0
    )
    assert pilots["lille"]["cases_opened"] == "suppressed"  # no events there


async def test_only_public_topics_reach_the_consortium_each_record_once(
    kafka_bootstrap: str, consortium: KafkaNode, prefix: str, mirror: MirrorMaker
) -> None:
    async def mirrored() -> list[Any] | None:
        mirror.check()
        found = await leiden_opened_in_consortium(consortium, prefix)
        return found if len(found) >= CASES["leiden"] else None

    found = await eventually(mirrored, "Leiden's cases in the consortium", MIRRORED_WITHIN, 1.0)
    assert len(found) == CASES["leiden"]  # read a while longer: no copy twice

    # reporting creates its own dead-letter topics there: what counts is that no record
    # of Leiden's private or dead-letter topics was copied
    for topic in (prefix + PRIVATE.topic, prefix + OPENED.dlq_topic):
        assert await read_all(kafka_bootstrap, topic, expect=1, timeout=10)  # there to copy
        assert not await read_all(consortium.bootstrap, topic, expect=1, timeout=3), topic
