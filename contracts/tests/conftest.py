from __future__ import annotations

from pathlib import Path

import pytest

CONTRACTS_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def contracts_dir() -> Path:
    return CONTRACTS_DIR
