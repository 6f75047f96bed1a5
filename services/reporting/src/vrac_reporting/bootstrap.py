"""The composition root: settings in, a runnable FastAPI app out. No import-time effects."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from vrac_contracts.catalogue import consumer_group
from vrac_runtime.service import build_runtime, create_app, serve

from vrac_reporting.adapters.read_models import MongoReadModels
from vrac_reporting.entrypoints.http import admin_router, reports_router
from vrac_reporting.entrypoints.subscribers import PositionedConsumer, subscribe
from vrac_reporting.rebuilds import BackgroundRebuilds
from vrac_reporting.settings import ReportingSettings

DESCRIPTION = (
    "Per-pilot monthly read models built from the public VRAC events, served as a pilot "
    "report and a consortium report (JSON or CSV), with counts below 5 suppressed."
)


def build(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = build_runtime(settings)
    models = MongoReadModels(runtime.db)
    consumer = PositionedConsumer(runtime.broker, settings, consumer_group("reporting"))
    runtime.consumers.append(consumer)
    subscribe(consumer, models)
    rebuilds = BackgroundRebuilds(settings, models)
    app = create_app(
        runtime,
        [
            reports_router(models, settings.suppression_threshold),
            admin_router(models, rebuilds),
        ],
        title="VRAC reporting",
        description=DESCRIPTION,
        on_startup=[models.initialize],
    )
    _stop_rebuilds_first(app, rebuilds)
    return app


def _stop_rebuilds_first(app: FastAPI, rebuilds: BackgroundRebuilds) -> None:
    """A running rebuild is cancelled (and marked failed) while the store is still open."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            try:
                yield
            finally:
                await rebuilds.stop()

    app.router.lifespan_context = lifespan


def main() -> None:
    """``vrac-reporting``: serve until SIGTERM or SIGINT, then shut down gracefully."""
    settings = ReportingSettings()
    serve(lambda: build(settings), settings)
