"""The composition root: settings in, a runnable FastAPI app out. No import-time effects."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase
from vrac_runtime.kafka import client_options
from vrac_runtime.service import build_runtime, compose, run

from vrac_reporting.adapters.background import BackgroundTasks
from vrac_reporting.adapters.read_models import MongoReadModels
from vrac_reporting.adapters.replay_source import KafkaReplaySource
from vrac_reporting.domain.report import Suppression
from vrac_reporting.entrypoints.http import router
from vrac_reporting.entrypoints.subscribers import Subscribers
from vrac_reporting.handlers import Deps, RebuildPolicy
from vrac_reporting.settings import ReportingSettings

DESCRIPTION = (
    "Per-pilot monthly read models built from the public VRAC events, served as a pilot "
    "report and a consortium report (JSON or CSV), with counts below 5 suppressed."
)


def build(settings: ReportingSettings | None = None, **overrides: Any) -> FastAPI:
    """The service's app; ``overrides`` replace fields of its ``Deps`` (tests swap fakes)."""
    settings = settings or ReportingSettings()
    runtime = build_runtime(settings)
    return compose(runtime, build_deps(settings, runtime.db), overrides).app(
        [router],
        title="VRAC reporting",
        description=DESCRIPTION,
        subscribers=Subscribers,
        on_startup=[lambda deps: deps.models.initialize()],
        # a running rebuild is cancelled (and marked failed) while the store is still open
        on_shutdown=[lambda deps: deps.background.stop()],
    )


def build_deps(settings: ReportingSettings, db: AsyncDatabase[Any]) -> Deps:
    """The handlers' dependencies on the store and Kafka (the app's and the command's)."""

    def replay_source(generation: str) -> KafkaReplaySource:
        return KafkaReplaySource(
            client_options(settings),
            settings.public_topics(),
            settings.rebuild_group(generation),
            fetch_records=settings.rebuild_fetch_records,
        )

    return Deps(
        models=MongoReadModels(db),
        replay_sources=replay_source,
        background=BackgroundTasks(),
        suppression=Suppression(settings.suppression_threshold),
        rebuilds=RebuildPolicy(
            dedupe_tail=settings.rebuild_dedupe_tail,
            heartbeat_seconds=settings.rebuild_heartbeat_seconds,
            stale_seconds=settings.rebuild_stale_seconds,
        ),
    )


def main() -> None:
    """``vrac-reporting``: serve until SIGTERM or SIGINT, then shut down gracefully."""
    run(build, ReportingSettings)
