"""The composition root: settings -> runtime, store, subscribers, routes, jobs -> app."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import FastAPI
from vrac_runtime.service import build_runtime, create_app, serve

from vrac_network import handlers
from vrac_network.adapters.store import COLLECTIONS, NetworkStore
from vrac_network.domain.commands import SweepOverdue
from vrac_network.entrypoints.http import router
from vrac_network.entrypoints.subscribers import Subscribers
from vrac_network.settings import NetworkSettings

DESCRIPTION = (
    "The child's support network: its members, the care plan and its tasks. "
    "Every endpoint but health needs a bearer token scoped to the case's pilot."
)


def build(settings: NetworkSettings | None = None, **overrides: Any) -> FastAPI:
    """The app; ``overrides`` replace fields of its ``Deps`` (a clock, a store...)."""
    settings = settings or NetworkSettings()
    runtime = build_runtime(settings)
    relay = runtime.with_outbox(COLLECTIONS)
    store = NetworkStore(runtime.db, on_events=relay.wake)
    deps = dataclasses.replace(handlers.Deps(cases=store, tasks=store), **overrides)
    Subscribers(deps).register(runtime)

    if settings.overdue_sweep_seconds > 0:

        async def sweep_today() -> None:
            await handlers.sweep_overdue(deps, SweepOverdue(as_of=deps.clock().date()))

        runtime.every("overdue-sweep", settings.overdue_sweep_seconds, sweep_today)

    app = create_app(
        runtime,
        [router],
        title="VRAC network",
        description=DESCRIPTION,
        on_startup=[store.create_indexes],
    )
    app.state.deps = deps
    return app


def main() -> None:
    """``vrac-network``: serve until SIGTERM or SIGINT, then stop gracefully."""
    settings = NetworkSettings()
    serve(lambda: build(settings), settings)
