"""Signing keys as an operator makes and rotates them, and the settings a service refuses."""

from __future__ import annotations

import io
import json

import pytest
from vrac_runtime.auth import SigningKeys, main, unsafe_settings
from vrac_runtime.settings import ServiceSettings

ISSUERS = {"https://id.example.org/realms/vrac": "https://id.example.org/certs"}


def keygen(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    main(["keygen", *args])
    return json.loads(capsys.readouterr().out)


def test_rotation_puts_the_new_key_first_and_keeps_the_old_one_published(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    current = keygen(capsys, "--kid", "2026-01")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(current)))
    rotated = keygen(capsys, "--kid", "2026-02", "--rotate")
    assert [k["kid"] for k in rotated["keys"]] == ["2026-02", "2026-01"]
    keys = SigningKeys.parse(json.dumps(rotated))
    assert [k["kid"] for k in keys.public_jwks()["keys"]] == ["2026-02", "2026-01"]
    assert all("d" not in k for k in keys.public_jwks()["keys"])


def test_a_broken_key_set_is_refused_naming_the_key_not_its_material() -> None:
    private = SigningKeys.generate("k1").private_jwks()
    private["keys"][0]["crv"] = "P-256"
    with pytest.raises(ValueError, match="VRAC_SIGNING_KEYS: key k1") as refused:
        ServiceSettings(signing_keys=json.dumps(private))
    assert private["keys"][0]["d"] not in str(refused.value)


def test_outside_development_issuers_and_a_real_key_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VRAC_DEVELOPMENT", raising=False)
    real = json.dumps(SigningKeys.generate().private_jwks())
    development = json.dumps(SigningKeys.development("intake").private_jwks())
    assert "VRAC_TRUSTED_ISSUERS" in str(unsafe_settings(ServiceSettings(signing_keys=real)))
    assert "VRAC_SIGNING_KEYS" in str(unsafe_settings(ServiceSettings(trusted_issuers=ISSUERS)))
    with_dev = ServiceSettings(trusted_issuers=ISSUERS, signing_keys=development)
    assert "development key" in str(unsafe_settings(with_dev))
    assert unsafe_settings(ServiceSettings(trusted_issuers=ISSUERS, signing_keys=real)) is None
    assert unsafe_settings(ServiceSettings(development=True)) is None
