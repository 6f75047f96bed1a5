"""Each service reads exactly what the catalogue says it reads, in the groups it names.

The generated ACLs grant each service's Kafka user the topics and groups of the catalogue;
a subscription the catalogue does not list would be refused in a deployment, and one it
lists but no app registers would leave events unread.
"""

from __future__ import annotations

import importlib

import pytest
from vrac_contracts.catalogue import consumed_by

SERVICES = ("intake", "screening", "network", "notifications", "reporting")


def _subscriptions(service: str) -> set[tuple[str, str]]:
    bootstrap = importlib.import_module(f"vrac_{service}.bootstrap")
    app = bootstrap.build()
    runtime = app.state.runtime
    return {
        (consumer.group_id, spec.ce_type)
        for consumer in runtime.consumers
        for spec in consumer.events
    }


@pytest.mark.parametrize("service", SERVICES)
async def test_every_app_subscribes_to_exactly_its_catalogue_events(service: str) -> None:
    expected = {(spec.group_for(service), spec.ce_type) for spec in consumed_by(service)}
    assert _subscriptions(service) == expected
