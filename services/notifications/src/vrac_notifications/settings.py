"""Settings of the notifications service, from the environment (``VRAC_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from vrac_runtime.settings import ServiceSettings


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
    smtp_timeout_seconds: float = Field(10, gt=0, description="Timeout of one SMTP session.")

    webhook_timeout_seconds: float = Field(
        5, gt=0, description="Timeout of one webhook POST to an agency."
    )
    webhook_require_https: bool = Field(
        False, description="Refuse agency webhook URLs that are not https (turn on in production)."
    )
    delivery_max_attempts: int = Field(
        4, ge=1, le=20, description="Attempts per message (e-mail or webhook) before it fails."
    )
    delivery_backoff_seconds: float = Field(
        0.5, ge=0, description="Wait before the second attempt; doubles per attempt."
    )

    screening_public_url: str = Field(
        "http://127.0.0.1:8002",
        description="Public base URL of the screening service; diploma links point there.",
    )
    diploma_link_days: int = Field(
        60, ge=1, le=366, description="How long the signed diploma link in a message opens it."
    )
