#!/usr/bin/env python3
"""The local stack: Apache Kafka (KRaft, one node) and FerretDB on PostgreSQL (or SQLite), as
plain processes.

    python3 deploy/local/stack.py up|down|status
    python3 deploy/local/stack.py kafka-stop|kafka-start
    python3 deploy/local/stack.py keycloak-start|keycloak-stop

``kafka-stop`` and ``kafka-start`` stop and start the broker alone, on the same storage, for
tests of what the services do while Kafka is away; ``kafka-start`` returns once it serves.
``keycloak-start`` starts the identity provider (``keycloak.py``), which ``up`` leaves out
(it costs half a minute and half a gigabyte); ``down`` stops it too.

Standard library only, so it runs before any virtual environment exists. Everything listens
on 127.0.0.1. Data, logs and pid files live in the state folder (``VRAC_STATE_DIR``, default
``.state/`` in the repository, ``.state/stack-<kafka port>-<mongo port>/`` on other ports); the
Kafka classpath and the FerretDB binary are cached in
``VRAC_CACHE_DIR`` (default ``~/.cache/vrac``) so later runs, and other clones, reuse them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TextIO

HERE = Path(__file__).resolve().parent

REPO = HERE.parent.parent
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"
# The secured listener's credentials: for this machine's local stack only, never a deployment.
SCRAM_USER = "vrac-local"
SCRAM_PASSWORD = "vrac-local-password"
TLS_STORE_PASSWORD = "vrac-local-keystore"
KEYSTORE = "broker.p12"
CA_FILE = "ca.pem"


class StackError(Exception):
    """A problem the operator can fix; printed as one line."""


# FerretDB's backends: PostgreSQL by default (its cost does not grow with the data, see
# bench/README.md); SQLite needs no PostgreSQL binaries.
STORES = ("postgresql", "sqlite")


def _sibling(name: str) -> ModuleType:
    """A module of this folder, however this file itself was loaded (script or test)."""
    spec = importlib.util.spec_from_file_location(f"vrac_local_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


idp = _sibling("keycloak")
pg = _sibling("postgres")


# --- saying what happens ------------------------------------------------------------------


class Steps:
    """Says each step as it starts and how long it took, and every ``every`` seconds of a long
    one that it still works, so a first run that spends minutes in Maven or Go never looks
    hung. Lines go to stdout; errors stay one line on stderr."""

    def __init__(
        self,
        out: TextIO | None = None,
        every: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out = out
        self.every = every
        self._clock = clock
        self._printing = threading.Lock()

    def say(self, line: str) -> None:
        with self._printing:
            out = self._out or sys.stdout
            print(line, file=out, flush=True)

    @contextlib.contextmanager
    def __call__(self, what: str, log: Path | None = None) -> Iterator[None]:
        started = self._clock()
        where = f"; log: {log}" if log else ""
        self.say(f"{what} ...")
        finished = threading.Event()

        def still_working() -> None:
            while not finished.wait(self.every):
                elapsed = self._clock() - started
                self.say(f"  still {what} ({elapsed:.0f} s so far{where})")

        beat = threading.Thread(target=still_working, name="stack-progress", daemon=True)
        beat.start()
        try:
            yield
        except BaseException:
            finished.set()
            beat.join()
            self.say(f"{what}: failed after {self._clock() - started:.1f} s")
            raise
        finished.set()
        beat.join()
        self.say(f"{what}: done in {self._clock() - started:.1f} s")


step = Steps()


def state_folder(env: Mapping[str, str], kafka_port: int, mongo_port: int) -> Path:
    """``VRAC_STATE_DIR``, else ``.state`` for the default ports and ``.state/stack-<kafka
    port>-<mongo port>`` for others, so a second stack of one checkout keeps its own pids and
    data. ``vrac_testing.infrastructure.state_folder`` follows the same rule."""
    if "VRAC_STATE_DIR" in env:
        return Path(env["VRAC_STATE_DIR"]).resolve()
    if (kafka_port, mongo_port) == (9092, 27017):
        return (REPO / ".state").resolve()
    return (REPO / ".state" / f"stack-{kafka_port}-{mongo_port}").resolve()


@dataclass(frozen=True)
class Config:
    state: Path
    cache: Path
    kafka_port: int
    controller_port: int
    sasl_port: int
    mongo_port: int
    timeout: float
    kafka_heap: str
    store: str = "postgresql"
    postgres_port: int = 27018

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ
        cache_home = Path(env.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        kafka_port = _port(env, "VRAC_KAFKA_PORT", 9092)
        mongo_port = _port(env, "VRAC_MONGO_PORT", 27017)
        store = env.get("VRAC_LOCAL_STORE", "postgresql")
        if store not in STORES:
            raise StackError(f"VRAC_LOCAL_STORE={store!r} is not one of {', '.join(STORES)}")
        return cls(
            state=state_folder(env, kafka_port, mongo_port),
            cache=Path(env.get("VRAC_CACHE_DIR", cache_home / "vrac")).resolve(),
            kafka_port=kafka_port,
            controller_port=_port(env, "VRAC_KAFKA_CONTROLLER_PORT", kafka_port + 1),
            sasl_port=_port(env, "VRAC_KAFKA_SASL_PORT", kafka_port + 2),
            mongo_port=mongo_port,
            timeout=float(env.get("VRAC_STACK_TIMEOUT", "120")),
            kafka_heap=env.get("VRAC_KAFKA_HEAP", "1g"),
            store=store,
            postgres_port=_port(env, "VRAC_POSTGRES_PORT", mongo_port + 1),
        )

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def tls(self) -> Path:
        return self.state / "tls"


def _port(env: os._Environ[str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StackError(f"{name}={raw!r} is not a TCP port number")
    return int(raw)


# --- tools -------------------------------------------------------------------------------


def require_tool(name: str, what: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(f"'{name}' was not found on PATH: install {what}")
    return path


def require_java() -> str:
    java = require_tool(
        "java", "a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
    )
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    try:
        major = int(out.split('"')[1].split(".")[0])
    except (IndexError, ValueError):
        major = 0
    if major < 17:
        raise StackError(f"Kafka 4 needs Java 17 or newer; '{java}' is {out.splitlines()[0:1]}")
    return java


# --- building blocks, cached ---------------------------------------------------------------


def kafka_classpath(cfg: Config, pom: Path = HERE / "pom.xml") -> str:
    """The classpath of a pom's jars (the broker's by default), resolved by Maven once per
    pom and cached."""
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:16]
    cached = cfg.cache / f"kafka-classpath-{digest}.txt"
    if cached.exists():
        classpath = cached.read_text().strip()
        if all(Path(jar).exists() for jar in classpath.split(os.pathsep)):
            return classpath
    mvn = require_tool("mvn", "Apache Maven 3 (Debian: apt-get install maven)")
    cfg.cache.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    log = cfg.logs / "maven.log"
    with (
        step("resolving the Kafka jars with Maven (first run only, a few minutes)", log),
        log.open("w") as out,
    ):
        done = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:build-classpath",
                f"-Dmdep.outputFile={tmp}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0 or not tmp.exists():
        raise StackError(f"Maven could not resolve the Kafka jars; see {log}")
    tmp.replace(cached)
    return cached.read_text().strip()


def ferretdb_binary(cfg: Config) -> Path:
    """FerretDB built from its Go module at the pinned version, once, then reused."""
    binary = cfg.cache / "ferretdb" / FERRETDB_VERSION / "ferretdb"
    if binary.exists():
        return binary
    go = require_tool("go", "Go 1.22 or newer (https://go.dev/doc/install or Debian: golang)")
    log = cfg.logs / "ferretdb-build.log"
    binary.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out, tempfile.TemporaryDirectory() as work:
        with step(f"downloading FerretDB {FERRETDB_VERSION}'s Go module (first run only)", log):
            found = subprocess.run(
                [go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
                capture_output=True,
                text=True,
                cwd=work,
            )
        out.write(found.stdout + found.stderr)
        out.flush()
        source_dir = _json_field(found.stdout, "Dir")
        if found.returncode != 0 or not source_dir:
            raise StackError(f"Go could not download FerretDB {FERRETDB_VERSION}; see {log}")
        source = Path(work) / "ferretdb"
        shutil.copytree(source_dir, source)
        for path in source.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
        # The version package embeds this file; a module download does not contain it.
        (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        with step(f"building FerretDB {FERRETDB_VERSION} with Go (first run only)", log):
            built = subprocess.run(
                [go, "build", "-trimpath", "-o", str(binary.with_suffix(".tmp")), "./cmd/ferretdb"],
                cwd=source,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    if built.returncode != 0:
        raise StackError(f"building FerretDB {FERRETDB_VERSION} failed; see {log}")
    binary.with_suffix(".tmp").replace(binary)
    return binary


def _json_field(text: str, field: str) -> str:
    import json

    try:
        value = json.loads(text).get(field, "")
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


# --- processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    name: str
    port: int
    stop_signal: int = signal.SIGTERM

    def pidfile(self, cfg: Config) -> Path:
        return cfg.run / f"{self.name}.pid"

    def pid(self, cfg: Config) -> int | None:
        """The pid of our own running process, or None (a stale file is removed)."""
        path = self.pidfile(cfg)
        try:
            pid = int(path.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            return None
        # A pid can be reused: only our own child (which may not have exec'd yet) or a
        # process that names our state folder is ours.
        if _parent(pid) != os.getpid() and str(cfg.state).encode() not in cmdline:
            path.unlink(missing_ok=True)
            return None
        return pid


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def kafka(cfg: Config) -> Component:
    return Component("kafka", cfg.kafka_port)


def ferretdb(cfg: Config) -> Component:
    return Component("ferretdb", cfg.mongo_port)


def postgres(cfg: Config) -> Component:
    # SIGINT: PostgreSQL's fast shutdown, which does not wait for clients to disconnect.
    return Component("postgres", cfg.postgres_port, signal.SIGINT)


def stores(cfg: Config) -> list[Component]:
    """The store's processes, in the order they start."""
    if cfg.store == "sqlite":
        return [ferretdb(cfg)]
    return [postgres(cfg), ferretdb(cfg)]


