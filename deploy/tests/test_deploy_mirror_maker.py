"""MirrorMaker 2's settings for the consortium: every current public topic copied, and the
internal ones reporting reads (free of personal data), nothing else.

The copying itself is shown by ``tests/consortium`` on two running clusters."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest
from vrac_contracts.catalogue import CATALOGUE, Audience
from vrac_contracts.rules import personal_fields

from deploy.consortium import (
    IDENTITY_POLICY,
    mirror_maker_properties,
    mirrored_topics,
    topics_pattern,
)

from .conftest import DEPLOY

PILOTS = {"leiden": "kafka.leiden:9093", "mechelen": "kafka.mechelen:9093"}


def parse(text: str) -> dict[str, str]:
    """Java's reading of the simple properties we write: ``key = value``, ``\\\\`` is ``\\``."""
    pairs = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.split(" = ", 1)
            pairs[key] = value.replace("\\\\", "\\")
    return pairs


def test_every_public_topic_is_copied_and_no_private_or_dead_letter_one() -> None:
    pattern = re.compile(topics_pattern())
    for spec in CATALOGUE:
        public = spec.audience is Audience.PUBLIC and not spec.superseded_by
        copied = public or "reporting" in spec.consumers
        assert bool(pattern.fullmatch(spec.topic)) is copied, spec.topic
        assert not pattern.fullmatch(spec.dlq_topic), spec.dlq_topic
        if copied:
            assert not personal_fields(spec.model), spec.topic
    # a dot matches only a dot
    assert not pattern.fullmatch("vrac.publicXintake.case-opened.v1")


def test_a_prefix_is_part_of_every_name() -> None:
    pattern = re.compile(topics_pattern("t1a2b."))
    assert pattern.fullmatch("t1a2b.vrac.public.intake.case-opened.v1")
    assert not pattern.fullmatch("vrac.public.intake.case-opened.v1")
    assert all(topic.startswith("t1a2b.") for topic in mirrored_topics("t1a2b."))


def test_each_pilot_flows_into_the_consortium_under_the_same_names() -> None:
    props = parse(mirror_maker_properties(PILOTS, "kafka.consortium:9093"))
    assert props["clusters"] == "consortium, leiden, mechelen"
    assert props["consortium.bootstrap.servers"] == "kafka.consortium:9093"
    assert props["replication.policy.class"] == IDENTITY_POLICY
    flows = {key for key, value in props.items() if key.endswith(".enabled") and "->" in key}
    assert flows == {"leiden->consortium.enabled", "mechelen->consortium.enabled"}
    for pilot, servers in PILOTS.items():
        assert props[f"{pilot}.bootstrap.servers"] == servers
        assert props[f"{pilot}->consortium.topics"] == topics_pattern()


def test_nothing_is_written_on_a_pilot_cluster_and_the_factor_is_applied() -> None:
    props = parse(mirror_maker_properties(PILOTS, "c:9092", replication_factor=1))
    for emitted in ("heartbeats", "checkpoints", "offset-syncs"):
        assert props[f"emit.{emitted}.enabled"] == "false"
    factors = {key: value for key, value in props.items() if "replication.factor" in key}
    assert len(factors) == 5 and set(factors.values()) == {"1"}
    # MirrorMaker refuses its configuration when a feature switched off is configured
    assert not [key for key in props if key.startswith(("checkpoints.", "offset-syncs."))]


@pytest.mark.parametrize(
    ("pilots", "prefix"),
    [({}, ""), ({"consortium": "a:1"}, ""), ({"Leiden!": "a:1"}, ""), (PILOTS, "t 1.")],
)
def test_bad_aliases_and_prefixes_are_refused(pilots: dict[str, str], prefix: str) -> None:
    with pytest.raises(ValueError):
        mirror_maker_properties(pilots, "c:9092", topic_prefix=prefix)


def test_mirror_maker_comes_from_the_brokers_kafka_release() -> None:
    def kafka_version(pom: str) -> str | None:
        namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
        root = ElementTree.parse(DEPLOY / "local" / pom).getroot()
        return root.findtext("m:properties/m:kafka.version", namespaces=namespace)

    assert kafka_version("mirror-pom.xml") == kafka_version("pom.xml") is not None
