"""Configuration from the environment: ``VRAC_*`` variables, plus the standard names."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service shares. Each service sets ``service_name``."""

    model_config = SettingsConfigDict(env_prefix="VRAC_", extra="ignore", populate_by_name=True)

    service_name: str = Field("vrac", description="Name used in logs, client ids and groups.")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("VRAC_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka bootstrap servers, comma separated.",
    )
    mongodb_url: str = Field(
        "mongodb://127.0.0.1:27017",
        validation_alias=AliasChoices("VRAC_MONGODB_URL", "MONGODB_URL"),
        description="MongoDB connection string (MongoDB or FerretDB).",
    )
    mongodb_database: str = Field(
        "", description="Database of this service; empty means vrac_<service_name>."
    )
    topic_prefix: str = Field(
        "", description="Prepended to every topic and consumer group (test isolation)."
    )
    create_topics: bool = Field(
        True, description="Create missing topics at start-up (off where Strimzi owns topics)."
    )
    topic_partitions: int = Field(3, ge=1, description="Partitions of topics created here.")
    http_host: str = Field("127.0.0.1", description="HTTP listen address.")
    http_port: int = Field(8000, ge=0, le=65535, description="HTTP listen port.")
    jwt_secret: SecretStr = Field(
        SecretStr("local-development-secret-change-me-in-production"),
        description="HMAC secret that signs bearer tokens.",
    )
    jwt_issuer: str = Field("vrac", description="Expected `iss` claim of bearer tokens.")
    log_level: str = Field("INFO", description="Log level.")
    handler_max_attempts: int = Field(
        5, ge=1, description="Attempts of a failing handler before dead-lettering."
    )
    handler_backoff_seconds: float = Field(
        0.2, ge=0, description="First retry delay; doubles per attempt, capped at 5 s."
    )
    handler_timeout_seconds: float = Field(
        60, gt=0, description="A handler running longer is cancelled and retried."
    )
    max_poll_interval_ms: int = Field(
        300_000, description="Kafka max.poll.interval.ms; above the handler timeout x attempts."
    )
    relay_interval_seconds: float = Field(
        0.5, gt=0, description="How often the outbox relay looks for pending events."
    )
    shutdown_grace_seconds: float = Field(
        15, ge=0, description="How long a stopping service waits for running handlers."
    )

    @property
    def database(self) -> str:
        return self.mongodb_database or f"vrac_{self.service_name}"

    def topic(self, name: str) -> str:
        """The physical name of a catalogue topic in this deployment."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
