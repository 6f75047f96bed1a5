"""The Kubernetes manifests as kustomize renders them, for the base and every pilot.

Core resources are validated with kubernetes-validate (offline, strict: unknown fields
fail) against the Kubernetes API schemas. kubernetes-validate has no Strimzi schemas and
none ships offline, so KafkaTopic and KafkaUser are checked against the structural schema
below, written from Strimzi's v1beta2 API reference, and the other custom kinds against those
of custom_resources.py.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from vrac_contracts.catalogue import CATALOGUE, SERVICES, consumed_by

from . import custom_resources
from .conftest import DEPLOY, PILOTS, kustomize_build

KUBERNETES_VERSION = "1.33.0"
TARGETS = ("base", *(f"overlays/{p}" for p in PILOTS))
PORTS = {
    "intake": 8001,
    "screening": 8002,
    "network": 8003,
    "notifications": 8004,
    "reporting": 8005,
    "web": 8000,
}

_ACL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["resource", "operations"],
    "properties": {
        "type": {"enum": ["allow", "deny"]},
        "host": {"type": "string"},
        "operations": {
            "type": "array",
            "minItems": 1,
            "items": {
                "enum": [
                    "Read",
                    "Write",
                    "Create",
                    "Delete",
                    "Alter",
                    "Describe",
                    "ClusterAction",
                    "AlterConfigs",
                    "DescribeConfigs",
                    "IdempotentWrite",
                    "All",
                ]
            },
        },
        "resource": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "name"],
            "properties": {
                "type": {"enum": ["topic", "group", "transactionalId"]},
                "name": {"type": "string", "minLength": 1},
                "patternType": {"enum": ["literal", "prefix"]},
            },
        },
    },
}
_METADATA = {
    "type": "object",
    "required": ["name", "labels"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
            "maxLength": 253,
        },
        "labels": {
            "type": "object",
            "required": ["strimzi.io/cluster"],
            "additionalProperties": {"type": "string"},
        },
    },
}


def _strimzi(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The structural schema of a Strimzi v1beta2 resource of ``kind`` with ``spec``."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": {"type": "object", "additionalProperties": False, **spec},
        },
    }


STRIMZI_SCHEMAS: dict[str, dict[str, Any]] = {
    "KafkaTopic": _strimzi(
        "KafkaTopic",
        {
            "required": ["partitions", "replicas"],
            "properties": {
                "topicName": {"type": "string"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "integer", "boolean", "number"]},
                },
            },
        },
    ),
    "KafkaUser": _strimzi(
        "KafkaUser",
        {
            "properties": {
                "authentication": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": ["tls", "tls-external", "scram-sha-512"]}},
                },
                "authorization": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["type", "acls"],
                    "properties": {
                        "type": {"const": "simple"},
                        "acls": {"type": "array", "items": _ACL},
                    },
                },
            },
        },
    ),
}


CUSTOM_SCHEMAS: dict[str, dict[str, Any]] = {**STRIMZI_SCHEMAS, **custom_resources.SCHEMAS}


def validation_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Every resource checked: custom kinds by their schema, the rest by kubernetes-validate."""
    problems = []
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in CUSTOM_SCHEMAS:
            errors = jsonschema.Draft202012Validator(CUSTOM_SCHEMAS[doc["kind"]]).iter_errors(doc)
            problems += [f"{where}: {e.message}" for e in errors]
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{where}: {error.message}")
    return problems


@pytest.fixture(scope="module")
def rendered(kustomize: Path) -> dict[str, list[dict[str, Any]]]:
    return {target: kustomize_build(kustomize, target) for target in TARGETS}


def _of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _by_name(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _of_kind(docs, kind)}


@pytest.mark.parametrize("target", TARGETS)
def test_every_manifest_validates(rendered: dict[str, list[dict[str, Any]]], target: str) -> None:
    docs = rendered[target]
    kinds = Counter(d["kind"] for d in docs)
    assert kinds["Deployment"] == 6 and kinds["Service"] == 6, "five services and the web app"
    assert kinds["KafkaTopic"] == 2 * len(CATALOGUE)
    assert kinds["KafkaUser"] == len(SERVICES) + 1, "one per service and the consortium's mirror"
    assert kinds["Kafka"] == 1 and kinds["MongoDBCommunity"] == len(SERVICES)
    problems = validation_problems(docs)
    assert not problems, "\n".join(problems)


