"""The composition root: settings -> runtime, repository, relay, routes -> app."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import FastAPI
from vrac_runtime.service import build_runtime, create_app, serve

from vrac_intake.adapters.repository import COLLECTIONS, MongoCases
from vrac_intake.entrypoints.http import router
from vrac_intake.handlers import Deps
from vrac_intake.settings import IntakeSettings

DESCRIPTION = (
    "Family cases, the family's details and the parents' consent per purpose. "
    "Every endpoint but health needs a bearer token scoped to the case's pilot."
)


def build(settings: IntakeSettings | None = None, **overrides: Any) -> FastAPI:
    """The app on the store and Kafka of ``settings``; ``overrides`` replace fields of
    ``Deps`` (a clock, the cases...). Intake consumes no events, so it registers no
    subscribers."""
    settings = settings or IntakeSettings()
    runtime = build_runtime(settings)
    relay = runtime.with_outbox(COLLECTIONS)
    cases = MongoCases(runtime.db, on_events=relay.wake)
    deps = dataclasses.replace(Deps(cases), **overrides)
    app = create_app(
        runtime,
        [router],
        title="VRAC intake",
        description=DESCRIPTION,
        on_startup=[cases.create_indexes],
    )
    app.state.deps = deps
    return app


def main() -> None:
    """``vrac-intake``: serve until SIGTERM or SIGINT, then stop gracefully."""
    settings = IntakeSettings()
    serve(lambda: build(settings), settings)
