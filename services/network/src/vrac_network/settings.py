"""Settings of the network service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from pydantic import Field
from vrac_runtime.settings import ServiceSettings


class NetworkSettings(ServiceSettings):
    service_name: str = Field("network", description="Name used in logs, client ids and groups.")
    http_port: int = Field(8003, ge=0, le=65535, description="HTTP listen port.")
    overdue_sweep_seconds: float = Field(
        3600,
        ge=0,
        description="How often the overdue sweep runs (as of today, UTC); 0 turns it off.",
    )
    erasure_retry_seconds: float = Field(
        60,
        gt=0,
        description="How often erasures and removals a failure left half done are finished.",
    )