def test_the_validators_reject_a_broken_manifest(rendered: dict[str, list[dict[str, Any]]]) -> None:
    deployment = _of_kind(rendered["base"], "Deployment")[0]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    user = _of_kind(rendered["base"], "KafkaUser")[0]
    bad_user = yaml.safe_load(yaml.safe_dump(user))
    bad_user["spec"]["authorization"]["acls"][0]["operations"] = ["Reed"]
    assert list(jsonschema.Draft202012Validator(STRIMZI_SCHEMAS["KafkaUser"]).iter_errors(bad_user))


@pytest.mark.parametrize("target", TARGETS)
def test_deployments_are_probed_limited_and_unprivileged(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    for name, deployment in _by_name(rendered[target], "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True, name
        assert ctx["allowPrivilegeEscalation"] is False, name
        assert ctx["capabilities"]["drop"] == ["ALL"], name
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), (name, kind)
        service = name.removeprefix("vrac-")
        assert container["ports"][0]["containerPort"] == PORTS[service], name


@pytest.mark.parametrize("target", TARGETS)
def test_configuration_comes_from_configmaps_and_secrets(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    docs = rendered[target]
    deployments = _by_name(docs, "Deployment")
    for service in SERVICES:
        name = f"vrac-{service}"
        deployment = deployments[name]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        settings = _settings(docs, container)
        secret_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
        assert {"VRAC_SIGNING_KEYS", "MONGODB_URL"} <= set(secret_env), name
        assert secret_env["VRAC_SIGNING_KEYS"] == {"name": "vrac-signing-keys", "key": service}
        assert all("value" not in e for e in container["env"]), f"{name}: literal env value"
        assert settings["VRAC_SERVICE_NAME"] == service
        assert settings["VRAC_HTTP_PORT"] == str(PORTS[service])
        assert settings["VRAC_HTTP_HOST"] == "0.0.0.0"
        assert settings["VRAC_CREATE_TOPICS"] == "false", "Strimzi owns the topics"
        # Kafka as the service's own KafkaUser, over TLS, trusting the cluster's CA
        users = _by_name(docs, "KafkaUser")
        assert settings["VRAC_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert settings["VRAC_KAFKA_SASL_USERNAME"] == name and name in users
        assert users[name]["spec"]["authentication"]["type"] == "scram-sha-512"
        assert secret_env["VRAC_KAFKA_SASL_PASSWORD"] == {"name": name, "key": "password"}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        ca_folder = str(Path(settings["VRAC_KAFKA_SSL_CAFILE"]).parent)
        assert volumes[mounts[ca_folder]]["secret"]["secretName"] == "vrac-cluster-ca-cert"
        for key in settings:
            assert "SECRET" not in key and "PASSWORD" not in key, f"{key} in a ConfigMap"
        assert not any("mongodb://" in v and "@" in v for v in settings.values())


def _settings(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The environment a container gets from its ConfigMaps, each of which is rendered."""
    config_maps = _by_name(docs, "ConfigMap")
    settings: dict[str, str] = {}
    for source in container["envFrom"]:
        ref = source["configMapRef"]["name"]
        assert ref in config_maps, f"a ConfigMap that is not rendered: {ref}"
        settings.update(config_maps[ref]["data"])
    return settings


@pytest.mark.parametrize("target", TARGETS)
def test_the_web_app_has_its_settings_and_its_session_secret_and_nothing_of_kafka(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    docs = rendered[target]
    deployment = _by_name(docs, "Deployment")["vrac-web"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    settings = _settings(docs, container)
    assert settings["VRAC_HTTP_PORT"] == "8000" and settings["VRAC_HTTP_HOST"] == "0.0.0.0"
    assert settings["VRAC_DEVELOPMENT"] == "false", "the development sign-in page stays off"
    assert json.loads(settings["VRAC_SERVICE_URLS"]) == {
        service: f"http://vrac-{service}:{PORTS[service]}" for service in SERVICES
    }
    assert settings["VRAC_OIDC_CLIENT_ID"] == "vrac-web"
    assert settings["VRAC_PUBLIC_URL"].startswith("https://")
    # people sign in at the realm whose tokens the services accept
    shared = next(
        c for c in _of_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("vrac-shared")
    )
    assert settings["VRAC_OIDC_ISSUER"] in json.loads(shared["data"]["VRAC_TRUSTED_ISSUERS"])
    secret_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert secret_env == {"VRAC_WEB_SESSION_KEYS": {"name": "vrac-web-session", "key": "keys"}}
    assert "VRAC_WEB_SESSION_KEYS" not in settings, "a secret in a ConfigMap"
    assert not [k for k in settings if k.startswith(("KAFKA", "MONGODB", "VRAC_KAFKA"))]
    assert "volumes" not in deployment["spec"]["template"]["spec"] or all(
        "secret" not in v for v in deployment["spec"]["template"]["spec"]["volumes"]
    ), "no Kafka CA, no keys: the web app holds no secret but its session's"
    # the links in helpers' and guardians' messages open the web app
    by_service = {
        c["data"].get("VRAC_SERVICE_NAME"): c["data"] for c in _of_kind(docs, "ConfigMap")
    }
    assert by_service["network"]["VRAC_TASK_LINK_BASE_URL"] == settings["VRAC_PUBLIC_URL"]
    assert by_service["notifications"]["VRAC_WEB_URL"] == settings["VRAC_PUBLIC_URL"]


@pytest.mark.parametrize("pilot", PILOTS)
def test_each_pilot_lives_in_its_own_labelled_namespace(
    rendered: dict[str, list[dict[str, Any]]], pilot: str
) -> None:
    docs = rendered[f"overlays/{pilot}"]
    (namespace,) = _of_kind(docs, "Namespace")
    assert namespace["metadata"]["name"] == f"vrac-{pilot}"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == f"vrac-{pilot}", doc["metadata"]["name"]
        assert doc["metadata"]["labels"]["vrac.org/pilot"] == pilot, doc["metadata"]["name"]
    shared = next(
        c for c in _of_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("vrac-shared")
    )
    # each pilot's own realm: a token of one pilot's realm is worthless in another
    realm = f"https://id.vrac.example/realms/vrac-{pilot}"
    issuers = json.loads(shared["data"]["VRAC_TRUSTED_ISSUERS"])
    assert issuers == {realm: f"{realm}/protocol/openid-connect/certs"}
    assert shared["data"]["VRAC_CREATE_TOPICS"] == "false", "the merge kept the base's keys"


@pytest.mark.parametrize("target", TARGETS)
def test_no_consumer_group_outnumbers_the_partitions(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    # A replica beyond the partition count of a topic it reads would sit idle.
    docs = rendered[target]
    partitions = {
        t["spec"]["topicName"]: t["spec"]["partitions"] for t in _of_kind(docs, "KafkaTopic")
    }
    for name, deployment in _by_name(docs, "Deployment").items():
        replicas = deployment["spec"]["replicas"]
        for spec in consumed_by(name.removeprefix("vrac-")):
            assert replicas <= partitions[spec.topic], (name, replicas, spec.topic)


def test_a_service_scales_by_replicas_of_one_consumer_group(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """The base runs two replicas of every service, and nothing a pod learns about itself
    (its name, its IP) goes into its settings: every replica has the service's own name,
    hence the catalogue's consumer groups and the service's database."""
    docs = rendered["base"]
    settings = {c["metadata"]["name"]: c["data"] for c in _of_kind(docs, "ConfigMap")}
    for service in SERVICES:
        deployment = _by_name(docs, "Deployment")[f"vrac-{service}"]
        assert deployment["spec"]["replicas"] >= 2, service
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert not [e for e in container.get("env", []) if "fieldRef" in e.get("valueFrom", {})]
        names = {
            settings[ref["configMapRef"]["name"]].get("VRAC_SERVICE_NAME")
            for ref in container["envFrom"]
            if "configMapRef" in ref
        } - {None}
        assert names == {service}, (service, names)


def test_the_partner_template_is_a_valid_kafka_user() -> None:
    docs = list(
        yaml.safe_load_all((DEPLOY / "k8s" / "partner" / "kafkauser-partner.yaml").read_text())
    )
    (user,) = [d for d in docs if d]
    validator = jsonschema.Draft202012Validator(STRIMZI_SCHEMAS["KafkaUser"])
    assert [e.message for e in validator.iter_errors(user)] == []
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == "vrac"
