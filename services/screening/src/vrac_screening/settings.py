"""Settings of the screening service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from pydantic import Field
from vrac_runtime.settings import ServiceSettings


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
