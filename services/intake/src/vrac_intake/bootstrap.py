"""The composition root: settings -> runtime, repository, relay, routes -> app."""

from __future__ import annotations

from fastapi import FastAPI
from vrac_runtime.service import build_runtime, create_app, serve

from vrac_intake.adapters.repository import COLLECTIONS, MongoCases
from vrac_intake.entrypoints.http import install_domain_errors, router
from vrac_intake.handlers import Deps
from vrac_intake.settings import IntakeSettings

DESCRIPTION = (
    "Family cases, the family's details and the parents' consent per purpose. "
    "Every endpoint but health needs a bearer token scoped to the case's pilot."
)


def build(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = build_runtime(settings)
    relay = runtime.with_outbox(COLLECTIONS)
    cases = MongoCases(runtime.db, on_events=relay.wake)
    app = create_app(
        runtime,
        [router],
        title="VRAC intake",
        description=DESCRIPTION,
        on_startup=[cases.create_indexes],
    )
    app.state.deps = Deps(cases)
    install_domain_errors(app)
    return app


def main() -> None:
    """``vrac-intake``: serve until SIGTERM or SIGINT, then stop gracefully."""
    settings = IntakeSettings()
    serve(lambda: build(settings), settings)
