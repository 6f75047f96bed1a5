"""Fixtures of the deploy checks: the repository paths and the pinned Go tools.

kustomize and docker compose are built from their Go modules by the scripts in
deploy/tools/ the first time a test needs them, then reused from the user's cache folder.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEPLOY = Path(__file__).resolve().parent.parent
REPO = DEPLOY.parent
PILOTS = ("leiden", "mechelen", "east-sussex", "norwich", "lille", "wattrelos")


def _built_tool(script: str) -> Path:
    result = subprocess.run(
        ["bash", str(DEPLOY / "tools" / script)],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
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
