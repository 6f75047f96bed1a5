"""Configuration of the reporting service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from pydantic import Field
from vrac_contracts.catalogue import consumed_by, consumer_group
from vrac_runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: str = Field("reporting", description="Name used in logs, client ids and groups.")
    http_port: int = Field(8005, ge=0, le=65535, description="HTTP listen port.")
    suppression_threshold: int = Field(
        5, ge=5, description="Counts below this are hidden, with the cells that would reveal them."
    )
    rebuild_fetch_records: int = Field(
        5000, ge=1, description="Records a rebuild fetches from Kafka per poll."
    )
    rebuild_dedupe_tail: int = Field(
        1000,
        ge=0,
        description=(
            "Per partition, how many of the last replayed events a rebuild records by id, so "
            "that a re-published copy arriving later is still recognised."
        ),
    )
    rebuild_heartbeat_seconds: float = Field(
        5, gt=0, description="How often a running rebuild tells the store it is alive."
    )
    rebuild_stale_seconds: float = Field(
        120, gt=0, description="A rebuild silent this long may be replaced by a new one."
    )

    def public_topics(self) -> list[str]:
        """The physical names of every topic reporting reads."""
        return [self.topic(spec.topic) for spec in consumed_by("reporting")]

    def rebuild_group(self, generation: str) -> str:
        """A consumer group of its own for each rebuild: it reads from the earliest offset."""
        return self.group(f"{consumer_group('reporting', 'rebuild')}.{generation}")
