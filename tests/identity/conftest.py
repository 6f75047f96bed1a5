"""The identity provider of these tests: the local stack's real Keycloak with the generated
realm (see ``vrac_testing.identity``), started here when it is not running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from vrac_testing.identity import IdentityProvider, provide


@pytest.fixture(scope="session")
def keycloak() -> Iterator[IdentityProvider]:
    provider = provide()
    yield provider
    provider.close()
