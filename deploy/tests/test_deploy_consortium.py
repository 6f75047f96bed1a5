"""The consortium: every pilot's current public topics mirrored, under their own names, into the
consortium's cluster, where a reporting of its own reads all six pilots. Judged on the manifests
as rendered, with the ACL evaluator of test_deploy_acls."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from vrac_contracts.catalogue import CATALOGUE, Audience, consumed_by

from .conftest import PILOTS, REPO, kustomize_build
from .test_deploy_acls import ALL_TOPICS, allowed
from .test_deploy_cluster import _kafka_pod, _may_connect, _mongodb_pod, _pod, _service_pod
from .test_deploy_kubernetes import _of_kind


@pytest.fixture(scope="module")
def consortium(kustomize: Path) -> list[dict[str, Any]]:
    return kustomize_build(kustomize, "consortium")


def _users(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {u["metadata"]["name"]: u for u in _of_kind(docs, "KafkaUser")}


def _mirrored_by_pattern(pattern: str, names: list[str]) -> set[str]:
    # MirrorMaker 2 matches a topic name against the whole pattern (Java's Pattern.matches)
    return {name for name in names if re.fullmatch(pattern, name)}


def test_the_current_public_topics_are_mirrored_and_nothing_else(generator: ModuleType) -> None:
    mirrored = {
        s.topic for s in CATALOGUE if s.audience is Audience.PUBLIC and s.superseded_by is None
    }
    # and the one internal topic reporting reads: a network's measure, counts and codes only
    mirrored.add("vrac.internal.network.network-measured.v1")
    assert set(generator.mirrored_topics()) == mirrored
    pattern = generator.mirror_topics_pattern()
    assert _mirrored_by_pattern(pattern, ALL_TOPICS) == mirrored
    # a dot in a name is a dot, not any character
    lookalikes = [t.replace(".", "x", 1) for t in mirrored]
    lookalikes += [f"{t}.v9" for t in mirrored] + [f"vrac.dlq.{t}" for t in mirrored]
    assert _mirrored_by_pattern(pattern, lookalikes) == set()


def test_the_consortium_reporting_reads_only_what_is_mirrored(generator: ModuleType) -> None:
    # else it would wait for events no mirror ever brings
    assert {s.topic for s in consumed_by("reporting")} <= set(generator.mirrored_topics())


def test_the_pilots_mirror_user_reads_the_mirrored_topics_and_writes_nothing(
    generator: ModuleType,
) -> None:
    (user,) = yaml.safe_load_all((REPO / generator.MIRROR_USER_FILE).read_text())
    assert user["metadata"]["name"] == generator.MIRROR_SOURCE_USER
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    readable = {t for t in ALL_TOPICS if allowed(user, "Read", "topic", t)}
    assert readable == set(generator.mirrored_topics())
    for topic in [*ALL_TOPICS, "vrac.public.intake.case-opened.v1.extra"]:
        for operation in ("Write", "Create", "Delete", "Alter", "AlterConfigs"):
            assert not allowed(user, operation, "topic", topic), (operation, topic)
    assert all(
        rule["resource"]["type"] == "topic" for rule in user["spec"]["authorization"]["acls"]
    )


def test_mirror_maker_copies_each_pilot_under_the_same_names(
    consortium: list[dict[str, Any]], generator: ModuleType
) -> None:
    (mirror,) = _of_kind(consortium, "KafkaMirrorMaker2")
    spec = mirror["spec"]
    clusters = {c["alias"]: c for c in spec["clusters"]}
    assert set(clusters) == {*PILOTS, spec["connectCluster"]}
    target = clusters[spec["connectCluster"]]
    assert target["bootstrapServers"] == "vrac-kafka-bootstrap:9093"
    assert target["authentication"]["username"] == generator.MIRROR_TARGET_USER
    assert {m["sourceCluster"] for m in spec["mirrors"]} == set(PILOTS)
    for flow in spec["mirrors"]:
        source = clusters[flow["sourceCluster"]]
        assert flow["targetCluster"] == spec["connectCluster"]
        assert source["bootstrapServers"] == generator.pilot_bootstrap(flow["sourceCluster"])
        assert source["authentication"]["type"] == "scram-sha-512" and source["tls"]
        assert source["authentication"]["username"] == generator.MIRROR_SOURCE_USER
        config = flow["sourceConnector"]["config"]
        assert config["replication.policy.class"].endswith(".IdentityReplicationPolicy")
        # read-only on the pilots: the offset syncs are kept on the consortium's side
        assert config["offset-syncs.topic.location"] == "target"
        assert flow["topicsPattern"] == generator.mirror_topics_pattern()
        # no consumer group of a pilot means anything to the consortium
        assert "checkpointConnector" not in flow and "groupsPattern" not in flow


def test_the_consortium_runs_reporting_alone_on_the_mirrored_topics(
    consortium: list[dict[str, Any]], generator: ModuleType
) -> None:
    (namespace,) = _of_kind(consortium, "Namespace")
    assert namespace["metadata"]["name"] == "vrac-consortium"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert [d["metadata"]["name"] for d in _of_kind(consortium, "Deployment")] == ["vrac-reporting"]
    assert [m["metadata"]["name"] for m in _of_kind(consortium, "MongoDBCommunity")] == [
        "vrac-reporting-mongodb"
    ]
    (kafka,) = _of_kind(consortium, "Kafka")
    assert [lst["type"] for lst in kafka["spec"]["kafka"]["listeners"]] == ["internal"]
    topics = {t["spec"]["topicName"]: t["spec"] for t in _of_kind(consortium, "KafkaTopic")}
    mirrored = set(generator.mirrored_topics())
    assert set(topics) == mirrored | {s.dlq_topic for s in consumed_by("reporting")}
    for name in mirrored:  # the same shape as on a pilot, owned by the catalogue
        assert topics[name]["partitions"] == generator.EVENT_TOPICS.partitions
        assert topics[name]["config"]["retention.ms"] == generator.EVENT_TOPICS.retention_ms
    users = _users(consortium)
    assert set(users) == {"vrac-reporting", generator.MIRROR_TARGET_USER}
    for name in mirrored:
        assert allowed(users["vrac-reporting"], "Read", "topic", name), name
        assert allowed(users[generator.MIRROR_TARGET_USER], "Write", "topic", name), name
        assert not allowed(users[generator.MIRROR_TARGET_USER], "Create", "topic", name), name
    for doc in consortium:
        assert doc["metadata"].get("namespace", "vrac-consortium") == "vrac-consortium"
        assert doc["metadata"]["labels"]["vrac.org/pilot"] == "consortium"


def test_in_the_consortium_reporting_and_the_mirror_reach_only_what_they_need(
    consortium: list[dict[str, Any]],
) -> None:
    ns = "vrac-consortium"
    reporting = _service_pod(ns, "reporting")
    mirror = _pod(
        ns, **{"strimzi.io/kind": "KafkaMirrorMaker2", "strimzi.io/cluster": "vrac-mirror"}
    )
    stranger = _pod(ns, app="something-else")
    assert _may_connect(consortium, reporting, _kafka_pod(ns), 9093)
    assert _may_connect(consortium, reporting, _mongodb_pod(ns, "reporting"), 27017)
    assert _may_connect(consortium, mirror, _kafka_pod(ns), 9093)
    # a pilot's external listener, through its load balancer
    assert _may_connect(consortium, mirror, _kafka_pod("vrac-leiden"), 9094)
    assert not _may_connect(consortium, mirror, _mongodb_pod(ns, "reporting"), 27017)
    assert not _may_connect(consortium, stranger, _kafka_pod(ns), 9093)
    assert not _may_connect(consortium, reporting, _kafka_pod("vrac-leiden"), 9094)
