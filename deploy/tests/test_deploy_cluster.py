"""The pieces of a real cluster around the services, as kustomize renders them for every pilot:
the Kafka cluster, a MongoDB replica set and user per service, the network policies (judged by
evaluating them like a cluster's network plugin does), the disruption budgets, the memory each
service gets, the Ingress of the parents' diploma links and that of the web app."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from vrac_contracts.catalogue import SERVICES
from vrac_contracts.ids import derived_id
from vrac_runtime.settings import ServiceSettings
from vrac_screening.handlers import diploma_path

from . import custom_resources
from .conftest import PILOTS, kustomize_build
from .test_deploy_kubernetes import PORTS, _by_name, _of_kind, validation_problems

OVERLAYS = tuple(f"overlays/{p}" for p in PILOTS)

# Peak resident memory of each service in the bench (bench/README.md): screening and
# notifications in the platform runs, reporting in its rebuild of 1,000,000 events (the
# highest of the recorded runs). intake and network are not measured there; they do what
# screening does (HTTP, a consumer, a relay) without rendering PDFs, so screening's figure
# stands for them.
BENCH_PEAK_MIB = {
    "screening": 116.1,
    "notifications": 97.9,
    "reporting": 397.0,
    "intake": 116.1,
    "network": 116.1,
}
REQUEST_HEADROOM = 1.5  # the request covers the peak with half again on top
LIMIT_HEADROOM = 3.0  # the limit leaves room for a burst (a rebuild, PDFs) before an OOM kill

INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"


@pytest.fixture(scope="module")
def pilots(kustomize: Path) -> dict[str, list[dict[str, Any]]]:
    return {target: kustomize_build(kustomize, target) for target in OVERLAYS}


@pytest.fixture(params=PILOTS)
def pilot(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def docs(pilots: dict[str, list[dict[str, Any]]], pilot: str) -> list[dict[str, Any]]:
    """Everything the overlay of one pilot renders."""
    return pilots[f"overlays/{pilot}"]


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = _of_kind(docs, kind)
    return doc


def _mebibytes(quantity: str) -> float:
    units = {"Mi": 1.0, "Gi": 1024.0}
    return float(quantity[:-2]) * units[quantity[-2:]]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _secret_env(deployment: dict[str, Any]) -> dict[str, dict[str, str]]:
    env = _container(deployment)["env"]
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env}


# --- validation -------------------------------------------------------------------------


def _broken(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with one mistake an operator could make in a resource of ``kind``."""
    bad = copy.deepcopy(doc)
    spec = bad["spec"]
    if kind == "Kafka":
        spec["kafka"]["listeners"][0]["authentication"]["type"] = "scram-sha-521"
    elif kind == "KafkaNodePool":
        spec["roles"] = ["broker", "zookeeper"]
    elif kind == "KafkaMirrorMaker2":
        spec["mirrors"][0]["topicPattern"] = spec["mirrors"][0].pop("topicsPattern")
    elif kind == "MongoDBCommunity":
        spec["users"][0]["roles"] = [{"role": "readWrite", "db": "vrac_intake"}]
    elif kind == "ServiceMonitor":
        spec["endpoints"][0]["interval"] = "30 seconds"
    elif kind == "PrometheusRule":
        spec["groups"][0]["rules"][0]["expresion"] = spec["groups"][0]["rules"][0].pop("expr")
    return bad


def test_every_custom_kind_has_a_validator_that_rejects_a_broken_resource(
    pilots: dict[str, list[dict[str, Any]]], kustomize: Path
) -> None:
    docs = [
        *pilots["overlays/leiden"],
        *kustomize_build(kustomize, "consortium"),
        *kustomize_build(kustomize, "../observability"),
    ]
    for kind, schema in custom_resources.SCHEMAS.items():
        doc = _of_kind(docs, kind)[0]
        validator = jsonschema.Draft202012Validator(schema)
        assert [e.message for e in validator.iter_errors(doc)] == [], kind
        assert list(validator.iter_errors(_broken(kind, doc))), f"{kind}: the mistake passed"


@pytest.mark.parametrize("target", ["consortium", "../observability"])
def test_the_consortium_and_the_alerts_validate(kustomize: Path, target: str) -> None:
    problems = validation_problems(kustomize_build(kustomize, target))
    assert not problems, "\n".join(problems)


