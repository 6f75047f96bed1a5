"""Settings of the screening service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from vrac_contracts.values import Instrument
from vrac_runtime.auth import SigningKeys
from vrac_runtime.settings import ServiceSettings

from vrac_screening.adapters.credentials import development_issuer_keys, parse_issuer_keys
from vrac_screening.domain.instruments import LICENSED


class ScreeningSettings(ServiceSettings):
    service_name: str = Field("screening", description="Name used in logs, client ids and groups.")
    http_port: int = Field(8002, ge=0, le=65535, description="HTTP listen port.")
    erasure_retry_seconds: float = Field(
        5.0,
        gt=0,
        description="How often erasures that could not finish at once (a record still sending "
        "its event, a write under way, a store that failed) are taken up again.",
    )
    diploma_link_days: int = Field(
        7,
        ge=1,
        le=31,
        description="How long a diploma link in a message to the family opens the diploma, "
        "in days; a coach or the data-protection officer can revoke one sooner.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8002",
        description="The public base URL of this service: the credentials name their issuer, "
        "status list and check under it, and the diploma's QR code leads to its check.",
    )
    issuer_keys: SecretStr = Field(
        SecretStr(""),
        description='Each pilot\'s credential issuer keys: JSON {"<pilot>": <JWK set of private '
        "Ed25519 keys>}, the first key of a pilot signs. A pilot without keys issues no "
        "credentials (409); in development every pilot has a development key.",
    )

    @model_validator(mode="after")
    def _issuer_keys_parse(self) -> Self:
        try:
            self.pilot_issuer_keys  # noqa: B018 - parsed once to refuse a broken value at start
        except ValueError as err:  # the message names the pilot, never the key
            raise ValueError(f"VRAC_ISSUER_KEYS: {err}") from None
        if not self.public_url.startswith(("https://", "http://")):
            raise ValueError("VRAC_PUBLIC_URL must be an http(s) URL")
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def pilot_issuer_keys(self) -> dict[str, SigningKeys]:
        text = self.issuer_keys.get_secret_value()
        if text:
            return parse_issuer_keys(text)
        return development_issuer_keys() if self.development else {}

    licensed_instruments: str = Field(
        "",
        description="The licensed instruments this deployment scores from item responses, "
        "comma separated (sdq, kidscreen-10): only those its pilot holds the licence for.",
    )

    @field_validator("licensed_instruments")
    @classmethod
    def _known_licensed(cls, value: str) -> str:
        for name in _names(value):
            if name not in LICENSED:
                known = ", ".join(sorted(LICENSED))
                raise ValueError(f"{name!r} is not a licensed instrument (known: {known})")
        return value

    @property
    def licensed(self) -> frozenset[Instrument]:
        return frozenset(Instrument(name) for name in _names(self.licensed_instruments))


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]
