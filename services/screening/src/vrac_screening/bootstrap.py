"""The composition root: settings -> runtime, store, subscribers, routes -> app."""

from __future__ import annotations

from fastapi import FastAPI
from vrac_runtime.service import build_runtime, create_app, serve

from vrac_screening.adapters.store import OUTBOX_COLLECTIONS, ScreeningStore
from vrac_screening.entrypoints.http import install_domain_errors, router
from vrac_screening.entrypoints.subscribers import Subscribers
from vrac_screening.settings import ScreeningSettings

DESCRIPTION = (
    "Screenings of a child's talents and skills with advice for school, parents and child; "
    "the diplomas made from them; wellbeing questionnaires. Every endpoint but health needs "
    "a bearer token scoped to the case's pilot."
)


def build(settings: ScreeningSettings | None = None) -> FastAPI:
    settings = settings or ScreeningSettings()
    runtime = build_runtime(settings)
    relay = runtime.with_outbox(OUTBOX_COLLECTIONS)
    store = ScreeningStore(runtime.db, on_events=relay.wake)
    Subscribers(store).register(runtime)
    app = create_app(
        runtime,
        [router],
        title="VRAC screening",
        description=DESCRIPTION,
        on_startup=[store.create_indexes],
    )
    app.state.store = store
    install_domain_errors(app)
    return app


def main() -> None:
    """``vrac-screening``: serve until SIGTERM or SIGINT, then stop gracefully."""
    settings = ScreeningSettings()
    serve(lambda: build(settings), settings)
