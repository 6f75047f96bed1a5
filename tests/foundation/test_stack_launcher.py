"""The local stack launcher's promises: clear one-line errors, nothing half-started, every
step said as it starts and how long it took."""

from __future__ import annotations

import base64
import importlib.util
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from vrac_testing.infrastructure import repo_root, state_folder

STACK = repo_root() / "deploy" / "local" / "stack.py"
CACHE_HOME = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
REAL_CACHE = Path(os.environ.get("VRAC_CACHE_DIR", CACHE_HOME / "vrac"))


def load_stack() -> ModuleType:
    """The launcher as a module (it is a script, standard library only)."""
    spec = importlib.util.spec_from_file_location("vrac_local_stack", STACK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


stack = load_stack()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def run_stack(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the launcher against a state folder, cache and ports of this test only."""
    kafka_port, mongo_port = free_port(), free_port()
    base_env = {
        **os.environ,
        "VRAC_STATE_DIR": str(tmp_path / "state"),
        "VRAC_CACHE_DIR": str(tmp_path / "cache"),
        "VRAC_KAFKA_PORT": str(kafka_port),
        "VRAC_KAFKA_CONTROLLER_PORT": str(free_port()),
        "VRAC_KAFKA_SASL_PORT": str(free_port()),
        "VRAC_MONGO_PORT": str(mongo_port),
        "VRAC_POSTGRES_PORT": str(free_port()),
    }

    def run(command: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(STACK), command],
            env={**base_env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )

    run.env = base_env  # type: ignore[attr-defined]
    yield run
    run("down")


def reuse_kafka_classpath(cache: Path) -> None:
    """Seed the test's cache with the resolved classpath so Maven need not run again."""
    cache.mkdir(parents=True, exist_ok=True)
    for cached in REAL_CACHE.glob("kafka-classpath-*.txt"):
        shutil.copy(cached, cache / cached.name)


def test_missing_java_is_named_with_what_to_install(run_stack, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = run_stack("up", PATH=str(empty))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'java' was not found" in lines[0] and "install" in lines[0]
    assert not list((tmp_path / "state" / "run").glob("*.pid"))


def test_missing_go_is_named_when_ferretdb_must_be_built(run_stack, tmp_path: Path) -> None:
    reuse_kafka_classpath(tmp_path / "cache")
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("java",):
        (tools / tool).symlink_to(shutil.which(tool) or "/nonexistent")
    done = run_stack("up", PATH=str(tools))
    assert done.returncode != 0
    assert "'go' was not found" in done.stderr
    assert "stack is up" not in done.stdout
    assert not list((tmp_path / "state" / "run").glob("*.pid"))


@pytest.mark.parametrize("variable", ["VRAC_KAFKA_PORT", "VRAC_KAFKA_SASL_PORT"])
def test_busy_port_is_reported_and_nothing_starts(run_stack, tmp_path: Path, variable: str) -> None:
    reuse_kafka_classpath(tmp_path / "cache")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        done = run_stack("up", **{variable: str(port)}, VRAC_CACHE_DIR=str(REAL_CACHE))
    assert done.returncode != 0
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr
    assert variable in done.stderr
    assert not list((tmp_path / "state" / "run").glob("*.pid"))


def test_not_a_port_number_is_rejected(run_stack) -> None:
    done = run_stack("status", VRAC_MONGO_PORT="mongo")
    assert done.returncode != 0
    assert "VRAC_MONGO_PORT='mongo' is not a TCP port number" in done.stderr


def test_a_store_that_never_gets_ready_fails_within_the_bound(run_stack, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reuse_kafka_classpath(cache)
    fake = cache / "ferretdb" / "v1.24.2" / "ferretdb"
    fake.parent.mkdir(parents=True)
    # Alive but deaf; it keeps its own command line, which names the state folder.
    fake.write_text("#!/bin/sh\ntrap 'kill $!; exit 0' TERM\nsleep 120 &\nwait\n")
    fake.chmod(0o755)
    done = run_stack("up", VRAC_STACK_TIMEOUT="3")
    assert done.returncode != 0, done.stdout
    assert "ferretdb did not become ready within 3 s; see" in done.stderr
    assert "ferretdb.log" in done.stderr
    said = done.stdout.splitlines()
    mongo_port = run_stack.env["VRAC_MONGO_PORT"]  # type: ignore[attr-defined]
    assert f"starting FerretDB on 127.0.0.1:{mongo_port} ..." in said
    assert any(line.startswith("starting FerretDB on") and "failed after" in line for line in said)
    assert not list((tmp_path / "state" / "run").glob("*.pid"))


@pytest.mark.integration
def test_a_failed_up_stops_what_it_started(run_stack, tmp_path: Path) -> None:
    """The store starts, then the broker fails: the store is stopped again."""
    cache = tmp_path / "cache"
    reuse_kafka_classpath(cache)
    binary = cache / "ferretdb" / "v1.24.2" / "ferretdb"
    binary.parent.mkdir(parents=True)
    binary.symlink_to(REAL_CACHE / "ferretdb" / "v1.24.2" / "ferretdb")
    # Storage that claims to be formatted but is not: the broker exits at start-up.
    storage = tmp_path / "state" / "kafka"
    storage.mkdir(parents=True)
    (storage / "meta.properties").write_text("version=1\n")
    done = run_stack("up")
    assert done.returncode != 0, done.stdout
    assert "kafka exited during start-up; see" in done.stderr
    assert not list((tmp_path / "state" / "run").glob("*.pid"))
    mongo_port = int(run_stack.env["VRAC_MONGO_PORT"])  # type: ignore[attr-defined]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", mongo_port)) != 0, "FerretDB was left running"


def test_status_of_a_stopped_stack(run_stack) -> None:
    done = run_stack("status")
    assert done.returncode == 0
    assert "kafka     stopped" in done.stdout
    assert "ferretdb  stopped" in done.stdout
    assert "postgres  stopped" in done.stdout


def test_sqlite_stays_selectable_and_needs_no_postgres(run_stack) -> None:
    done = run_stack("status", VRAC_LOCAL_STORE="sqlite")
    assert done.returncode == 0
    assert "(sqlite)" in done.stdout and "postgres" not in done.stdout


def test_an_unknown_store_is_rejected(run_stack) -> None:
    done = run_stack("status", VRAC_LOCAL_STORE="mysql")
    assert done.returncode != 0
    assert "VRAC_LOCAL_STORE='mysql' is not one of postgresql, sqlite" in done.stderr


@pytest.mark.integration
def test_storage_is_formatted_with_a_cluster_id_that_starts_with_a_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One random id in 64 starts with "-"; passed as its own argument the storage tool
    took it for an option. The cached Kafka jars into a folder of this test, no broker."""
    if not list(REAL_CACHE.glob("kafka-classpath-*.txt")):
        pytest.skip("the Kafka classpath is not cached yet (make up resolves it)")
    monkeypatch.setenv("VRAC_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("VRAC_CACHE_DIR", str(REAL_CACHE))
    monkeypatch.setenv("VRAC_KAFKA_HEAP", "256m")
    cfg = stack.Config.from_env()
    cfg.logs.mkdir(parents=True)
    classpath = stack.kafka_classpath(cfg)
    jvm = stack.kafka_jvm(cfg, stack.require_java(), classpath)
    cluster_id = base64.urlsafe_b64encode(b"\xf8" + os.urandom(15)).decode().rstrip("=")
    assert cluster_id.startswith("-") and len(cluster_id) == 22
    stack.format_kafka_storage(cfg, jvm, stack.kafka_properties(cfg), cluster_id)
    meta = (cfg.state / "kafka" / "meta.properties").read_text()
    assert f"cluster.id={cluster_id}" in meta.splitlines()


def test_cluster_ids_have_kafkas_form() -> None:
    for _ in range(100):
        cluster_id = stack.new_cluster_id()
        assert len(cluster_id) == 22
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_a_step_says_when_it_starts_and_how_long_it_took() -> None:
    out = io.StringIO()
    steps = stack.Steps(out=out, every=60)
    with steps("resolving the Kafka jars with Maven", Path("/tmp/maven.log")):
        pass
    lines = out.getvalue().splitlines()
    assert lines[0] == "resolving the Kafka jars with Maven ..."
    assert lines[1].startswith("resolving the Kafka jars with Maven: done in ")
    assert lines[1].endswith(" s") and len(lines) == 2


def test_a_long_step_says_it_is_still_working_and_where_to_look() -> None:
    out = io.StringIO()
    steps = stack.Steps(out=out, every=0.05)
    with steps("building FerretDB", Path("/tmp/ferretdb-build.log")):
        time.sleep(0.18)
    lines = out.getvalue().splitlines()
    still = [line for line in lines if line.startswith("  still building FerretDB (")]
    assert len(still) >= 2
    assert all(line.endswith("s so far; log: /tmp/ferretdb-build.log)") for line in still)
    assert lines[0] == "building FerretDB ..." and "done in" in lines[-1]


def test_a_failing_step_says_so_and_stops_reporting() -> None:
    out = io.StringIO()
    steps = stack.Steps(out=out, every=0.02)
    with pytest.raises(stack.StackError), steps("starting Kafka"):
        raise stack.StackError("kafka exited during start-up")
    said = out.getvalue()
    time.sleep(0.1)
    assert out.getvalue() == said  # the heartbeat has stopped
    assert said.splitlines()[-1].startswith("starting Kafka: failed after ")


def test_a_stack_on_other_ports_keeps_a_state_folder_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second stack of one checkout (a bench on other ports beside the usual stack) must not
    read the first one's pid files, or it would take the first stack for itself."""
    monkeypatch.delenv("VRAC_STATE_DIR", raising=False)
    monkeypatch.delenv("VRAC_KAFKA_PORT", raising=False)
    monkeypatch.delenv("VRAC_MONGO_PORT", raising=False)
    usual = stack.Config.from_env().state
    assert usual == (repo_root() / ".state").resolve() == state_folder().resolve()
    monkeypatch.setenv("VRAC_KAFKA_PORT", "39192")
    monkeypatch.setenv("VRAC_MONGO_PORT", "37117")
    other = stack.Config.from_env().state
    assert other == usual / "stack-39192-37117" == state_folder().resolve()
    monkeypatch.setenv("VRAC_STATE_DIR", str(usual / "chosen"))
    assert stack.Config.from_env().state == usual / "chosen" == state_folder().resolve()
