"""The composition root: settings in, a FastAPI app with its Kafka side out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI
from vrac_runtime.audit import ErasureTrail, keep_audit
from vrac_runtime.auth import Tokens
from vrac_runtime.logging import get_logger
from vrac_runtime.sealing import reader_opener
from vrac_runtime.service import build_runtime, compose, run

from vrac_notifications import handlers
from vrac_notifications.adapters.email import SmtpMailer
from vrac_notifications.adapters.links import DiplomaLinks, FamilyLinks, TaskLinks
from vrac_notifications.adapters.store import (
    OUTBOX_COLLECTIONS,
    MongoCaseFiles,
    MongoDeliveries,
    MongoWebhooks,
)
from vrac_notifications.adapters.webhook import DestinationGuard, HttpHookPoster
from vrac_notifications.domain.delivery import RetrySchedule
from vrac_notifications.entrypoints import http
from vrac_notifications.entrypoints.scheduler import DeliveryScheduler
from vrac_notifications.entrypoints.subscribers import Subscribers
from vrac_notifications.handlers import Deps
from vrac_notifications.settings import NotificationsSettings

log = get_logger(__name__)

DESCRIPTION = (
    "Tells the right person, in their language and through their channel, about tasks, "
    "reminders, diplomas and advice for school, only with the consent each message needs; "
    "records every delivery and manages agencies' webhooks."
)


def build(settings: NotificationsSettings | None = None, **overrides: Any) -> FastAPI:
    """The app; ``overrides`` replace fields of ``Deps`` (a mailer, a clock, ...)."""
    settings = settings or NotificationsSettings()
    runtime = build_runtime(settings)
    relay = runtime.with_outbox(OUTBOX_COLLECTIONS)
    deliveries = MongoDeliveries(runtime.db, on_events=relay.wake)
    case_files = MongoCaseFiles(runtime.db)
    webhooks = MongoWebhooks(runtime.db, settings.keks)
    scheduler = DeliveryScheduler(
        settings.delivery_poll_seconds, drain_seconds=settings.shutdown_grace_seconds / 2
    )
    outcomes = runtime.metrics.counter(
        "vrac_deliveries_total",
        "Deliveries reaching an outcome, per channel (scheduled: a transient failure).",
        ["channel", "outcome"],
    )
    if settings.development:
        # said at every start, so a production deployment that carries it is noticed
        log.warning("development deployment: webhooks may use plain http and loopback")
    guard = DestinationGuard(settings.destination_rules)
    tokens = Tokens.from_settings(settings)
    deps = Deps(
        case_files=case_files,
        deliveries=deliveries,
        webhooks=webhooks,
        mailer=SmtpMailer(settings),
        poster=HttpHookPoster(settings.webhook_timeout_seconds, guard),
        destinations=guard,
        diploma_link=DiplomaLinks(
            settings.screening_url or settings.screening_public_url,
            settings.screening_public_url,
            tokens.service_token,
        ),
        task_link=TaskLinks(settings.network_url, tokens.service_token),
        family_link=(
            FamilyLinks(settings.intake_base_url, settings.web_url, tokens.service_token)
            if settings.web_url
            else None
        ),
        opener=reader_opener(settings),
        audit=ErasureTrail(runtime.db, settings.service_name, "/cases/{case_id}"),
        schedule=RetrySchedule(
            retry_for=dt.timedelta(hours=settings.delivery_retry_hours),
            first_wait=dt.timedelta(seconds=settings.delivery_backoff_seconds),
            max_wait=dt.timedelta(seconds=settings.delivery_max_backoff_seconds),
        ),
        claim_seconds=settings.delivery_claim_seconds,
        hold=dt.timedelta(seconds=settings.delivery_hold_seconds),
        on_due=scheduler.wake,
        observe=lambda channel, outcome: outcomes.labels(str(channel), outcome).inc(),
        secret_overlap=dt.timedelta(hours=settings.webhook_secret_overlap_hours),
    )
    app = compose(runtime, deps, overrides).app(
        [http.router],
        title="VRAC notifications",
        description=DESCRIPTION,
        subscribers=Subscribers,
        on_startup=[
            lambda _: deliveries.ensure_indexes(),
            lambda _: case_files.ensure_indexes(),
            lambda _: webhooks.rewrap(),
        ],
        on_shutdown=[
            scheduler.stop,
            lambda deps: deps.opener.aclose(),
            lambda deps: _close(deps.diploma_link),
            lambda deps: _close(deps.task_link),
            lambda deps: _close(deps.family_link),
        ],
        jobs=[
            ("delivery scheduler", 0, scheduler.tick),
            ("erasures", settings.erasure_retry_seconds, handlers.finish_erasures),
        ],
    )
    return keep_audit(app)


async def _close(resource: object) -> None:
    close = getattr(resource, "aclose", None)  # tests may give a plain function
    if close is not None:
        await close()


def main() -> None:
    """``vrac-notifications``: run until SIGTERM or SIGINT, then shut down gracefully."""
    run(build, NotificationsSettings)
