"""The composition root: settings -> runtime, store, subscribers, routes, jobs -> app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from vrac_runtime.audit import keep_audit
from vrac_runtime.service import build_runtime, compose, run

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
    store = NetworkStore(runtime.db, on_events=runtime.with_outbox(COLLECTIONS).wake)
    every = settings.overdue_sweep_seconds
    app = compose(runtime, handlers.Deps(cases=store, tasks=store), overrides).app(
        [router],
        title="VRAC network",
        description=DESCRIPTION,
        subscribers=Subscribers,
        on_startup=[lambda _: store.create_indexes()],
        jobs=[("overdue-sweep", every, _sweep_today)] if every > 0 else [],
    )
    return keep_audit(app)


async def _sweep_today(deps: handlers.Deps) -> None:
    await handlers.sweep_overdue(deps, SweepOverdue(as_of=deps.clock().date()))


def main() -> None:
    """``vrac-network``: serve until SIGTERM or SIGINT, then stop gracefully."""
    run(build, NetworkSettings)
