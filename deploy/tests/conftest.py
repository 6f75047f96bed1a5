"""Fixtures of the deploy checks: the repository paths, the pinned Go tools and the two
renderings (kustomize build, docker compose config) the checks read.

kustomize and docker compose are built from their Go modules by the scripts in
deploy/tools/ the first time a test needs them, then reused from the user's cache folder.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent
REPO = DEPLOY.parent
COMPOSE = DEPLOY / "compose"
PILOTS = ("leiden", "mechelen", "east-sussex", "norwich", "lille", "wattrelos")


def run(
    args: Sequence[str | Path], *, timeout: float, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run a command with its output captured as text; the caller judges the return code."""
    return subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def kustomize_build(kustomize: Path, target: str) -> list[dict[str, Any]]:
    """The documents ``kustomize build deploy/k8s/<target>`` renders."""
    result = run([kustomize, "build", DEPLOY / "k8s" / target], timeout=120)
    assert result.returncode == 0, f"kustomize build {target} failed:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def compose_config(
    binary: Path, *env_files: Path, overrides: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``docker compose config`` of the stack (and of ``overrides``, files beside it), blind
    to the caller's VRAC_/MONGO_/COMPOSE_ env."""
    args = [binary, "--project-directory", COMPOSE, "-f", COMPOSE / "compose.yaml"]
    for override in overrides:
        args += ["-f", COMPOSE / override]
    for env_file in env_files:
        args += ["--env-file", env_file]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VRAC_", "MONGO_", "COMPOSE_"))}
    return run([*args, "config", "--format", "yaml"], timeout=120, env=env)


def _built_tool(script: str) -> Path:
    result = run(["bash", DEPLOY / "tools" / script], timeout=1500)
    if result.returncode != 0:
        pytest.fail(f"deploy/tools/{script} failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def kustomize() -> Path:
    """The pinned kustomize binary (built on first use)."""
    return _built_tool("build-kustomize.sh")


@pytest.fixture(scope="session")
def docker_compose() -> Path:
    """The pinned Docker Compose v2 CLI (built on first use; no Docker engine needed)."""
    return _built_tool("build-compose.sh")


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    """deploy/generate.py as a module."""
    spec = importlib.util.spec_from_file_location("vrac_deploy_generate", DEPLOY / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
