"""Settings of the notifications service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from vrac_runtime.settings import ServiceSettings

from vrac_notifications.domain.destinations import DestinationRules, parse_networks


class NotificationsSettings(ServiceSettings):
    service_name: str = Field(
        "notifications", description="Name used in logs, client ids and groups."
    )
    http_port: int = Field(8004, ge=0, le=65535, description="HTTP listen port.")

    smtp_host: str = Field("127.0.0.1", description="SMTP server that sends the e-mails.")
    smtp_port: int = Field(1025, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_sender: str = Field(
        "VRAC <noreply@vrac.example.org>", description="From address of every e-mail."
    )
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str = Field("", description="SMTP login; empty means no login.")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    smtp_timeout_seconds: float = Field(
        10, gt=0, description="Deadline of one SMTP session, from connecting to the last reply."
    )

    webhook_timeout_seconds: float = Field(
        5, gt=0, description="Deadline of one webhook POST to an agency, in total."
    )
    development: bool = Field(
        False,
        description="Marks a development deployment (a local stack): agency webhooks may then "
        "use plain http and loopback addresses. Never set in production.",
    )
    webhook_cluster_networks: str = Field(
        "",
        description="CIDR networks of the cluster (pods, services, nodes, load balancers), "
        "comma separated: webhook destinations resolving into them are refused even when "
        "public. Loopback, link-local, private, multicast and unspecified addresses are "
        "refused anyway.",
    )
    webhook_secret_overlap_hours: float = Field(
        24,
        ge=0,
        description="How long an agency's previous webhook secret keeps signing beside a new "
        "one it registers (rotation without a gap).",
    )
    delivery_retry_hours: float = Field(
        24,
        gt=0,
        description="How long transient failures of a message are retried before it fails.",
    )
    delivery_backoff_seconds: float = Field(
        10, gt=0, description="Wait before the second attempt of a message; doubles per attempt."
    )
    delivery_max_backoff_seconds: float = Field(
        900, gt=0, description="The longest wait between two attempts of a message."
    )
    delivery_claim_seconds: float = Field(
        120,
        gt=0,
        description="How long a replica's claim on sending a message lasts before another may "
        "take it over; a send still running at 90% of it is cancelled.",
    )
    delivery_hold_seconds: float = Field(
        5,
        ge=0,
        description="How long the first send of a message waits after it became due, so that "
        "a consent withdrawal read just after the event that caused it still cancels it.",
    )
    erasure_retry_seconds: float = Field(
        30, gt=0, description="How often erasures left unfinished (a crash, a store away) resume."
    )
    delivery_poll_seconds: float = Field(
        1, gt=0, description="How often the stored schedule is scanned for due messages."
    )

    screening_public_url: str = Field(
        "http://127.0.0.1:8002",
        description="Public base URL of the screening service; diploma links point there.",
    )
    screening_url: str = Field(
        "",
        description="Base URL at which notifications asks screening for diploma links "
        "(inside the cluster); empty: the public URL.",
    )

    network_url: str = Field(
        "http://127.0.0.1:8003",
        description="Base URL at which notifications asks network for a helper's answer link "
        "to a task (inside the cluster).",
    )

    web_url: str = Field(
        "",
        description="Public base URL of the web app: messages to a guardian (diploma ready, "
        "the parents' advice) then carry the family's link, `<web_url>/family?link=...`, "
        "which intake signs. Empty: no family link.",
    )
    intake_url: str = Field(
        "",
        description="Base URL at which notifications asks intake for a family's link (inside "
        "the cluster); empty: intake's entry in VRAC_KEY_OWNER_URLS.",
    )

    @property
    def intake_base_url(self) -> str:
        return self.intake_url or self.key_owner_urls.get("intake", "")

    @model_validator(mode="after")
    def _family_links_reach_intake(self) -> Self:
        if self.web_url and not self.intake_base_url:
            raise ValueError(
                "VRAC_WEB_URL is set but intake's address is not: set VRAC_INTAKE_URL or "
                "intake in VRAC_KEY_OWNER_URLS"
            )
        return self

    @model_validator(mode="after")
    def _cluster_networks_parse(self) -> Self:
        try:
            parse_networks(self.webhook_cluster_networks)
        except ValueError as err:
            raise ValueError(f"VRAC_WEBHOOK_CLUSTER_NETWORKS: {err}") from None
        return self

    @property
    def destination_rules(self) -> DestinationRules:
        return DestinationRules(
            development=self.development,
            cluster_networks=parse_networks(self.webhook_cluster_networks),
        )
