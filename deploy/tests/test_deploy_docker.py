"""The service image recipe. No Docker engine runs here, so the checks are: the
Dockerfile's instructions, its health check script against a live HTTP server, and its
install step (the same `uv sync` line) run for real from the committed lock."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from vrac_contracts.catalogue import SERVICES

from .conftest import DEPLOY, REPO, run

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.py"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_image_is_slim_python_311_and_installs_from_the_lock() -> None:
    steps = instructions()
    base = next(a for w, a in steps if w == "ARG" and a.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11(\.\d+)?-slim(-\w+)?", base)
    syncs = [a for w, a in steps if w == "RUN" and "uv sync" in a]
    assert syncs and all("--frozen" in a and "--no-dev" in a for a in syncs)
    assert all('--package "vrac-${SERVICE}"' in a for a in syncs)


def test_image_runs_as_an_unprivileged_user_with_a_health_check() -> None:
    run = final_stage()
    users = [a for w, a in run if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert users[-1].split(":")[0].isdigit(), "a numeric uid lets runAsNonRoot verify it"
    (health,) = [a for w, a in run if w == "HEALTHCHECK"]
    assert "healthcheck.py" in health and "curl" not in health
    entry = [a for w, a in run if w == "ENTRYPOINT"]
    assert entry == ['["/opt/vrac/entrypoint"]']
    assert any(w == "RUN" and 'vrac-${SERVICE}" /opt/vrac/entrypoint' in a for w, a in run)


def test_no_secret_is_baked_into_the_image() -> None:
    for word, args in instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"SECRET|PASSWORD|TOKEN|MONGODB_URL", args, re.I), args
    ignored = (REPO / ".dockerignore").read_text().split()
    assert "**/*.env" in ignored and ".git" in ignored


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/health/live" else 404
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _healthcheck(env: dict[str, str]) -> int:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK)],
        env={"PATH": os.environ["PATH"], **env},
        timeout=30,
        check=False,
    ).returncode


def test_health_check_passes_only_when_live_answers_200(health_server: HTTPServer) -> None:
    port = str(health_server.server_address[1])
    _Health.status = 200
    assert _healthcheck({"VRAC_HTTP_PORT": port, "VRAC_SERVICE": "intake"}) == 0
    _Health.status = 503
    assert _healthcheck({"VRAC_HTTP_PORT": port, "VRAC_SERVICE": "intake"}) == 1
    health_server.shutdown()
    health_server.server_close()
    assert _healthcheck({"VRAC_HTTP_PORT": port, "VRAC_SERVICE": "intake"}) == 1


@pytest.mark.parametrize("service", [*SERVICES, "web"])
def test_the_image_install_step_works_from_the_lock(service: str, tmp_path: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns(".venv", "__pycache__", "tests", "*.pyc")
    src.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(REPO / name, src / name)
    for name in ("contracts", "runtime", "services"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    # as in the Dockerfile: the test kit's manifest only, never its code
    (src / "testing").mkdir()
    shutil.copy2(REPO / "testing" / "pyproject.toml", src / "testing" / "pyproject.toml")
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_LINK_MODE": "copy"}
    env.pop("VIRTUAL_ENV", None)
    result = run(
        [uv, "sync", "--frozen", "--no-dev", "--no-editable", "--package", f"vrac-{service}"],
        timeout=600,
        cwd=src,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (venv / "bin" / f"vrac-{service}").is_file(), "the image's entrypoint target"
    probe = run(
        [
            venv / "bin" / "python",
            "-c",
            f"import vrac_{service}, vrac_runtime, vrac_contracts, importlib.util as u; "
            "print(u.find_spec('pytest') is None and u.find_spec('vrac_testing') is None)",
        ],
        timeout=120,
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "True", "development tools or the test kit leaked into the image"
