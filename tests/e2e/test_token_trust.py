"""Who a service believes, tried on a real process started as a deployment would start it
(not development): user tokens from an issuer's JWKS served over HTTP, with RS256 (as
Keycloak signs by default), ES256 and EdDSA keys; each service's own audience; a key
rotation with overlap; peer services' calls signed with their own keys; and the starts a
service refuses."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from vrac_runtime.auth import SigningKeys, audience, service_issuer
from vrac_testing.processes import Platform
from vrac_testing.tokens import refused_tokens

pytestmark = pytest.mark.integration

ISSUER = "https://idp.vrac.example.org/realms/vrac"
CERTS = "/realms/vrac/protocol/openid-connect/certs"
UNKNOWN_CASE = "/cases/case_nosuchcase0001"  # 404 once a token is accepted, 401 before
UNKNOWN_KEY = "/internal/data-keys/case_nosuchcase0001"


class JwksServer:
    """A real HTTP server publishing a JWK set at every path; ``keys`` can change (a
    rotation) while it runs."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Key:
    """One signing key of the identity provider, with its public JWK."""

    def __init__(self, kid: str, alg: str) -> None:
        self.kid, self.alg = kid, alg
        if alg == "RS256":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            algorithm: Any = jwt.algorithms.RSAAlgorithm
        elif alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            algorithm = jwt.algorithms.ECAlgorithm
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            algorithm = jwt.algorithms.OKPAlgorithm
        public = json.loads(algorithm.to_jwk(self.private.public_key()))
        self.jwk = {**public, "kid": kid, "alg": alg, "use": "sig"}

    def sign(self, **overrides: Any) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "f3b1c2d4-coach",
            "aud": [audience("intake"), audience("network")],
            "role": "coach",
            "pilot": "leiden",
            "iat": now,
            "exp": now + 300,
            **overrides,
        }
        token = jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid})
        return {"Authorization": f"Bearer {token}"}


def peer_call(keys: SigningKeys, service: str, **overrides: Any) -> dict[str, str]:
    """A call ``service`` signs with ``keys``, as its ``service_token`` would."""
    now = int(time.time())
    claims = {
        "iss": service_issuer(service),
        "sub": service,
        "aud": audience("intake"),
        "role": "service",
        "pilot": "*",
        "iat": now,
        "exp": now + 300,
        **overrides,
    }
    return {"Authorization": f"Bearer {keys.sign(claims)}"}


@pytest.fixture(scope="module")
def idp() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def peers() -> Iterator[dict[str, tuple[SigningKeys, JwksServer]]]:
    """Screening, notifications and reporting as intake sees them: their JWKS routes."""
    made = {}
    for service in ("screening", "notifications", "reporting"):
        keys, server = SigningKeys.generate(f"{service}-1"), JwksServer()
        server.keys = keys.public_jwks()["keys"]
        made[service] = (keys, server)
    yield made
    for _, server in made.values():
        server.stop()


INTAKE_KEYS = SigningKeys.generate("intake-1")


def deployed_env(idp: JwksServer, peers: dict[str, tuple[SigningKeys, JwksServer]]) -> dict:
    return {
        "VRAC_DEVELOPMENT": "false",
        "VRAC_SIGNING_KEYS": json.dumps(INTAKE_KEYS.private_jwks()),
        "VRAC_TRUSTED_ISSUERS": json.dumps({ISSUER: idp.url + CERTS}),
        "VRAC_TRUSTED_SERVICES": json.dumps({name: s.url for name, (_, s) in peers.items()}),
        # a removed key stops being accepted within seconds here (an hour by default)
        "VRAC_JWKS_CACHE_SECONDS": "2",
        "VRAC_JWKS_REFRESH_SECONDS": "0",
    }


@pytest.fixture(scope="module")
def intake(
    kafka_bootstrap: str,
    mongodb_url: str,
    used_prefixes: set[str],
    tmp_path_factory: pytest.TempPathFactory,
    idp: JwksServer,
    peers: dict[str, tuple[SigningKeys, JwksServer]],
) -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    used_prefixes.add(prefix)
    logs: Path = tmp_path_factory.mktemp("token-trust")
    platform = Platform(
        kafka_bootstrap, mongodb_url, f"{prefix}.", logs, extra_env=deployed_env(idp, peers)
    )
    platform.start(("intake",))
    yield platform.url("intake")
    platform.stop()


def get(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=10)


