"""Every variable the deployments set is one a service reads, and the guide says so."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import yaml
from vrac_contracts.catalogue import SERVICES
from vrac_runtime.settings import ServiceSettings

from .conftest import COMPOSE, DEPLOY, compose_config, kustomize_build


def known_variables(generator: ModuleType, service: str) -> set[str]:
    cls = generator.service_settings_class(service) or ServiceSettings
    return {
        env for name, field in cls.model_fields.items() for env in generator._env_names(name, field)
    }


@pytest.fixture(scope="module")
def base_manifests(kustomize: Path) -> list[dict]:
    return kustomize_build(kustomize, "base")


def test_the_check_knows_a_misspelt_variable(generator: ModuleType) -> None:
    known = known_variables(generator, "intake")
    assert "VRAC_SIGNING_KEYS" in known and "MONGODB_URL" in known
    assert "VRAC_SIGNING_KEY" not in known and "VRAC_JWT_SECRET" not in known


@pytest.mark.parametrize("service", SERVICES)
def test_kubernetes_sets_only_variables_the_service_reads(
    generator: ModuleType, base_manifests: list[dict], service: str
) -> None:
    config_maps = {d["metadata"]["name"]: d for d in base_manifests if d["kind"] == "ConfigMap"}
    (deployment,) = [
        d
        for d in base_manifests
        if d["kind"] == "Deployment" and d["metadata"]["name"] == f"vrac-{service}"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    names = {e["name"] for e in container["env"]}
    for source in container["envFrom"]:
        names |= set(config_maps[source["configMapRef"]["name"]]["data"])
    unknown = names - known_variables(generator, service)
    assert not unknown, f"{service} does not read {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_sets_only_variables_the_service_reads(
    generator: ModuleType, docker_compose: Path, service: str
) -> None:
    result = compose_config(docker_compose, COMPOSE / "example.env")
    assert result.returncode == 0, result.stderr
    env = yaml.safe_load(result.stdout)["services"][service]["environment"]
    unknown = set(env) - known_variables(generator, service)
    assert not unknown, f"{service} does not read {sorted(unknown)}"


def test_the_guide_names_every_secret_the_deployments_read(base_manifests: list[dict]) -> None:
    guide = (DEPLOY / "README.md").read_text()
    for deployment in (d for d in base_manifests if d["kind"] == "Deployment"):
        for env in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
            ref = env["valueFrom"]["secretKeyRef"]
            # a service's own KafkaUser secret is described once, as `vrac-<service>`
            name = ref["name"].replace(deployment["metadata"]["name"], "vrac-<service>")
            assert f"`{name}`" in guide, ref["name"]
            assert env["name"] in guide, env["name"]
        for volume in deployment["spec"]["template"]["spec"]["volumes"]:
            if "secret" in volume:
                assert f"`{volume['secret']['secretName']}`" in guide, volume["name"]
    for key in ("`<service>`", "`connectionString.standard`", "`username`", "`password`"):
        assert key in guide


def web_variables(generator: ModuleType) -> set[str]:
    from vrac_web.settings import WebSettings

    return {
        env
        for name, field in WebSettings.model_fields.items()
        for env in generator._env_names(name, field)
    }


def test_the_web_app_is_given_only_variables_it_reads(
    generator: ModuleType, base_manifests: list[dict], docker_compose: Path
) -> None:
    known = web_variables(generator)
    assert "VRAC_WEB_SESSION_KEYS" in known and "VRAC_WEB_SESSION_KEY" not in known
    config_maps = {d["metadata"]["name"]: d for d in base_manifests if d["kind"] == "ConfigMap"}
    (deployment,) = [
        d
        for d in base_manifests
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "vrac-web"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    names = {e["name"] for e in container["env"]}
    for source in container["envFrom"]:
        names |= set(config_maps[source["configMapRef"]["name"]]["data"])
    assert not names - known, f"the web app does not read {sorted(names - known)}"
    result = compose_config(docker_compose, COMPOSE / "example.env")
    assert result.returncode == 0, result.stderr
    env = yaml.safe_load(result.stdout)["services"]["web"]["environment"]
    assert not set(env) - known, f"the web app does not read {sorted(set(env) - known)}"