# --- Kafka ------------------------------------------------------------------------------


def test_each_pilot_runs_a_kraft_cluster_the_services_and_partners_can_use(
    docs: list[dict[str, Any]], generator: ModuleType, pilot: str
) -> None:
    kafka = _one(docs, "Kafka")
    assert kafka["metadata"]["name"] == generator.KAFKA_CLUSTER
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert kafka["metadata"]["annotations"]["strimzi.io/node-pools"] == "enabled"
    spec = kafka["spec"]["kafka"]
    assert spec["version"] == generator.KAFKA_VERSION
    assert spec["authorization"]["type"] == "simple", "the KafkaUsers' ACLs must be enforced"
    assert {"topicOperator", "userOperator"} <= set(kafka["spec"]["entityOperator"])
    assert spec["config"]["auto.create.topics.enable"] is False
    # every topic's min.insync.replicas holds with one node away
    pool = _one(docs, "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == generator.KAFKA_CLUSTER
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    insync = {t["spec"]["config"]["min.insync.replicas"] for t in _of_kind(docs, "KafkaTopic")}
    assert pool["spec"]["replicas"] - spec["template"]["podDisruptionBudget"][
        "maxUnavailable"
    ] >= max(insync)
    # every listener is SCRAM-SHA-512 over TLS; the services' settings name the internal one
    for listener in spec["listeners"]:
        assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    shared = next(
        c for c in _of_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("vrac-shared")
    )
    host, port = shared["data"]["KAFKA_BOOTSTRAP_SERVERS"].split(":")
    internal = next(lst for lst in spec["listeners"] if lst["type"] == "internal")
    assert (host, int(port)) == (f"{generator.KAFKA_CLUSTER}-kafka-bootstrap", internal["port"])
    assert shared["data"]["VRAC_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    # the external listener answers at the address the consortium's mirror dials
    external = next(lst for lst in spec["listeners"] if lst["type"] != "internal")
    mirror_host, mirror_port = generator.pilot_bootstrap(pilot).split(":")
    assert external["configuration"]["bootstrap"]["alternativeNames"] == [mirror_host]
    assert external["port"] == int(mirror_port)


# --- MongoDB ----------------------------------------------------------------------------


def test_each_service_has_its_own_replica_set_and_a_user_confined_to_its_database(
    docs: list[dict[str, Any]],
) -> None:
    databases = _by_name(docs, "MongoDBCommunity")
    deployments = _by_name(docs, "Deployment")
    for service in SERVICES:
        mongodb = databases[f"vrac-{service}-mongodb"]["spec"]
        assert mongodb["members"] == 3 and mongodb["type"] == "ReplicaSet"
        assert mongodb["security"]["authentication"]["modes"] == ["SCRAM"]
        (user,) = mongodb["users"]
        # the database the service uses when VRAC_MONGODB_DATABASE is left empty
        database = ServiceSettings(service_name=service).database
        assert user["roles"] == [{"name": "readWrite", "db": database}], service
        assert user["passwordSecretRef"] == {
            "name": f"vrac-{service}-mongodb-password",
            "key": "password",
        }
        url = _secret_env(deployments[f"vrac-{service}"])["MONGODB_URL"]
        assert url == {
            "name": user["connectionStringSecretName"],
            "key": "connectionString.standard",
        }, f"{service} reads another user's connection string"


# --- network policies -------------------------------------------------------------------


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "the evaluator reads matchLabels only"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(peer: dict[str, Any], pod: dict[str, Any], home: str) -> bool:
    if "ipBlock" in peer:  # pods have private addresses: an outside range never holds one
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": pod["namespace"]}
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif pod["namespace"] != home:
        return False
    return _selects(peer.get("podSelector", {}), pod["labels"])


def _port_matches(ports: list[dict[str, Any]] | None, port: int) -> bool:
    return not ports or any(p["port"] == port for p in ports)


def _allows(
    policies: list[dict[str, Any]],
    direction: str,
    pod: dict[str, Any],
    peer: dict[str, Any],
    port: int,
    home: str,
) -> bool:
    """Whether the policies of namespace ``home`` let ``pod`` send (egress) to, or receive
    (ingress) from, ``peer`` on ``port``: allowed when no policy of that direction selects the
    pod, else when one rule of one selecting policy admits it."""
    if pod["namespace"] != home:
        return True  # another namespace's policies are not under test
    kind, field, key = (
        ("Egress", "egress", "to") if direction == "egress" else ("Ingress", "ingress", "from")
    )
    selecting = [
        p
        for p in policies
        if kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], pod["labels"])
    ]
    if not selecting:
        return True
    return any(
        _port_matches(rule.get("ports"), port)
        and (key not in rule or any(_peer_matches(x, peer, home) for x in rule[key]))
        for policy in selecting
        for rule in policy["spec"].get(field, [])
    )


