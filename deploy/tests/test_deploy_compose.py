"""The compose stack: the real `docker compose config` accepts it, and topic creation does
what the generated list says. No Docker engine is needed for either."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from vrac_contracts.catalogue import CATALOGUE, SERVICES

from .conftest import COMPOSE, compose_config, run


@pytest.fixture(scope="module")
def config(docker_compose: Path) -> dict[str, Any]:
    result = compose_config(docker_compose, COMPOSE / "example.env")
    assert result.returncode == 0, f"docker compose config rejected the stack:\n{result.stderr}"
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def test_compose_config_accepts_the_stack(config: dict[str, Any]) -> None:
    assert {"kafka", "mongodb", "create-topics", *SERVICES} <= set(config["services"])
    assert config["services"]["kafka"]["image"].startswith("apache/kafka:")
    assert config["services"]["mongodb"]["image"].startswith("mongo:")


def test_every_service_scales_by_replicas_of_its_consumer_groups(
    docker_compose: Path, config: dict[str, Any]
) -> None:
    """The replicas file runs two of each service with the settings of one: same service
    name (so the same catalogue groups and database), no host port two could not share."""
    result = compose_config(
        docker_compose, COMPOSE / "example.env", overrides=("compose.replicas.yaml",)
    )
    assert result.returncode == 0, f"docker compose config rejected the replicas:\n{result.stderr}"
    scaled = yaml.safe_load(result.stdout)["services"]
    for service in SERVICES:
        assert scaled[service]["deploy"]["replicas"] == 2, service
        assert not scaled[service].get("ports"), f"{service}: replicas cannot share a host port"
        assert scaled[service]["environment"] == config["services"][service]["environment"]
    assert scaled["kafka"]["ports"] == config["services"]["kafka"]["ports"]


REQUIRED_SECRETS = (
    "VRAC_TRUSTED_ISSUERS",
    *(f"VRAC_{service.upper()}_SIGNING_KEYS" for service in SERVICES),
    "VRAC_INTAKE_KEY_ENCRYPTION_KEYS",
    "VRAC_NETWORK_KEY_ENCRYPTION_KEYS",
    "VRAC_NOTIFICATIONS_KEY_ENCRYPTION_KEYS",
    "VRAC_WEB_SESSION_KEYS",
    "VRAC_OIDC_ISSUER",  # not a secret, but no default fits: the web app's sign-in
)


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_without_a_secret_compose_names_it(
    docker_compose: Path, tmp_path: Path, missing: str
) -> None:
    partial = tmp_path / "partial.env"
    given = [f"{name}=set" for name in REQUIRED_SECRETS if name != missing]
    partial.write_text("\n".join(["MONGO_ROOT_USERNAME=vrac", "MONGO_ROOT_PASSWORD=x", *given]))
    result = compose_config(docker_compose, partial)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_services_are_wired_by_environment(config: dict[str, Any], service: str) -> None:
    svc = config["services"][service]
    env = svc["environment"]
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert (
        env["MONGODB_URL"].startswith("mongodb://vrac:") and "@mongodb:27017" in env["MONGODB_URL"]
    )
    assert env["VRAC_SERVICE_NAME"] == service
    assert env["VRAC_CREATE_TOPICS"] == "false"
    assert env["VRAC_HTTP_HOST"] == "0.0.0.0"
    assert svc["build"]["args"]["SERVICE"] == service
    assert svc["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert svc["depends_on"]["create-topics"]["condition"] == "service_completed_successfully"
    assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]
    port = int(env["VRAC_HTTP_PORT"])
    assert any(int(p["target"]) == port for p in svc["ports"])


def test_the_web_app_calls_the_services_and_signs_people_in_at_the_trusted_issuer(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    web = services["web"]
    env = web["environment"]
    assert web["build"]["args"]["SERVICE"] == "web"
    assert web["read_only"] is True and web["cap_drop"] == ["ALL"]
    assert not [k for k in env if k.startswith(("KAFKA", "MONGODB"))], "no Kafka, no database"
    urls = json.loads(env["VRAC_SERVICE_URLS"])
    assert set(urls) == set(SERVICES) and set(SERVICES) <= set(web["depends_on"])
    for service, url in urls.items():
        assert url == f"http://{service}:{services[service]['environment']['VRAC_HTTP_PORT']}"
    # people sign in at the issuer whose tokens the services accept
    trusted = json.loads(services["intake"]["environment"]["VRAC_TRUSTED_ISSUERS"])
    assert env["VRAC_OIDC_ISSUER"] in trusted
    assert "VRAC_DEVELOPMENT" not in env, "the development sign-in page stays off"
    assert any(int(p["target"]) == int(env["VRAC_HTTP_PORT"]) for p in web["ports"])
    public = env["VRAC_PUBLIC_URL"]
    assert services["network"]["environment"]["VRAC_TASK_LINK_BASE_URL"] == public
    assert services["notifications"]["environment"]["VRAC_WEB_URL"] == public


def test_no_secret_value_is_committed() -> None:
    text = (COMPOSE / "compose.yaml").read_text()
    for line in text.splitlines():
        if any(word in line for word in ("SECRET", "PASSWORD", "SIGNING_KEYS")) and ":" in line:
            value = line.split(":", 1)[1].strip()
            assert value.startswith("${") or value.startswith("mongodb://${"), line
    example = (COMPOSE / "example.env").read_text()
    secrets = [
        line.split("=", 1)
        for line in example.splitlines()
        if line.split("=")[0].endswith(("SECRET", "PASSWORD", "KEYS"))
    ]
    assert len(secrets) >= 2
    for name, value in secrets:
        assert value == "" or "CHANGE-ME" in value, f"{name} has a real-looking value"
    assert (COMPOSE / ".gitignore").read_text().split() == [".env"]


def _fake_kafka_topics(tmp_path: Path, existing: list[str]) -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    fake = tmp_path / "kafka-topics.sh"
    listing = "\\n".join(existing)
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'case "$*" in *--list*) printf "' + listing + '\\n" ;; esac\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake, log


def _create_topics(fake: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the compose stack's one-shot topic creator against the fake ``kafka-topics.sh``."""
    return run(
        ["sh", COMPOSE / "create-topics.sh"],
        timeout=60,
        env={
            "PATH": os.environ["PATH"],
            "KAFKA_TOPICS_CMD": str(fake),
            "TOPICS_FILE": str(COMPOSE / "topics.txt"),
            **env,
        },
    )