def keycloak(cfg: Config) -> Component:
    return Component("keycloak", idp.Settings.from_env().port)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def spawn(
    cfg: Config, comp: Component, argv: list[str], log: Path, env: dict[str, str] | None = None
) -> int:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cfg.state,
        )
    comp.pidfile(cfg).write_text(str(proc.pid))
    return proc.pid


def stop(cfg: Config, comp: Component) -> bool:
    pid = comp.pid(cfg)
    if pid is None:
        return False
    os.kill(pid, comp.stop_signal)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    comp.pidfile(cfg).unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- readiness probes: real protocol requests, not sleeps -------------------------------------


def kafka_metadata_answers(port: int) -> bool:
    """Send a Kafka Metadata request (v4) and check that at least one broker is listed."""
    client = b"vrac-stack"
    header = struct.pack(">hhih", 3, 4, 7, len(client)) + client
    body = struct.pack(">ib", -1, 0)  # all topics, no auto-creation
    request = header + body
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _recv(sock, 4))[0]
            reply = _recv(sock, size)
    except (OSError, struct.error):
        return False
    correlation, _throttle, brokers = struct.unpack(">iii", reply[:12])
    return correlation == 7 and brokers >= 1


def mongo_ping_answers(port: int) -> bool:
    """Send a MongoDB OP_MSG ``ping`` and check for ``ok: 1``."""
    doc = _bson({"ping": 1, "$db": "admin"})
    message = struct.pack("<I", 0) + b"\x00" + doc
    header = struct.pack("<iiii", 16 + len(message), 1, 0, 2013)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(header + message)
            size = struct.unpack("<i", _recv(sock, 4))[0]
            reply = _recv(sock, size - 4)
    except (OSError, struct.error):
        return False
    ok_double = b"\x01ok\x00" + struct.pack("<d", 1.0)
    return ok_double in reply


