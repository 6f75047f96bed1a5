"""Settings of the screening service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from pydantic import Field
from vrac_runtime.settings import ServiceSettings


class ScreeningSettings(ServiceSettings):
    service_name: str = Field("screening", description="Name used in logs, client ids and groups.")
    http_port: int = Field(8002, ge=0, le=65535, description="HTTP listen port.")