def test_topic_creator_creates_each_missing_topic_once(tmp_path: Path) -> None:
    already = CATALOGUE[0].topic
    fake, log = _fake_kafka_topics(tmp_path, [already, "__consumer_offsets"])
    result = _create_topics(fake, KAFKA_BOOTSTRAP="kafka:9092", TOPIC_REPLICAS="1")
    assert result.returncode == 0, result.stderr
    creates = [line.split() for line in log.read_text().splitlines() if "--create" in line]

    def arg(call: list[str], flag: str) -> str:
        return call[call.index(flag) + 1]

    created = {arg(c, "--topic"): c for c in creates}
    expected = {s.topic for s in CATALOGUE} | {s.dlq_topic for s in CATALOGUE}
    assert set(created) == expected - {already}
    assert len(creates) == len(created)
    for spec in CATALOGUE[1:]:
        assert arg(created[spec.topic], "--partitions") == "3"
        assert arg(created[spec.dlq_topic], "--partitions") == "1"
        assert arg(created[spec.topic], "--replication-factor") == "1"
        assert "retention.ms=2592000000" in created[spec.topic]
        assert "retention.ms=7776000000" in created[spec.dlq_topic]
    assert all(arg(c, "--bootstrap-server") == "kafka:9092" for c in creates)


def test_topic_creator_fails_when_the_broker_cannot_be_listed(tmp_path: Path) -> None:
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text("#!/bin/sh\necho 'broker unreachable' >&2\nexit 1\n")
    fake.chmod(0o755)
    result = _create_topics(fake)
    assert result.returncode != 0, "a failed listing must fail the one-shot, not skip it"
