"""The committed Keycloak realms are what the generator makes from the catalogue today, and
say what the services' contract needs. Tokens of the running realm: tests/identity."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType

import pytest
from vrac_contracts.catalogue import SERVICES
from vrac_contracts.values import Pilot
from vrac_runtime.auth import ROLES

from .conftest import DEPLOY, REPO


@pytest.fixture(scope="module")
def realms() -> ModuleType:
    """deploy/keycloak/realm.py as a module."""
    path = DEPLOY / "keycloak" / "realm.py"
    spec = importlib.util.spec_from_file_location("vrac_deploy_keycloak_realm", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def committed(realms: ModuleType, relative: str) -> dict:
    return json.loads((REPO / relative).read_text(encoding="utf-8"))


def test_the_deploy_generator_writes_and_checks_both_realms(generator: ModuleType) -> None:
    # drift of every generated file, these included, is test_deploy_generated's
    assert {"deploy/keycloak/vrac-realm.json", "deploy/keycloak/local/vrac-realm.json"} <= set(
        generator.render()
    )


def _leaf_groups(realm: dict) -> dict[str, dict[str, str]]:
    return {
        sub["path"]: {key: values[0] for key, values in sub["attributes"].items()}
        for group in realm["groups"]
        for sub in group["subGroups"]
    }


def test_every_pilot_has_a_group_per_role_carrying_role_and_pilot(realms: ModuleType) -> None:
    realm = committed(realms, realms.DEPLOYMENT_FILE)
    leaves = _leaf_groups(realm)
    for pilot in Pilot:
        for role in ("coach", "pilot-lead", "agency", "dpo", "admin"):
            assert leaves[f"/{pilot.value}/{role}"] == {"role": role, "pilot": pilot.value}
    assert leaves["/consortium/consortium"] == {"role": "consortium", "pilot": "*"}
    # every role a person holds is given by some group; the services' own role by none
    assert {claims["role"] for claims in leaves.values()} == set(ROLES) - {"service"}


def test_each_service_has_an_audience_scope_and_the_web_app_gets_them_all(
    realms: ModuleType,
) -> None:
    realm = committed(realms, realms.DEPLOYMENT_FILE)
    scopes = {scope["name"]: scope for scope in realm["clientScopes"]}
    for service in SERVICES:
        (mapper,) = scopes[f"vrac-{service}"]["protocolMappers"]
        assert mapper["config"]["included.custom.audience"] == f"vrac-{service}"
    (web,) = realm["clients"]
    assert web["publicClient"] is True
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    assert not web["directAccessGrantsEnabled"] and not web["implicitFlowEnabled"]
    assert set(web["defaultClientScopes"]) >= {f"vrac-{s}" for s in SERVICES}


def test_the_deployment_realm_has_no_users_secrets_or_development_client(
    realms: ModuleType,
) -> None:
    text = (REPO / realms.DEPLOYMENT_FILE).read_text(encoding="utf-8")
    realm = json.loads(text)
    assert "users" not in realm
    assert [c["clientId"] for c in realm["clients"]] == ["vrac-web"]
    assert realm["clients"][0]["redirectUris"] == []
    for secret in (realms.DEV_PASSWORD, realms.DEV_CLIENT_SECRET, "dev-only"):
        assert secret not in text


def test_development_passwords_stay_out_of_the_kubernetes_manifests(realms: ModuleType) -> None:
    for path in (DEPLOY / "k8s").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert realms.DEV_PASSWORD not in text, path
            assert realms.DEV_CLIENT_SECRET not in text, path
