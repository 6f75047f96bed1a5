"""What each Kafka user may do, judged by evaluating the generated ACLs like Kafka's
simple authorizer does (literal and prefixed resource patterns; Read or Write imply
Describe), against the manifests as committed."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from vrac_contracts.catalogue import (
    CATALOGUE,
    PUBLIC_TOPIC_PREFIX,
    SERVICES,
    Audience,
    consumed_by,
    consumer_groups,
    produced_by,
)

from .conftest import REPO

IMPLIES_DESCRIBE = {"Read", "Write", "Delete", "Alter", "All"}


def _matches(resource: dict[str, Any], kind: str, name: str) -> bool:
    if resource["type"] != kind:
        return False
    if resource.get("patternType", "literal") == "prefix":
        return name.startswith(resource["name"])
    return resource["name"] in (name, "*")


def allowed(user: dict[str, Any], operation: str, kind: str, name: str) -> bool:
    """Whether ``user`` may perform ``operation`` on the ``kind`` resource called ``name``."""
    rules = user["spec"]["authorization"]["acls"]
    for rule in rules:
        assert rule.get("type", "allow") == "allow", "only allow rules are generated"
        if not _matches(rule["resource"], kind, name):
            continue
        ops = set(rule["operations"])
        if operation in ops or "All" in ops:
            return True
        if operation == "Describe" and ops & IMPLIES_DESCRIBE:
            return True
    return False


def _users(path: Path) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(path.read_text())}


@pytest.fixture(scope="module")
def users(generator: ModuleType) -> dict[str, dict[str, Any]]:
    return _users(REPO / generator.USERS_FILE)


@pytest.fixture(scope="module")
def partner(generator: ModuleType) -> dict[str, Any]:
    (user,) = _users(REPO / generator.PARTNER_FILE).values()
    return user


ALL_TOPICS = sorted({s.topic for s in CATALOGUE} | {s.dlq_topic for s in CATALOGUE})
EVERY_GROUP = sorted({g for s in SERVICES for g in consumer_groups(s)})


def test_one_user_per_service(users: dict[str, dict[str, Any]]) -> None:
    assert set(users) == {f"vrac-{s}" for s in SERVICES}
    for user in users.values():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert user["spec"]["authorization"]["type"] == "simple"


def test_the_evaluator_itself_tells_allowed_from_denied() -> None:
    user = {
        "spec": {
            "authorization": {
                "acls": [
                    {
                        "resource": {"type": "topic", "name": "a.", "patternType": "prefix"},
                        "operations": ["Read"],
                    },
                ]
            }
        }
    }
    assert allowed(user, "Read", "topic", "a.b")
    assert allowed(user, "Describe", "topic", "a.b")
    assert not allowed(user, "Write", "topic", "a.b")
    assert not allowed(user, "Read", "topic", "b.a")
    assert not allowed(user, "Read", "group", "a.b")


def test_partner_reads_public_topics_only(partner: dict[str, Any]) -> None:
    for spec in CATALOGUE:
        can_read = allowed(partner, "Read", "topic", spec.topic)
        assert can_read is (spec.audience is Audience.PUBLIC), spec.topic
    for name in ALL_TOPICS:
        if not name.startswith(PUBLIC_TOPIC_PREFIX):
            assert not allowed(partner, "Read", "topic", name), name
            assert not allowed(partner, "Describe", "topic", name), name


def test_partner_reads_no_dead_letter_not_even_of_a_public_topic(partner: dict[str, Any]) -> None:
    for spec in CATALOGUE:
        assert not allowed(partner, "Read", "topic", spec.dlq_topic), spec.dlq_topic
        assert not allowed(partner, "Describe", "topic", spec.dlq_topic), spec.dlq_topic


def test_partner_writes_nothing_and_administers_nothing(partner: dict[str, Any]) -> None:
    for name in [*ALL_TOPICS, "vrac.public.anything.v9", "__consumer_offsets"]:
        for op in ("Write", "Create", "Delete", "Alter", "AlterConfigs"):
            assert not allowed(partner, op, "topic", name), (op, name)
    for rule in partner["spec"]["authorization"]["acls"]:
        assert rule["resource"]["type"] in ("topic", "group")
        assert set(rule["operations"]) <= {"Read", "Describe"}


def test_partner_groups_cannot_join_a_service_group(partner: dict[str, Any]) -> None:
    for group in EVERY_GROUP:
        assert not allowed(partner, "Read", "group", group), group
    slug = partner["metadata"]["labels"]["vrac.org/partner"]
    assert allowed(partner, "Read", "group", f"partner.{slug}.dashboard")


@pytest.mark.parametrize("service", SERVICES)
def test_service_writes_only_its_own_topics_and_its_dead_letters(
    users: dict[str, dict[str, Any]], service: str
) -> None:
    user = users[f"vrac-{service}"]
    own = {s.topic for s in produced_by(service)}
    dead_letters = {s.dlq_topic for s in consumed_by(service)}
    writable = {t for t in ALL_TOPICS if allowed(user, "Write", "topic", t)}
    assert writable == own | dead_letters
    assert not allowed(user, "Write", "topic", "vrac.public.someone-else.thing.v1")


@pytest.mark.parametrize("service", SERVICES)
def test_service_reads_exactly_what_it_consumes(
    users: dict[str, dict[str, Any]], service: str
) -> None:
    user = users[f"vrac-{service}"]
    readable = {t for t in ALL_TOPICS if allowed(user, "Read", "topic", t)}
    assert readable == {s.topic for s in consumed_by(service)}


def test_every_consumed_topic_is_readable_by_each_consumer(
    users: dict[str, dict[str, Any]],
) -> None:
    for spec in CATALOGUE:
        for consumer in spec.consumers:
            user = users[f"vrac-{consumer}"]
            assert allowed(user, "Read", "topic", spec.topic), (consumer, spec.topic)
            assert allowed(user, "Write", "topic", spec.dlq_topic), (consumer, spec.dlq_topic)


@pytest.mark.parametrize("service", SERVICES)
def test_groups_match_the_catalogue(users: dict[str, dict[str, Any]], service: str) -> None:
    user = users[f"vrac-{service}"]
    usable = {g for g in EVERY_GROUP if allowed(user, "Read", "group", g)}
    assert usable == set(consumer_groups(service))
    if consumer_groups(service):
        # ad-hoc groups under the service's own prefix, such as reporting's rebuild groups
        assert allowed(user, "Read", "group", f"vrac.{service}.rebuild.g20250314")
    if not consumer_groups(service):
        assert not any(
            r["resource"]["type"] == "group" for r in user["spec"]["authorization"]["acls"]
        ), f"{service} consumes nothing and needs no group"


def test_no_user_may_create_topics_or_touch_the_cluster(
    users: dict[str, dict[str, Any]], partner: dict[str, Any]
) -> None:
    # Strimzi's topic operator owns topics: VRAC_CREATE_TOPICS=false in Kubernetes.
    for user in [*users.values(), partner]:
        for rule in user["spec"]["authorization"]["acls"]:
            assert rule["resource"]["type"] in ("topic", "group"), user["metadata"]["name"]
            assert "Create" not in rule["operations"] and "All" not in rule["operations"]
