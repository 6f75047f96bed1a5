"""Where tests find Kafka and MongoDB, in order of preference.

1. Explicit ``KAFKA_BOOTSTRAP_SERVERS`` / ``MONGODB_URL`` win.
2. Where a Docker engine answers: testcontainers with the official Kafka and MongoDB images.
3. Else the local stack (``deploy/local/stack.py``), started here when it is not running, and
   stopped again at the end of the session if this harness started it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

KAFKA_IMAGE = "apache/kafka:4.1.1"
MONGO_IMAGE = "mongo:8.0"


def repo_root() -> Path:
    """The checkout this test run belongs to (the folder holding deploy/local/stack.py)."""
    explicit = os.environ.get("VRAC_REPO_ROOT")
    if explicit:
        return Path(explicit)
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "deploy" / "local" / "stack.py").exists():
                return folder
    raise RuntimeError("cannot find the repository root (set VRAC_REPO_ROOT)")


def docker_engine_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run([docker, "info"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def stack(command: str) -> subprocess.CompletedProcess[str]:
    script = repo_root() / "deploy" / "local" / "stack.py"
    return subprocess.run(
        [sys.executable, str(script), command], capture_output=True, text=True, timeout=900
    )


def local_stack_ports() -> tuple[int, int]:
    return int(os.environ.get("VRAC_KAFKA_PORT", "9092")), int(
        os.environ.get("VRAC_MONGO_PORT", "27017")
    )


def state_folder(repo: Path | None = None) -> Path:
    """The local stack's state folder, by the rule of ``stack.py``'s ``state_folder``:
    ``VRAC_STATE_DIR``, else ``.state`` on the default ports, ``.state/stack-<kafka
    port>-<mongo port>`` on others."""
    explicit = os.environ.get("VRAC_STATE_DIR")
    if explicit:
        return Path(explicit)
    root = (repo or repo_root()) / ".state"
    ports = local_stack_ports()
    return root if ports == (9092, 27017) else root / f"stack-{ports[0]}-{ports[1]}"


def secured_listener() -> dict[str, str] | None:
    """How to reach the local stack's SASL_SSL listener (written by ``stack.py up``):
    bootstrap_servers, security_protocol, sasl_mechanism, username, password, cafile."""
    described = state_folder() / "tls" / "client.json"
    if not described.exists():
        return None
    found: dict[str, str] = json.loads(described.read_text())
    return found


@dataclass
class Infrastructure:
    kafka_bootstrap: str
    mongodb_url: str
    source: str
    _cleanups: list[Callable[[], object]] = field(default_factory=list)

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            cleanup()


def provide() -> Infrastructure:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo = os.environ.get("MONGODB_URL")
    if kafka and mongo:
        return Infrastructure(kafka, mongo, "environment")
    if docker_engine_answers():
        return _containers(kafka, mongo)
    return _local_stack(kafka, mongo)


def _containers(kafka: str | None, mongo: str | None) -> Infrastructure:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    infra = Infrastructure("", "", "testcontainers")
    if not kafka:
        container = KafkaContainer(KAFKA_IMAGE).with_kraft()
        container.start()
        infra._cleanups.append(container.stop)
        kafka = container.get_bootstrap_server()
    if not mongo:
        mongo_container = MongoDbContainer(MONGO_IMAGE)
        mongo_container.start()
        infra._cleanups.append(mongo_container.stop)
        mongo = mongo_container.get_connection_url()
    infra.kafka_bootstrap, infra.mongodb_url = kafka, mongo
    return infra


def _local_stack(kafka: str | None, mongo: str | None) -> Infrastructure:
    status = stack("status").stdout
    # Kafka and the store; Keycloak (when it runs) is not what this harness provides
    ours = [
        line
        for line in status.splitlines()
        if line.startswith(("kafka ", "ferretdb ", "postgres "))
    ]
    was_running = bool(ours) and not any(" stopped " in line for line in ours)
    if not was_running:
        started = stack("up")
        if started.returncode != 0:
            raise RuntimeError(f"the local stack did not start: {started.stderr.strip()}")
    kafka_port, mongo_port = local_stack_ports()
    infra = Infrastructure(
        kafka or f"127.0.0.1:{kafka_port}",
        mongo or f"mongodb://127.0.0.1:{mongo_port}",
        "local stack",
    )
    if not was_running:
        infra._cleanups.append(lambda: stack("down"))
    return infra
