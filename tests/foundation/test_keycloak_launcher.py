"""The local stack's Keycloak launcher: which Java it picks, and the one-line errors an
operator gets before anything starts. Starting it for real is what tests/identity does."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from vrac_testing.infrastructure import repo_root

LOCAL = repo_root() / "deploy" / "local"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"test_local_{name}", LOCAL / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


idp = load("keycloak")


def fake_java(home: Path, version: str) -> Path:
    """A java home whose ``java -version`` says ``version``, as OpenJDK writes it."""
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-10-21' >&2\n")
    java.chmod(0o755)
    return java


def settings(java_home: str = "") -> object:
    return idp.Settings(port=8180, admin="admin", admin_password="x", java_home=java_home)


@pytest.mark.parametrize(
    ("said", "major"), [("17.0.15", 17), ("21", 21), ("25.0.1", 25), ("1.8.0_412", 8)]
)
def test_the_java_version_is_read_as_openjdk_prints_it(tmp_path: Path, said, major) -> None:
    assert idp.java_major(str(fake_java(tmp_path, said))) == major


def test_the_newest_java_of_21_or_more_is_chosen(tmp_path, monkeypatch) -> None:
    old = fake_java(tmp_path / "jvm" / "jdk-17", "17.0.15")
    fake_java(tmp_path / "jvm" / "jdk-21", "21.0.9")
    new = fake_java(tmp_path / "jvm" / "jdk-25", "25.0.1")
    monkeypatch.setattr(idp, "JVM_PATTERNS", (str(tmp_path / "jvm" / "*" / "bin" / "java"),))
    env = {"JAVA_HOME": str(old.parent.parent), "PATH": str(old.parent)}
    monkeypatch.setenv("PATH", str(old.parent))
    assert idp.find_java(settings(), env) == new


def test_no_java_21_names_what_was_found_and_what_to_do(tmp_path, monkeypatch) -> None:
    old = fake_java(tmp_path / "jvm" / "jdk-17", "17.0.15")
    monkeypatch.setattr(idp, "JVM_PATTERNS", (str(tmp_path / "jvm" / "*" / "bin" / "java"),))
    monkeypatch.setenv("PATH", str(old.parent))
    with pytest.raises(idp.KeycloakError) as refused:
        idp.find_java(settings(), {})
    message = str(refused.value)
    assert "needs Java 21 or newer" in message
    assert f"{old} (Java 17)" in message
    assert "VRAC_KEYCLOAK_JAVA_HOME" in message


def test_an_explicit_java_home_is_used_or_refused_alone(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(idp, "JVM_PATTERNS", (str(tmp_path / "jvm" / "*" / "bin" / "java"),))
    fake_java(tmp_path / "jvm" / "jdk-25", "25.0.1")
    chosen = fake_java(tmp_path / "mine", "21.0.9")
    assert idp.find_java(settings(str(tmp_path / "mine")), {}) == chosen
    fake_java(tmp_path / "old", "17.0.15")
    with pytest.raises(idp.KeycloakError, match=r"VRAC_KEYCLOAK_JAVA_HOME=.* has Java 17"):
        idp.find_java(settings(str(tmp_path / "old")), {})


def run_stack(tmp_path: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LOCAL / "stack.py"), command],
        env={**os.environ, "VRAC_STATE_DIR": str(tmp_path / "state"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_keycloak_start_with_too_old_a_java_fails_in_one_line(tmp_path: Path) -> None:
    fake_java(tmp_path / "old", "17.0.15")
    done = run_stack(
        tmp_path,
        "keycloak-start",
        VRAC_KEYCLOAK_PORT=str(free_port()),
        VRAC_KEYCLOAK_JAVA_HOME=str(tmp_path / "old"),
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "Java 21 or newer" in done.stderr
    assert not list((tmp_path / "state" / "run").glob("*.pid"))


def test_keycloak_start_on_a_taken_port_names_the_variable(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        done = run_stack(tmp_path, "keycloak-start", VRAC_KEYCLOAK_PORT=str(port))
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr
    assert "VRAC_KEYCLOAK_PORT" in done.stderr


def test_status_shows_keycloak_and_its_issuer(tmp_path: Path) -> None:
    done = run_stack(tmp_path, "status", VRAC_KEYCLOAK_PORT="18999")
    assert done.returncode == 0
    assert "keycloak  stopped" in done.stdout
    assert "issuer http://127.0.0.1:18999/realms/vrac" in done.stdout
