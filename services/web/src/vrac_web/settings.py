"""Settings of the web app, from the environment (``VRAC_*``).

The web app has no Kafka and no store: it knows where the five services answer, where people
sign in (an OpenID Connect provider), its own public address and the keys that sign its
session cookie.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from vrac_contracts.catalogue import SERVICES

DEVELOPMENT_SESSION_TEXT = "vrac web development session key, public, never for production"


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VRAC_", extra="ignore")

    service_name: str = Field("web", description="Name used in logs.")
    http_host: str = Field("0.0.0.0", description="HTTP listen address.")
    http_port: int = Field(8000, ge=0, le=65535, description="HTTP listen port.")
    development: bool = Field(
        False,
        description="Development deployment: a sign-in page that picks a role and pilot, "
        "signed with the public development issuer key. Never in production.",
    )
    service_urls: dict[str, str] = Field(
        default_factory=lambda: {s: f"http://127.0.0.1:{8001 + n}" for n, s in enumerate(SERVICES)},
        description="JSON: each service's base URL, as the web app reaches it.",
    )
    oidc_issuer: str = Field(
        "",
        description="The OpenID Connect issuer people sign in with (its discovery URL is "
        "<issuer>/.well-known/openid-configuration); empty: development sign-in only.",
    )
    oidc_client_id: str = Field("vrac-web", description="The web app's public OIDC client.")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The web app's public base URL; the sign-in redirect URI is "
        "<public_url>/sign-in/callback.",
    )
    web_session_keys: SecretStr = Field(
        SecretStr(""),
        description="JSON list of secrets signing the session cookie, newest first (old ones "
        "still open sessions they signed); development derives one.",
    )
    session_hours: float = Field(8, gt=0, le=24, description="How long a session lasts.")
    request_timeout_seconds: float = Field(10, gt=0, description="Deadline of a call to a service.")
    log_level: str = Field("INFO", description="Log level.")
    shutdown_grace_seconds: float = Field(10, ge=0, description="Time to finish requests.")

    @model_validator(mode="after")
    def _services_known(self) -> Self:
        unknown = sorted(set(self.service_urls) - set(SERVICES))
        if unknown:
            raise ValueError(f"VRAC_SERVICE_URLS names unknown services: {', '.join(unknown)}")
        missing = sorted(set(SERVICES) - set(self.service_urls))
        if missing:
            raise ValueError(f"VRAC_SERVICE_URLS lacks: {', '.join(missing)}")
        self.session_secrets  # noqa: B018 - parse now, so a bad value stops the start
        return self

    @cached_property
    def session_secrets(self) -> list[str]:
        raw = self.web_session_keys.get_secret_value()
        if not raw:
            seed = hashlib.sha256(DEVELOPMENT_SESSION_TEXT.encode()).hexdigest()
            return [seed]
        try:
            keys = json.loads(raw)
        except ValueError:
            keys = [raw]  # a single secret, not a JSON list
        if not isinstance(keys, list) or not all(isinstance(k, str) and len(k) >= 32 for k in keys):
            raise ValueError(
                "VRAC_WEB_SESSION_KEYS: a JSON list of secrets of 32 characters or more"
            )
        return keys

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def unsafe(self) -> str | None:
        """Why this web app must not start outside development, or None."""
        if self.development:
            return None
        if not self.oidc_issuer:
            return "VRAC_OIDC_ISSUER is empty: set the identity provider people sign in with"
        if not self.web_session_keys.get_secret_value():
            return "VRAC_WEB_SESSION_KEYS is empty: set a secret that signs the session cookie"
        return None