def _strimzi_listener_policy(kafka: dict[str, Any]) -> dict[str, Any]:
    """The ingress policy Strimzi makes for the brokers: each listener's port, from its
    networkPolicyPeers (from anywhere when it names none)."""
    rules = []
    for listener in kafka["spec"]["kafka"]["listeners"]:
        rule: dict[str, Any] = {"ports": [{"port": listener["port"]}]}
        if "networkPolicyPeers" in listener:
            rule["from"] = listener["networkPolicyPeers"]
        rules.append(rule)
    brokers = {
        "matchLabels": {"strimzi.io/cluster": kafka["metadata"]["name"], "strimzi.io/kind": "Kafka"}
    }
    return {"spec": {"podSelector": brokers, "policyTypes": ["Ingress"], "ingress": rules}}


def _may_connect(
    docs: list[dict[str, Any]], client: dict[str, Any], server: dict[str, Any], port: int
) -> bool:
    policies = [*_of_kind(docs, "NetworkPolicy"), _strimzi_listener_policy(_one(docs, "Kafka"))]
    home = _one(docs, "Namespace")["metadata"]["name"]
    return _allows(policies, "egress", client, server, port, home) and _allows(
        policies, "ingress", server, client, port, home
    )


def _pod(namespace: str, **labels: str) -> dict[str, Any]:
    return {"namespace": namespace, "labels": labels}


def _service_pod(namespace: str, service: str) -> dict[str, Any]:
    return _pod(
        namespace,
        **{"app.kubernetes.io/name": f"vrac-{service}", "app.kubernetes.io/part-of": "vrac"},
    )


def _mongodb_pod(namespace: str, service: str) -> dict[str, Any]:
    return _pod(namespace, app=f"vrac-{service}-mongodb-svc")


def _kafka_pod(namespace: str) -> dict[str, Any]:
    labels = {
        "strimzi.io/cluster": "vrac",
        "strimzi.io/kind": "Kafka",
        "strimzi.io/broker-role": "true",
    }
    return _pod(namespace, **labels)


