"""The composition root: settings -> runtime, store, subscribers, routes, jobs -> app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from vrac_runtime.audit import ErasureTrail, keep_audit
from vrac_runtime.auth import Tokens
from vrac_runtime.sealing import key_routes, owner_keys, sealed_readers
from vrac_runtime.service import Step, build_runtime, compose, run

from vrac_network import handlers
from vrac_network.adapters.links import MongoTaskLinks
from vrac_network.adapters.store import COLLECTIONS, NetworkStore
from vrac_network.domain.commands import SweepOverdue
from vrac_network.entrypoints.http import internal, links, router
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
    task_links = MongoTaskLinks(runtime.db)
    tokens = Tokens.from_settings(settings)

    def sign_link(path: str, seconds: int) -> tuple[str, str, int]:
        grant, token = tokens.issue_link(path, seconds)
        return grant.link_id, token, grant.expires_at

    deps = handlers.Deps(
        cases=store,
        tasks=store,
        keys=keys,
        trail=ErasureTrail(runtime.db, settings.service_name, "/cases/{case_id}/plan"),
        links=task_links,
        sign_link=sign_link,
        reminder_days=settings.task_reminder_days,
        link_seconds=settings.task_link_days * 86_400,
    )
    jobs: list[tuple[str, float, Step[handlers.Deps]]] = [
        ("finish-erasures", settings.erasure_retry_seconds, handlers.finish_pending_erasures)
    ]
    if settings.overdue_sweep_seconds > 0:
        jobs.append(("overdue-sweep", settings.overdue_sweep_seconds, _sweep_today))
    app = compose(runtime, deps, overrides).app(
        [router, internal, links, key_routes(keys, sealed_readers("network"))],
        title="VRAC network",
        description=DESCRIPTION,
        subscribers=Subscribers,
        on_startup=[
            lambda _: store.create_indexes(),
            lambda _: keys.ensure_indexes(),
            lambda _: task_links.create_indexes(),
        ],
        jobs=jobs,
    )
    return keep_audit(app)


async def _sweep_today(deps: handlers.Deps) -> None:
    today = SweepOverdue(as_of=deps.clock().date())
    await handlers.sweep_overdue(deps, today)
    await handlers.sweep_due_soon(deps, today)


def main() -> None:
    """``vrac-network``: serve until SIGTERM or SIGINT, then stop gracefully."""
    run(build, NetworkSettings)
