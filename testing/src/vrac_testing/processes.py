"""Run the five services as separate processes on this machine, as an operator would.

Used by the end-to-end tests, ``make demo`` and ``make bench``: each service gets its own
port, database and log file, and the same Kafka, store and topic prefix. ``start`` returns
when every service answers ``/health/ready``; ``stop`` sends SIGTERM (graceful shutdown) and
waits. Fault tests add replicas of a service (``add_replica``: same database, groups and
topics, its own port) and ``kill`` one with SIGKILL, then ``start`` it again.
``service_process`` runs one of them for a test of that service.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import new_envelope
from vrac_contracts.events.base import EventData

from vrac_testing.kafka import publish_to, read_all
from vrac_testing.tokens import bearer

if TYPE_CHECKING:
    from vrac_testing.sinks import SmtpSink

SERVICES = ("intake", "screening", "network", "notifications", "reporting")


_GIVEN: set[int] = set()


def free_port() -> int:
    """A port free now, outside the kernel's range of ephemeral ports: a port picked from that
    range can be taken by some client's outgoing connection before our server binds it."""
    low, high = _ephemeral_ports()
    candidates = [p for p in range(10000, 30000) if not low <= p <= high and p not in _GIVEN]
    for port in random.sample(candidates, 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            _GIVEN.add(port)  # never handed out twice by this process
            return port
    raise RuntimeError("no free port found outside the ephemeral range")


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


@dataclass
class ServiceProcess:
    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    service: str = ""  # which of SERVICES this process runs; a replica's differs from its name

    def __post_init__(self) -> None:
        self.service = self.service or self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wait_ready(service: ServiceProcess, timeout: float) -> None:
    """Returns when ``service`` answers ``/health/ready``; raises when it exits first or is
    not ready by ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process is not None and service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited at start-up; see {service.log}")
        try:
            if httpx.get(f"{service.url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{service.name} not ready within {timeout:.0f} s; see {service.log}")


@dataclass
class Platform:
    """The five services of one deployment (one topic prefix, one set of databases)."""

    kafka_bootstrap: str
    mongodb_url: str
    prefix: str
    logs: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    peers: set[str] = field(default_factory=set)  # services started here, whose keys others read

    def __post_init__(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            self.services[name] = ServiceProcess(name, free_port(), self.logs / f"{name}.log")

    def url(self, name: str) -> str:
        return self.services[name].url

    def add_replica(self, service: str) -> str:
        """One more process of ``service`` (same settings, database and consumer groups, its
        own port and log); returns its name, e.g. ``notifications-2``. Start it with
        ``start((name,))``."""
        count = sum(1 for p in self.services.values() if p.service == service)
        name = f"{service}-{count + 1}"
        self.services[name] = ServiceProcess(
            name, free_port(), self.logs / f"{name}.log", service=service
        )
        return name

    def env(self, name: str) -> dict[str, str]:
        db_prefix = self.prefix.rstrip(".").replace(".", "_")
        service = self.services[name].service
        database = f"{db_prefix}_vrac_{service}" if db_prefix else f"vrac_{service}"
        values = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "MONGODB_URL": self.mongodb_url,
            "VRAC_TOPIC_PREFIX": self.prefix,
            "VRAC_MONGODB_DATABASE": database,
            "VRAC_HTTP_PORT": str(self.services[name].port),
            # development keys and issuer, the way a local stack runs; each service reads
            # its peers' public keys from their JWKS routes, as a deployment does
            "VRAC_DEVELOPMENT": "true",
            "VRAC_TRUSTED_SERVICES": json.dumps({s: self.url(s) for s in sorted(self.peers)}),
            "VRAC_SCREENING_PUBLIC_URL": self.url("screening"),
            "VRAC_NETWORK_URL": self.url("network"),  # notifications asks it for answer links
            # the owners of sealed personal data, whose data keys the readers fetch
            "VRAC_KEY_OWNER_URLS": json.dumps(
                {owner: self.url(owner) for owner in ("intake", "network")}
            ),
            "VRAC_TOPIC_PARTITIONS": "3",
            "PYTHONUNBUFFERED": "1",
        }
        values.update(self.extra_env)
        return values

    def start(self, names: tuple[str, ...] = SERVICES, timeout: float = 90.0) -> None:
        self.peers |= {self.services[name].service for name in names}
        for name in names:
            service = self.services[name]
            with service.log.open("ab") as out:
                service.process = subprocess.Popen(
                    [sys.executable, "-m", f"vrac_{service.service}"],
                    env=self.env(name),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
        try:
            for name in names:
                wait_ready(self.services[name], timeout)
        except BaseException:
            self.stop()
            raise

    def kill(self, name: str) -> None:
        """SIGKILL one process, as a crash or an out-of-memory kill would end it: no shutdown
        step runs, nothing is flushed or committed."""
        service = self.services[name]
        if service.process is None:
            raise RuntimeError(f"{name} is not running")
        service.process.kill()
        service.process.wait()
        service.process = None

    def stop(self, names: tuple[str, ...] | None = None) -> None:
        """SIGTERM and wait for ``names`` (default: every process of this platform)."""
        names = tuple(self.services) if names is None else names
        running = [self.services[n] for n in names if self.services[n].process is not None]
        for service in running:
            assert service.process is not None
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in running:
            assert service.process is not None
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
            service.process = None


@dataclass
class OneService:
    """One service of a ``Platform``, running as its own process, with what a test of it
    needs: its URL, a token, sending events to it and reading what it published."""

    platform: Platform
    name: str
    returncode: int | None = None

    @property
    def url(self) -> str:
        return self.platform.url(self.name)

    @property
    def log(self) -> str:
        return self.process.log.read_text()

    @property
    def process(self) -> ServiceProcess:
        return self.platform.services[self.name]

    def auth(self, subject: str = "u-1", role: str = "coach", pilot: str = "leiden") -> dict:
        return bearer(role, pilot, subject)

    async def publish(self, *events: EventData) -> None:
        """Send events to the service exactly as their producers would."""
        envelopes = [new_envelope(event) for event in events]
        await publish_to(self.platform.kafka_bootstrap, self.platform.prefix, *envelopes)

    async def published(self, model: type[BaseModel], expect: int = 1) -> list[Any]:
        """The raw records on one event type's topic (``expect`` of them, or fewer in time)."""
        topic = self.platform.prefix + spec_for(model).topic
        return await read_all(self.platform.kafka_bootstrap, topic, expect=expect)

    @property
    def stopped_gracefully(self) -> bool:
        """The lifespan ran to its end (uvicorn then re-raises SIGTERM as it exits)."""
        return self.returncode in (0, -signal.SIGTERM)


@asynccontextmanager
async def service_process(
    name: str, kafka_bootstrap: str, mongodb_url: str, test_prefix: str, logs: Path
) -> AsyncIterator[OneService]:
    """Start one service as a process under the test's prefix and wait until it is ready;
    afterwards stop it (its exit code in ``returncode``) and drop its database."""
    platform = Platform(kafka_bootstrap, mongodb_url, f"{test_prefix}.", logs)
    await asyncio.to_thread(platform.start, (name,))
    one = OneService(platform, name)
    try:
        yield one
    finally:
        process = platform.services[name].process
        await asyncio.to_thread(platform.stop, (name,))
        one.returncode = None if process is None else process.returncode
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
        await client.drop_database(platform.env(name)["VRAC_MONGODB_DATABASE"])
        await client.close()


def journey_platform(
    kafka_bootstrap: str, mongodb_url: str, prefix: str, folder: Path, smtp: SmtpSink
) -> Platform:
    """The five services under ``prefix``, mailing to ``smtp``, logging into ``folder``."""
    return Platform(
        kafka_bootstrap,
        mongodb_url,
        f"{prefix}.",
        folder / "logs",
        extra_env={
            "VRAC_SMTP_HOST": "127.0.0.1",
            "VRAC_SMTP_PORT": str(smtp.port),
            "VRAC_DEVELOPMENT": "true",  # plain-http webhook receiver on loopback
        },
    )
