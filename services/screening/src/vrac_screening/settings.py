"""Settings of the screening service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from pydantic import Field, field_validator
from vrac_contracts.values import Instrument
from vrac_runtime.settings import ServiceSettings

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