def _bson(doc: dict[str, int | str]) -> bytes:
    body = b""
    for key, value in doc.items():
        name = key.encode() + b"\x00"
        if isinstance(value, int):
            body += b"\x10" + name + struct.pack("<i", value)
        else:
            raw = value.encode() + b"\x00"
            body += b"\x02" + name + struct.pack("<i", len(raw)) + raw
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _recv(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def postgres_answers(port: int) -> bool:
    try:
        return pg.is_ready(pg.bin_dir(), port)
    except pg.PostgresError:
        return False


PROBES = {
    "kafka": kafka_metadata_answers,
    "ferretdb": mongo_ping_answers,
    "postgres": postgres_answers,
    "keycloak": idp.realm_answers,
}


def wait_ready(cfg: Config, comp: Component, log: Path) -> None:
    deadline = time.monotonic() + cfg.timeout
    while time.monotonic() < deadline:
        if PROBES[comp.name](comp.port):
            return
        pid = comp.pid(cfg)
        if pid is None or not _alive(pid):
            raise StackError(f"{comp.name} exited during start-up; see {log}")
        time.sleep(0.3)
    raise StackError(f"{comp.name} did not become ready within {cfg.timeout:.0f} s; see {log}")


# --- starting each component ----------------------------------------------------------------


def kafka_properties(cfg: Config) -> Path:
    data = cfg.state / "kafka"
    props = cfg.state / "kafka.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{cfg.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{cfg.kafka_port},"
                f"CONTROLLER://127.0.0.1:{cfg.controller_port},"
                f"SASL_SSL://127.0.0.1:{cfg.sasl_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{cfg.kafka_port},"
                f"SASL_SSL://127.0.0.1:{cfg.sasl_port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map="
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL",
                # the secured listener, as Strimzi's scram users meet it: SCRAM over TLS
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "ssl.keystore.type=PKCS12",
                f"ssl.keystore.location={cfg.tls / KEYSTORE}",
                f"ssl.keystore.password={TLS_STORE_PASSWORD}",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={data}",
                "num.partitions=3",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "delete.topic.enable=true",
                "",
            ]
        )
    )
    return props


