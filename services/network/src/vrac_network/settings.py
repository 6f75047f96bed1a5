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
        description="How often the sweep of overdue tasks and reminders before the due date "
        "runs (as of today, UTC); 0 turns it off.",
    )
    erasure_retry_seconds: float = Field(
        60,
        gt=0,
        description="How often erasures and removals a failure left half done are finished.",
    )
    task_reminder_days: int = Field(
        2,
        ge=0,
        le=60,
        description="How many days before its due date an open task's assignee is reminded "
        "(task-due-soon, once per task and due date); 0 reminds on the due day itself.",
    )
    task_link_days: int = Field(
        14, ge=1, le=90, description="How long a helper's task link stays valid, in days."
    )
    task_link_base_url: str = Field(
        "http://127.0.0.1:8003",
        description="Public base URL of network's task-link pages, as helpers reach them.",
    )
