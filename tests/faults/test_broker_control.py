"""``stack.py kafka-stop`` and ``kafka-start`` refuse, in one line, what they cannot do: stop
a broker this state folder did not start, or start one on storage that was never made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from vrac_testing.infrastructure import repo_root
from vrac_testing.processes import free_port

pytestmark = pytest.mark.faults

STACK = repo_root() / "deploy" / "local" / "stack.py"


def run(command: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VRAC_STATE_DIR": str(state),
        "VRAC_KAFKA_PORT": str(free_port()),
        "VRAC_KAFKA_CONTROLLER_PORT": str(free_port()),
        "VRAC_KAFKA_SASL_PORT": str(free_port()),
    }
    return subprocess.run(
        [sys.executable, str(STACK), command], env=env, capture_output=True, text=True, timeout=60
    )


def test_stopping_a_broker_that_is_not_running_fails_in_one_line(tmp_path: Path) -> None:
    done = run("kafka-stop", tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == f"stack: kafka is not running from {tmp_path}; nothing stopped"


def test_starting_a_broker_without_its_storage_says_to_run_up(tmp_path: Path) -> None:
    done = run("kafka-start", tmp_path)
    assert done.returncode == 1
    assert "start the stack with 'up'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