def broker_certificate(cfg: Config, java: str) -> None:
    """A self-signed certificate for 127.0.0.1, made once: the keystore the broker serves and
    its certificate as a PEM file clients trust (``VRAC_KAFKA_SSL_CAFILE``)."""
    if (cfg.tls / KEYSTORE).exists() and (cfg.tls / CA_FILE).exists():
        return
    cfg.tls.mkdir(parents=True, exist_ok=True)
    keytool = str(Path(java).with_name("keytool"))
    store = ["-keystore", str(cfg.tls / KEYSTORE), "-storepass", TLS_STORE_PASSWORD]
    steps = [
        [
            keytool,
            "-genkeypair",
            "-alias",
            "broker",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-validity",
            "3650",
            "-dname",
            "CN=localhost",
            "-ext",
            "SAN=dns:localhost,ip:127.0.0.1",
            "-ext",
            "bc:c",
            "-storetype",
            "PKCS12",
            *store,
        ],
        [
            keytool,
            "-exportcert",
            "-rfc",
            "-alias",
            "broker",
            *store,
            "-file",
            str(cfg.tls / CA_FILE),
        ],
    ]
    log = cfg.logs / "kafka-tls.log"
    with step("making the broker's TLS certificate", log), log.open("w") as out:
        for argv in steps:
            if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                (cfg.tls / KEYSTORE).unlink(missing_ok=True)
                raise StackError(f"making the broker certificate failed; see {out.name}")


