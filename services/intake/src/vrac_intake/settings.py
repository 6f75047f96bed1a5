"""Settings of the intake service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from pydantic import Field
from vrac_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = Field("intake", description="Name used in logs, client ids and groups.")
    http_port: int = Field(8001, ge=0, le=65535, description="HTTP listen port.")
    family_link_days: int = Field(
        30,
        ge=1,
        le=366,
        description="How many days a family's link (the parent's way into the web app) opens "
        "the case, unless revoked before.",
    )
    max_page_size: int = Field(
        500, ge=1, le=5000, description="Most cases one `GET /cases` returns (its `limit`)."
    )
