"""The composition root: settings -> runtime, store, subscribers, routes, jobs -> app."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from vrac_runtime.service import build_runtime, create_app, serve

from vrac_network import handlers
from vrac_network.adapters.store import COLLECTIONS, NetworkStore
from vrac_network.entrypoints.http import install_domain_errors, router
from vrac_network.entrypoints.subscribers import Subscribers
from vrac_network.settings import NetworkSettings

DESCRIPTION = (
    "The child's support network: its members, the care plan and its tasks. "
    "Every endpoint but health needs a bearer token scoped to the case's pilot."
)


def build(settings: NetworkSettings | None = None) -> FastAPI:
    settings = settings or NetworkSettings()
    runtime = build_runtime(settings)
    relay = runtime.with_outbox(COLLECTIONS)
    store = NetworkStore(runtime.db, on_events=relay.wake)
    Subscribers(store).register(runtime)

    if settings.overdue_sweep_seconds > 0:

        async def sweep_today() -> None:
            await handlers.sweep_overdue(store, dt.datetime.now(dt.UTC).date())

        runtime.every("overdue-sweep", settings.overdue_sweep_seconds, sweep_today)

    app = create_app(
        runtime,
        [router],
        title="VRAC network",
        description=DESCRIPTION,
        on_startup=[store.create_indexes],
    )
    app.state.store = store
    install_domain_errors(app)
    return app


def main() -> None:
    """``vrac-network``: serve until SIGTERM or SIGINT, then stop gracefully."""
    settings = NetworkSettings()
    serve(lambda: build(settings), settings)