def scram_user(cfg: Config, jvm: list[str]) -> None:
    """The local SCRAM user of the secured listener, created once per Kafka storage."""
    marker = cfg.state / "kafka" / "vrac-scram-user"
    if marker.exists():
        return
    credential = f"SCRAM-SHA-512=[iterations=4096,password={SCRAM_PASSWORD}]"
    log = cfg.logs / "kafka-scram.log"
    with step(f"creating the local SCRAM user {SCRAM_USER}", log), log.open("w") as out:
        made = subprocess.run(
            [
                *jvm,
                "kafka.admin.ConfigCommand",
                "--bootstrap-server",
                f"127.0.0.1:{cfg.kafka_port}",
                "--alter",
                "--add-config",
                credential,
                "--entity-type",
                "users",
                "--entity-name",
                SCRAM_USER,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if made.returncode != 0:
        raise StackError(f"creating the SCRAM user failed; see {log}")
    marker.write_text(SCRAM_USER + "\n")


def kafka_jvm(cfg: Config, java: str, classpath: str) -> list[str]:
    """The java command line of the broker and of its storage tool."""
    return [
        java,
        f"-Xms{cfg.kafka_heap}",
        f"-Xmx{cfg.kafka_heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
        f"-Dvrac.kafka.log={cfg.logs / 'kafka.log'}",
        f"-Dvrac.state={cfg.state}",
        "-cp",
        classpath,
    ]


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form: 16 bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def format_kafka_storage(cfg: Config, jvm: list[str], props: Path, cluster_id: str) -> None:
    """Format the storage once, standalone (this node is the whole controller quorum).

    The id goes as ``--cluster-id=<id>``, one argument: about one random id in 64 starts
    with ``-``, and as a separate argument the tool would read it as an option and fail
    ("argument --cluster-id/-t: expected one argument").
    """
    log = cfg.logs / "kafka-format.log"
    with step("formatting Kafka's storage", log), log.open("w") as out:
        formatted = subprocess.run(
            [
                *jvm,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                f"--cluster-id={cluster_id}",
                "--config",
                str(props),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if formatted.returncode != 0:
        raise StackError(f"formatting Kafka storage failed; see {log}")


def start_kafka(cfg: Config, java: str, classpath: str) -> None:
    comp = kafka(cfg)
    broker_certificate(cfg, java)
    props = kafka_properties(cfg)
    log = cfg.logs / "kafka.log"
    jvm = kafka_jvm(cfg, java, classpath)
    if not (cfg.state / "kafka" / "meta.properties").exists():
        format_kafka_storage(cfg, jvm, props, new_cluster_id())
    with step(f"starting Kafka on 127.0.0.1:{cfg.kafka_port}", log):
        spawn(cfg, comp, [*jvm, "kafka.Kafka", str(props)], cfg.logs / "kafka.out")
        wait_ready(cfg, comp, log)
    tool = [
        jvm[0],
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
        f"-Dvrac.kafka.log={cfg.logs / 'kafka-tools.log'}",
        "-cp",
        classpath,
    ]
    scram_user(cfg, tool)
    # what a client needs to use the secured listener, for tests and for trying it by hand
    (cfg.tls / "client.json").write_text(
        json.dumps(
            {
                "bootstrap_servers": f"127.0.0.1:{cfg.sasl_port}",
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "SCRAM-SHA-512",
                "username": SCRAM_USER,
                "password": SCRAM_PASSWORD,
                "cafile": str(cfg.tls / CA_FILE),
            },
            indent=2,
        )
        + "\n"
    )


def start_postgres(cfg: Config, binaries: Path) -> None:
    data = cfg.state / "postgres"
    try:
        with step("initialising PostgreSQL's data folder", cfg.logs / "postgres-init.log"):
            pg.initialise(binaries, data, cfg.logs / "postgres-init.log")
    except pg.PostgresError as err:
        raise StackError(str(err)) from None
    log = cfg.logs / "postgres.log"
    with step(f"starting PostgreSQL on 127.0.0.1:{cfg.postgres_port}", log):
        spawn(cfg, postgres(cfg), pg.server_argv(binaries, data, cfg.postgres_port), log)
        wait_ready(cfg, postgres(cfg), log)
        try:
            pg.configure(binaries, cfg.postgres_port, cfg.logs / "postgres-init.log")
        except pg.PostgresError as err:
            raise StackError(str(err)) from None


def start_ferretdb(cfg: Config, binary: Path) -> None:
    comp = ferretdb(cfg)
    data = cfg.state / "ferretdb"
    data.mkdir(exist_ok=True)
    log = cfg.logs / "ferretdb.log"
    if cfg.store == "sqlite":
        backend = ["--handler=sqlite", f"--sqlite-url=file:{data}/"]
    else:
        backend = ["--handler=postgresql", f"--postgresql-url={pg.url(cfg.postgres_port)}"]
    with step(f"starting FerretDB on 127.0.0.1:{cfg.mongo_port}", log):
        spawn(
            cfg,
            comp,
            [
                str(binary),
                *backend,
                f"--listen-addr=127.0.0.1:{cfg.mongo_port}",
                f"--state-dir={data}",
                "--debug-addr=-",
                "--telemetry=disable",
                "--log-level=warn",
            ],
            log,
        )
        wait_ready(cfg, comp, log)


def keycloak_patience(cfg: Config) -> Config:
    """Each start-dev also rebuilds Keycloak's configuration (half a minute on two busy cores)
    before it serves: it gets more than the usual timeout."""
    return replace(cfg, timeout=max(cfg.timeout, 300.0))


def start_keycloak(cfg: Config) -> None:
    """Keycloak in development mode with the generated local realm (see keycloak.py)."""
    settings = idp.Settings.from_env()
    comp = keycloak(cfg)
    if not port_is_free(comp.port):
        raise StackError(
            f"port {comp.port} on 127.0.0.1 is taken by another process; "
            "stop it or choose another port for keycloak (VRAC_KEYCLOAK_PORT)"
        )
    java = idp.find_java(settings)
    home = idp.distribution(cfg.state, cfg.logs, step)
    idp.install_realm(home)
    argv, env = idp.command(home, java, settings)
    log = cfg.logs / "keycloak.log"
    with step(f"starting Keycloak {idp.version()} on {settings.base_url}", log):
        spawn(cfg, comp, argv, log, env)
        wait_ready(keycloak_patience(cfg), comp, log)


# --- commands ----------------------------------------------------------------------------------


def describe(cfg: Config) -> list[str]:
    lines = []
    for comp, url in (
        (
            kafka(cfg),
            f"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{cfg.kafka_port} "
            f"(SASL_SSL, SCRAM-SHA-512: 127.0.0.1:{cfg.sasl_port}, "
            f"user {SCRAM_USER}, CA {cfg.tls / CA_FILE})",
        ),
        (ferretdb(cfg), f"MONGODB_URL=mongodb://127.0.0.1:{cfg.mongo_port} ({cfg.store})"),
        *[(c, f"FerretDB's backend, {pg.url(c.port)}") for c in stores(cfg)[:-1]],
        (keycloak(cfg), _keycloak_line()),
    ):
        pid = comp.pid(cfg)
        state = f"running (pid {pid})" if pid else "stopped"
        lines.append(f"{comp.name:9} {state:22} {url}")
    return lines


def _keycloak_line() -> str:
    settings = idp.Settings.from_env()
    return f"issuer {settings.issuer} (admin console: user {settings.admin})"


def up(cfg: Config) -> int:
    for folder in (cfg.state, cfg.logs, cfg.run, cfg.cache):
        folder.mkdir(parents=True, exist_ok=True)
    components = [*stores(cfg), kafka(cfg)]
    running = [c for c in components if c.pid(cfg)]
    if len(running) == len(components):
        print("stack already running; nothing started")
        print("\n".join(describe(cfg)))
        return 0
    # The store first: it starts in seconds, so a broken one fails before Kafka is up.
    todo = [c for c in components if c not in running]
    # Everything that can fail slowly or for want of a tool happens before anything starts.
    starters = {}
    if kafka(cfg) in todo:
        java = require_java()
        classpath = kafka_classpath(cfg)
        starters["kafka"] = lambda: start_kafka(cfg, java, classpath)
    if ferretdb(cfg) in todo:
        binary = ferretdb_binary(cfg)
        starters["ferretdb"] = lambda: start_ferretdb(cfg, binary)
    if postgres(cfg) in todo:
        try:
            binaries = pg.bin_dir()
            pg.as_server_user([])
        except pg.PostgresError as err:
            raise StackError(str(err)) from None
        starters["postgres"] = lambda: start_postgres(cfg, binaries)
    ports = {
        "postgres": [(cfg.postgres_port, "VRAC_POSTGRES_PORT")],
        "ferretdb": [(cfg.mongo_port, "VRAC_MONGO_PORT")],
        "kafka": [
            (cfg.kafka_port, "VRAC_KAFKA_PORT"),
            (cfg.controller_port, "VRAC_KAFKA_CONTROLLER_PORT"),
            (cfg.sasl_port, "VRAC_KAFKA_SASL_PORT"),
        ],
    }
    for comp in todo:
        for port, variable in ports[comp.name]:
            if not port_is_free(port):
                raise StackError(
                    f"port {port} on 127.0.0.1 is taken by another process; "
                    f"stop it or choose another port for {comp.name} ({variable})"
                )
    started: list[Component] = []
    try:
        for comp in todo:
            started.append(comp)
            starters[comp.name]()
    except BaseException:
        # Leave nothing half-started: stop what this call started.
        for comp in reversed(started):
            stop(cfg, comp)
        raise
    print("stack is up")
    print("\n".join(describe(cfg)))
    return 0


def down(cfg: Config) -> int:
    # whatever backend the stack was started with: FerretDB before the store under it
    for comp in (keycloak(cfg), ferretdb(cfg), postgres(cfg), kafka(cfg)):
        print(f"{comp.name:9} {'stopped' if stop(cfg, comp) else 'was not running'}")
    return 0


def status(cfg: Config) -> int:
    print("\n".join(describe(cfg)))
    return 0


def kafka_stop(cfg: Config) -> int:
    """Stop this stack's broker alone (SIGTERM, then SIGKILL after 30 s); the store stays."""
    if not stop(cfg, kafka(cfg)):
        raise StackError(f"kafka is not running from {cfg.state}; nothing stopped")
    print("kafka     stopped")
    return 0


def kafka_start(cfg: Config) -> int:
    """Start the broker again on the storage it had, and return once it serves."""
    comp = kafka(cfg)
    if comp.pid(cfg):
        print("kafka     already running; nothing started")
        return 0
    if not (cfg.state / "kafka" / "meta.properties").exists():
        raise StackError(f"no Kafka storage in {cfg.state / 'kafka'}; start the stack with 'up'")
    for port, variable in (
        (cfg.kafka_port, "VRAC_KAFKA_PORT"),
        (cfg.controller_port, "VRAC_KAFKA_CONTROLLER_PORT"),
        (cfg.sasl_port, "VRAC_KAFKA_SASL_PORT"),
    ):
        if not port_is_free(port):
            raise StackError(
                f"port {port} on 127.0.0.1 is taken by another process; "
                f"stop it or choose another port for kafka ({variable})"
            )
    java = require_java()
    classpath = kafka_classpath(cfg)
    try:
        start_kafka(cfg, java, classpath)
    except BaseException:
        stop(cfg, comp)
        raise
    print("\n".join(describe(cfg)[:1]))
    return 0


def keycloak_start(cfg: Config) -> int:
    """Start Keycloak (fetching it the first time) and return once its realm answers."""
    for folder in (cfg.state, cfg.logs, cfg.run):
        folder.mkdir(parents=True, exist_ok=True)
    if keycloak(cfg).pid(cfg):
        print("keycloak  already running; nothing started")
        # it may still be starting (another caller's keycloak-start): wait for the realm
        wait_ready(keycloak_patience(cfg), keycloak(cfg), cfg.logs / "keycloak.log")
    else:
        try:
            start_keycloak(cfg)
        except BaseException:
            stop(cfg, keycloak(cfg))
            raise
    print("\n".join(describe(cfg)[2:]))
    return 0


def keycloak_stop(cfg: Config) -> int:
    print(f"keycloak  {'stopped' if stop(cfg, keycloak(cfg)) else 'was not running'}")
    return 0


def main(argv: list[str]) -> int:
    commands = {
        "up": up,
        "down": down,
        "status": status,
        "kafka-stop": kafka_stop,
        "kafka-start": kafka_start,
        "keycloak-start": keycloak_start,
        "keycloak-stop": keycloak_stop,
    }
    if len(argv) != 2 or argv[1] not in commands:
        print(f"usage: {Path(argv[0]).name} {'|'.join(commands)}", file=sys.stderr)
        return 2
    try:
        return commands[argv[1]](Config.from_env())
    except (StackError, idp.KeycloakError) as err:
        print(f"stack: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
