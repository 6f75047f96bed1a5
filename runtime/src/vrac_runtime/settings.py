"""Configuration from the environment: ``VRAC_*`` variables, plus the standard names."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vrac_runtime.auth import SigningKeys
from vrac_runtime.keks import DEVELOPMENT_KEK, KeyEncryptionKeys

KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class ServiceSettings(BaseSettings):
    """Settings every service shares. Each service sets ``service_name``."""

    # hide_input_in_errors: a configuration error must never print a password back
    model_config = SettingsConfigDict(
        env_prefix="VRAC_", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    service_name: str = Field("vrac", description="Name used in logs, client ids and groups.")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("VRAC_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka bootstrap servers, comma separated.",
    )
    kafka_security_protocol: KafkaProtocol = Field(
        "PLAINTEXT",
        description="PLAINTEXT, SSL (TLS, optionally with a client certificate), SASL_PLAINTEXT "
        "or SASL_SSL (a SCRAM user over TLS, as Strimzi's scram-sha-512 users).",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        "SCRAM-SHA-512", description="SASL mechanism: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN."
    )
    kafka_sasl_username: str = Field("", description="SASL user (the KafkaUser's name).")
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password (the `password` key of the KafkaUser's secret)."
    )
    kafka_ssl_cafile: str = Field(
        "",
        description="PEM file of the CA that signed the brokers' certificates "
        "(Strimzi: `ca.crt` of `<cluster>-cluster-ca-cert`); empty: the system's CAs.",
    )
    kafka_ssl_certfile: str = Field(
        "", description="Client certificate (PEM) for mutual TLS (Strimzi tls users: `user.crt`)."
    )
    kafka_ssl_keyfile: str = Field(
        "", description="Key of the client certificate (PEM; Strimzi tls users: `user.key`)."
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
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest request body accepted, in bytes; a larger one gets 413 before "
        "it is parsed or its token checked.",
    )
    # bearer tokens, service tokens and links (see vrac_runtime.auth, deploy/README.md)
    development: bool = Field(
        False,
        description="Marks a development deployment (a local stack): development keys and "
        "issuer are accepted, a service may start without trusted issuers or signing keys, "
        "and agency webhooks may use plain http and loopback addresses. Never set in "
        "production.",
    )
    trusted_issuers: dict[str, str] = Field(
        default_factory=dict,
        description="Issuers of user tokens, as JSON: `iss` value -> its JWKS URL (an OpenID "
        "Connect provider's `.../protocol/openid-connect/certs`).",
    )
    trusted_services: dict[str, str] = Field(
        default_factory=dict,
        description="Peer services whose calls this one accepts, as JSON: service name -> "
        "base URL; their keys are read at `<url>/.well-known/jwks.json`.",
    )
    signing_keys: SecretStr = Field(
        SecretStr(""),
        description="This service's signing keys: a JWK set of private Ed25519 keys; the "
        "first signs, all are published (`python -m vrac_runtime.auth keygen`).",
    )
    jwks_cache_seconds: float = Field(
        3600, gt=0, description="How long a fetched JWKS document is used before a new fetch."
    )
    jwks_refresh_seconds: float = Field(
        30,
        ge=0,
        description="A token naming an unknown key id fetches its issuer's JWKS again at most "
        "this often.",
    )
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
    handler_deadline_seconds: float = Field(
        300,
        gt=0,
        description="Total time for one record: every attempt and backoff together; a record "
        "still failing then is dead-lettered with reason `deadline`. At least one handler "
        "timeout: checked at start-up.",
    )
    max_poll_interval_ms: int = Field(
        360_000,
        description="Kafka max.poll.interval.ms; at least twice the handler timeout: checked "
        "at start-up. The consumer polls while records are handled; a revocation waits at "
        "most this long for the records in flight.",
    )
    consumer_max_in_flight: int = Field(
        8,
        ge=1,
        description="Records a consumer group holds at once, fetched and not yet finished: "
        "records of different cases are handled concurrently, those of one case in order. "
        "1 handles one record at a time; on MongoDB 64 pays (FerretDB on SQLite refuses "
        "that many concurrent writers).",
    )
    relay_interval_seconds: float = Field(
        0.5,
        gt=0,
        description=(
            "How often the outbox relay looks for pending events that no write told it about "
            "(a write that queues events wakes it at once; this catches what an earlier "
            "process left)."
        ),
    )
    startup_timeout_seconds: float = Field(
        60,
        gt=0,
        description="Each start-up step (indexes, topics, Kafka clients) must finish "
        "within this; one that does not stops the start with an error naming it.",
    )
    shutdown_grace_seconds: float = Field(
        15, ge=0, description="How long a stopping service waits for running handlers."
    )
    ready_stall_seconds: float = Field(
        120,
        gt=0,
        description="Readiness fails when records wait in a consumer group and none has "
        "been handled (or dead-lettered) for this long.",
    )
    ready_assignment_grace_seconds: float = Field(
        60,
        gt=0,
        description="Readiness fails when a consumer group has had no partition assigned for "
        "this long (after start-up, or after it left its group).",
    )
    ready_relay_failing_seconds: float = Field(
        300,
        gt=0,
        description="Readiness fails when the outbox relay has had a topic failing for this long.",
    )
    # crypto-shredding (see vrac_runtime.sealing and deploy/README.md, "Keys and erasure")
    key_encryption_keys: SecretStr = Field(
        SecretStr(DEVELOPMENT_KEK),
        description=(
            "Key-encryption keys that wrap the data keys this service owns: "
            "`kid:base64url-of-32-bytes`, comma-separated, the first wraps new keys."
        ),
    )
    key_owner_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Base URL of each service whose sealed data this one reads, as JSON: "
        '`{"intake": "http://intake:8001"}`.',
    )
    key_cache_seconds: float = Field(
        300, gt=0, description="How long a fetched data key is kept in memory."
    )

    @model_validator(mode="after")
    def _kafka_security_is_complete(self) -> Self:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError(
                f"VRAC_KAFKA_SECURITY_PROTOCOL={protocol} needs VRAC_KAFKA_SASL_USERNAME "
                "and VRAC_KAFKA_SASL_PASSWORD"
            )
        tls_files = {
            "VRAC_KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "VRAC_KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "VRAC_KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
        }
        given = {name: path for name, path in tls_files.items() if path}
        if given and not protocol.endswith("SSL"):
            raise ValueError(f"{', '.join(given)} only apply with SSL or SASL_SSL, not {protocol}")
        for name, path in given.items():
            if not Path(path).is_file():
                raise ValueError(f"{name}: no such file: {path}")
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("VRAC_KAFKA_SSL_CERTFILE and VRAC_KAFKA_SSL_KEYFILE go together")
        return self

    @model_validator(mode="after")
    def _key_encryption_keys_parse(self) -> Self:
        try:
            KeyEncryptionKeys.parse(self.key_encryption_keys.get_secret_value())
        except ValueError as err:  # the message names the kid, never the key
            raise ValueError(f"VRAC_KEY_ENCRYPTION_KEYS: {err}") from None
        return self

    @model_validator(mode="after")
    def _signing_keys_parse(self) -> Self:
        if self.signing_keys.get_secret_value():
            try:
                SigningKeys.parse(self.signing_keys.get_secret_value())
            except ValueError as err:  # the message names the kid, never the key
                raise ValueError(f"VRAC_SIGNING_KEYS: {err}") from None
        return self

    @property
    def own_signing_keys(self) -> SigningKeys:
        """The keys this service signs with; in development without any, its development key."""
        text = self.signing_keys.get_secret_value()
        if text:
            return SigningKeys.parse(text)
        return SigningKeys.development(self.service_name)

    @property
    def keks(self) -> KeyEncryptionKeys:
        return KeyEncryptionKeys.parse(self.key_encryption_keys.get_secret_value())

    @property
    def development_keks(self) -> bool:
        return self.key_encryption_keys.get_secret_value() == DEVELOPMENT_KEK

    @model_validator(mode="after")
    def _a_record_fits_in_the_poll_interval(self) -> Self:
        # A revocation waits up to max.poll.interval.ms (Kafka's rebalance timeout) for the
        # records in flight: an attempt, with the dead-letter publish and the commit after
        # it, must fit in it, or the record is handed over unfinished and comes back.
        timeout = self.handler_timeout_seconds
        if timeout * 2000 > self.max_poll_interval_ms:
            raise ValueError(
                f"VRAC_MAX_POLL_INTERVAL_MS={self.max_poll_interval_ms} is less than twice "
                f"VRAC_HANDLER_TIMEOUT_SECONDS={timeout:g}: one attempt must leave half the "
                "poll interval for the dead-letter publish and the commit; raise the first or "
                "lower the second"
            )
        if self.handler_deadline_seconds < timeout:
            raise ValueError(
                f"VRAC_HANDLER_DEADLINE_SECONDS={self.handler_deadline_seconds:g} is shorter "
                f"than VRAC_HANDLER_TIMEOUT_SECONDS={timeout:g}: a record's deadline must leave "
                "room for at least one whole attempt"
            )
        return self

    @property
    def record_deadline_seconds(self) -> float:
        """The longest one record can take: its deadline, or sooner every attempt timing out
        and every backoff waited."""
        backoffs = sum(
            min(self.handler_backoff_seconds * 2**n, 5.0)
            for n in range(self.handler_max_attempts - 1)
        )
        worst = self.handler_timeout_seconds * self.handler_max_attempts + backoffs
        return min(worst, self.handler_deadline_seconds)

    @property
    def database(self) -> str:
        return self.mongodb_database or f"vrac_{self.service_name}"

    def topic(self, name: str) -> str:
        """The physical name of a catalogue topic in this deployment."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
