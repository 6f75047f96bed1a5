"""The composition root: settings -> runtime, store, subscribers, routes, jobs -> app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from vrac_runtime.audit import ErasureTrail, keep_audit
from vrac_runtime.sealing import key_routes, owner_keys, sealed_readers
from vrac_runtime.service import Step, build_runtime, compose, run

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
    keys = owner_keys(runtime.db, settings)
    deps = handlers.Deps(
        cases=store,
        tasks=store,
        keys=keys,
        trail=ErasureTrail(runtime.db, settings.service_name, "/cases/{case_id}/plan"),
    )
    jobs: list[tuple[str, float, Step[handlers.Deps]]] = [
        ("finish-erasures", settings.erasure_retry_seconds, handlers.finish_pending_erasures)
    ]
    if settings.overdue_sweep_seconds > 0:
        jobs.append(("overdue-sweep", settings.overdue_sweep_seconds, _sweep_today))
    app = compose(runtime, deps, overrides).app(
        [router, key_routes(keys, sealed_readers("network"))],
        title="VRAC network",
        description=DESCRIPTION,
        subscribers=Subscribers,
        on_startup=[lambda _: store.create_indexes(), lambda _: keys.ensure_indexes()],
        jobs=jobs,
    )
    return keep_audit(app)


async def _sweep_today(deps: handlers.Deps) -> None:
    await handlers.sweep_overdue(deps, SweepOverdue(as_of=deps.clock().date()))


def main() -> None:
    """``vrac-network``: serve until SIGTERM or SIGINT, then stop gracefully."""
    run(build, NetworkSettings)