def _peer_urls(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(caller, callee) for every in-cluster URL a service's settings name: whom it calls."""
    calls = set()
    for config in _of_kind(docs, "ConfigMap"):
        data = config.get("data", {})
        caller = data.get("VRAC_SERVICE_NAME")
        for value in data.values():
            for callee in re.findall(r"http://vrac-([a-z]+):\d+", value):
                calls.add((caller, callee))
    return calls


def test_the_policies_know_every_http_call_the_settings_make(
    pilots: dict[str, list[dict[str, Any]]], generator: ModuleType
) -> None:
    assert _peer_urls(pilots["overlays/leiden"]) == set(generator.HTTP_CALLS)


def test_each_service_reaches_kafka_its_own_database_and_the_peers_it_calls_only(
    docs: list[dict[str, Any]], generator: ModuleType, pilot: str
) -> None:
    ns = f"vrac-{pilot}"
    default = _by_name(docs, "NetworkPolicy")["default-deny"]["spec"]
    assert default["podSelector"] == {} and set(default["policyTypes"]) == {"Ingress", "Egress"}
    for service in SERVICES:
        me = _service_pod(ns, service)
        assert _may_connect(docs, me, _kafka_pod(ns), 9093), service
        for other in SERVICES:
            own = other == service
            assert _may_connect(docs, me, _mongodb_pod(ns, other), 27017) is own, (service, other)
            calls = (service, other) in generator.HTTP_CALLS
            assert _may_connect(docs, me, _service_pod(ns, other), PORTS[other]) is calls, (
                service,
                other,
            )
        stranger = _pod(ns, app="something-else")
        assert not _may_connect(docs, stranger, _kafka_pod(ns), 9093)
        assert not _may_connect(docs, stranger, me, PORTS[service]), service
        assert not _may_connect(docs, stranger, _mongodb_pod(ns, service), 27017), service
        prometheus = _pod(MONITORING_NAMESPACE, **{"app.kubernetes.io/name": "prometheus"})
        assert _may_connect(docs, prometheus, me, PORTS[service]), (
            f"Prometheus cannot scrape {service}"
        )
        from_ingress = _may_connect(docs, _pod(INGRESS_NAMESPACE), me, PORTS[service])
        assert from_ingress is (service == "screening"), service


def test_the_web_app_is_reached_through_the_ingress_and_reaches_the_services_only(
    docs: list[dict[str, Any]], pilot: str
) -> None:
    ns = f"vrac-{pilot}"
    web = _service_pod(ns, "web")
    assert _may_connect(docs, _pod(INGRESS_NAMESPACE), web, PORTS["web"])
    assert not _may_connect(docs, _pod(ns, app="something-else"), web, PORTS["web"])
    for service in SERVICES:
        me = _service_pod(ns, service)
        assert _may_connect(docs, web, me, PORTS[service]), f"the web app cannot call {service}"
        assert not _may_connect(docs, me, web, PORTS["web"]), service
        assert not _may_connect(docs, web, _mongodb_pod(ns, service), 27017), service
    assert not _may_connect(docs, web, _kafka_pod(ns), 9093), "the web app has no Kafka"
    # out of the cluster: the identity provider people sign in with, over HTTPS only
    assert _outside_ports(_by_name(docs, "NetworkPolicy")["vrac-web"]) == {443}


def _outside_ports(policy: dict[str, Any]) -> set[int]:
    return {
        port["port"]
        for rule in policy["spec"]["egress"]
        if any("ipBlock" in peer for peer in rule.get("to", []))
        for port in rule["ports"]
    }


def test_only_notifications_sends_mail_and_nothing_leaves_for_the_cluster_itself(
    docs: list[dict[str, Any]], generator: ModuleType
) -> None:
    policies = _by_name(docs, "NetworkPolicy")
    smtp = set(generator.SMTP_PORTS)
    for service in SERVICES:
        ports = _outside_ports(policies[f"vrac-{service}"])
        # HTTPS out: the identity provider's JWKS, and for notifications the agencies' webhooks
        assert ports == ({443} | smtp if service == "notifications" else {443}), service
        for rule in policies[f"vrac-{service}"]["spec"]["egress"]:
            for peer in rule.get("to", []):
                if "ipBlock" in peer:
                    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(
                        peer["ipBlock"]["except"]
                    ) or peer["ipBlock"]["cidr"] == "::/0"


# --- disruption budgets and memory -----------------------------------------------------


def test_every_service_and_database_has_a_disruption_budget_that_never_blocks_a_drain(
    docs: list[dict[str, Any]],
) -> None:
    budgets = list(_by_name(docs, "PodDisruptionBudget").values())
    for service in (*SERVICES, "web"):
        pods = [_service_pod("x", service)["labels"]]
        if service != "web":  # the web app keeps no data: no database
            pods.append(_mongodb_pod("x", service)["labels"])
        for labels in pods:
            (budget,) = [b for b in budgets if _selects(b["spec"]["selector"], labels)]
            assert budget["spec"] == {**budget["spec"], "maxUnavailable": 1}, labels
            assert "minAvailable" not in budget["spec"], "a single replica could never move"
    kafka = _one(docs, "Kafka")["spec"]
    assert kafka["kafka"]["template"]["podDisruptionBudget"] == {"maxUnavailable": 1}
    assert kafka["entityOperator"]["template"]["podDisruptionBudget"] == {"maxUnavailable": 1}


def test_memory_requests_and_limits_cover_the_bench_peaks(
    pilots: dict[str, list[dict[str, Any]]],
) -> None:
    deployments = _by_name(pilots["overlays/leiden"], "Deployment")
    for service in SERVICES:  # the bench runs no web app
        resources = _container(deployments[f"vrac-{service}"])["resources"]
        peak = BENCH_PEAK_MIB[service]
        request = _mebibytes(resources["requests"]["memory"])
        limit = _mebibytes(resources["limits"]["memory"])
        assert request >= REQUEST_HEADROOM * peak, (service, request, peak)
        assert limit >= LIMIT_HEADROOM * peak, (service, limit, peak)
        assert request <= 2 * REQUEST_HEADROOM * peak, f"{service} reserves far more than it uses"


# --- the diploma links' Ingress ---------------------------------------------------------


def _routes(ingress: dict[str, Any], host: str, path: str) -> str | None:
    """The path screening receives for ``https://host/path``, or None when the Ingress does not
    pass it on. ingress-nginx's regular expressions match case-insensitively from the start."""
    rewrite = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"]
    for rule in ingress["spec"]["rules"]:
        if rule["host"] != host:
            continue
        for route in rule["http"]["paths"]:
            match = re.match(route["path"], path, re.IGNORECASE)
            if match:
                return match.expand(re.sub(r"\$(\d)", r"\\\1", rewrite))
    return None


def test_the_ingress_passes_the_diploma_links_and_nothing_else_of_screening(
    docs: list[dict[str, Any]],
) -> None:
    ingress = _by_name(docs, "Ingress")["vrac-screening-links"]
    notifications = next(
        c["data"]
        for c in _of_kind(docs, "ConfigMap")
        if c["data"].get("VRAC_SERVICE_NAME") == "notifications"
    )
    public = urlsplit(notifications["VRAC_SCREENING_PUBLIC_URL"])
    assert public.scheme == "https"
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [public.hostname] and tls["secretName"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "vrac-screening", "port": {"name": "http"}}
    diploma = derived_id("diploma", "screening-1")
    link = public.path + diploma_path(diploma)  # what a family's message points at
    assert _routes(ingress, public.hostname, link) == diploma_path(diploma)
    # the family's link also opens the credential; anyone checks credentials
    for route in (
        f"/diplomas/{diploma}/credential",
        "/credentials/verify",
        "/credentials/status/leiden",
        "/credentials/issuers/leiden",
    ):
        assert _routes(ingress, public.hostname, public.path + route) == route
    screening = next(
        c["data"]
        for c in _of_kind(docs, "ConfigMap")
        if c["data"].get("VRAC_SERVICE_NAME") == "screening"
    )
    assert screening["VRAC_PUBLIC_URL"] == notifications["VRAC_SCREENING_PUBLIC_URL"]
    for elsewhere in (
        f"/diplomas/{diploma}",
        f"/diplomas/{diploma}/links",
        "/cases/case-1/screenings",
        "/internal/diploma-links",
        "/metrics",
        "/health/ready",
        f"/diplomas/{diploma}.pdf/../../internal/diploma-links",
        f"/diplomas/{diploma}/credential/../links",
        "/credentials/verify/../../internal/diploma-links",
    ):
        assert _routes(ingress, public.hostname, public.path + elsewhere) is None, elsewhere
    assert _routes(ingress, "intake.example", link) is None


def test_the_rewritten_link_is_a_route_screening_serves() -> None:
    from vrac_screening.entrypoints.http import public, router

    paths = {getattr(route, "path", "") for route in [*router.routes, *public.routes]}
    assert "/diplomas/{diploma_id}.pdf" in paths
    assert "/diplomas/{diploma_id}/credential" in paths
    assert {
        "/credentials/verify",
        "/credentials/status/{pilot}",
        "/credentials/issuers/{pilot}",
    } <= paths
    assert diploma_path("{diploma_id}") == "/diplomas/{diploma_id}.pdf"


# --- the web app's Ingress ----------------------------------------------------------------


def test_the_web_apps_ingress_serves_the_people_at_its_public_address(
    docs: list[dict[str, Any]],
) -> None:
    ingress = _by_name(docs, "Ingress")["vrac-web"]
    web = next(
        c["data"]
        for c in _of_kind(docs, "ConfigMap")
        if c["data"].get("VRAC_SERVICE_NAME") == "web"
    )
    public = urlsplit(web["VRAC_PUBLIC_URL"])
    assert public.scheme == "https" and public.path in ("", "/")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [public.hostname] and tls["secretName"]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == public.hostname
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix"), "every page, and the callback"
    assert path["backend"]["service"] == {"name": "vrac-web", "port": {"name": "http"}}
    assert "nginx.ingress.kubernetes.io/rewrite-target" not in ingress["metadata"]["annotations"]
    # the diploma links keep their own place on the same host
    screening = _by_name(docs, "Ingress")["vrac-screening-links"]
    assert screening["spec"]["rules"][0]["host"] == public.hostname