def test_tokens_of_the_trusted_issuer_open_with_any_of_its_key_types(
    intake: str, idp: JwksServer
) -> None:
    keys = [Key("rsa-1", "RS256"), Key("ec-1", "ES256"), Key("ed-1", "EdDSA")]
    idp.keys = [k.jwk for k in keys]
    for key in keys:
        assert get(intake + UNKNOWN_CASE, key.sign()).status_code == 404, key.alg


def test_a_token_for_another_audience_or_signed_by_another_key_is_401(
    intake: str, idp: JwksServer
) -> None:
    key = Key("rsa-2", "RS256")
    idp.keys = [key.jwk]
    impostor = Key("rsa-2", "RS256")  # the same kid, someone else's key
    cases = {
        "the bearer token is not valid for this service": key.sign(aud=audience("network")),
        "the bearer token is not valid": impostor.sign(),
        "the bearer token has expired": key.sign(exp=int(time.time()) - 3600),
    }
    for detail, headers in cases.items():
        reply = get(intake + UNKNOWN_CASE, headers)
        assert (reply.status_code, reply.json()["detail"]) == (401, detail)


def test_development_and_forged_tokens_open_nothing_outside_development(intake: str) -> None:
    for name, token in refused_tokens(role="coach", pilot="leiden").items():
        reply = get(intake + UNKNOWN_CASE, {"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401, name
        assert "jwt" not in reply.text.lower() and "signature" not in reply.text.lower()


def test_a_rotated_issuer_key_is_accepted_during_the_overlap(intake: str, idp: JwksServer) -> None:
    old, new = Key("2026-01", "EdDSA"), Key("2026-02", "EdDSA")
    idp.keys = [old.jwk]
    assert get(intake + UNKNOWN_CASE, old.sign()).status_code == 404
    idp.keys = [new.jwk, old.jwk]  # the overlap: both published
    assert get(intake + UNKNOWN_CASE, new.sign()).status_code == 404  # an unknown kid: fetched
    assert get(intake + UNKNOWN_CASE, old.sign()).status_code == 404
    idp.keys = [new.jwk]  # the old key retired

    deadline = time.monotonic() + 30
    while get(intake + UNKNOWN_CASE, old.sign()).status_code != 401:
        assert time.monotonic() < deadline, "the retired key is still accepted"
        time.sleep(0.5)
    assert get(intake + UNKNOWN_CASE, new.sign()).status_code == 404


def test_a_peer_services_key_signs_only_its_own_calls(
    intake: str, peers: dict[str, tuple[SigningKeys, JwksServer]]
) -> None:
    screening, _ = peers["screening"]
    reporting, _ = peers["reporting"]
    # screening reads intake's data keys: authenticated, and this key was never made
    assert get(intake + UNKNOWN_KEY, peer_call(screening, "screening")).status_code == 404
    # reporting is trusted for its own calls, but reads no data keys
    assert get(intake + UNKNOWN_KEY, peer_call(reporting, "reporting")).status_code == 403
    refused = {
        "for network": peer_call(screening, "screening", aud=audience("network")),
        "as notifications": peer_call(screening, "notifications"),
        "as a coach": peer_call(screening, "screening", role="coach", pilot="leiden"),
        "for another subject": peer_call(screening, "screening", sub="notifications"),
    }
    for name, headers in refused.items():
        assert get(intake + UNKNOWN_CASE, headers).status_code == 401, name
        assert get(intake + UNKNOWN_KEY, headers).status_code == 401, name


def test_the_service_publishes_its_public_keys_only(intake: str) -> None:
    published = get(intake + "/.well-known/jwks.json").json()
    assert published == INTAKE_KEYS.public_jwks()
    assert all("d" not in key for key in published["keys"])


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"VRAC_TRUSTED_ISSUERS": "{}"}, "VRAC_TRUSTED_ISSUERS"),
        ({"VRAC_SIGNING_KEYS": ""}, "VRAC_SIGNING_KEYS"),
        (
            {"VRAC_SIGNING_KEYS": json.dumps(SigningKeys.development("intake").private_jwks())},
            "VRAC_SIGNING_KEYS holds a development key",
        ),
    ],
)
def test_a_service_refuses_to_start_unsafely(
    change: dict[str, str],
    named: str,
    idp: JwksServer,
    peers: dict[str, tuple[SigningKeys, JwksServer]],
    tmp_path: Path,
) -> None:
    platform = Platform("127.0.0.1:1", "mongodb://127.0.0.1:1", "t.", tmp_path)
    env = {**platform.env("intake"), **deployed_env(idp, peers), **change}
    done = subprocess.run(
        [sys.executable, "-m", "vrac_intake"], env=env, capture_output=True, timeout=60, text=True
    )
    assert done.returncode != 0
    assert f"intake refuses to start: {named}" in done.stderr
