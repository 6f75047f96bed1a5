"""The composition root: settings -> runtime, repository, relay, routes -> app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from vrac_runtime.audit import keep_audit
from vrac_runtime.service import build_runtime, compose, run

from vrac_intake.adapters.audit import MongoAuditTrail
from vrac_intake.adapters.repository import COLLECTIONS, MongoCases
from vrac_intake.entrypoints.http import audit_router, router
from vrac_intake.entrypoints.subscribers import Subscribers
from vrac_intake.handlers import Deps
from vrac_intake.settings import IntakeSettings

DESCRIPTION = (
    "Family cases, the family's details and the parents' consent per purpose. "
    "Every endpoint but health needs a bearer token scoped to the case's pilot."
)


def build(settings: IntakeSettings | None = None, **overrides: Any) -> FastAPI:
    """The app on the store and Kafka of ``settings``; ``overrides`` replace fields of
    ``Deps`` (a clock, the cases...). Intake consumes only the audit trail's entries, which
    it keeps for every service."""
    runtime = build_runtime(settings or IntakeSettings())
    cases = MongoCases(runtime.db, on_events=runtime.with_outbox(COLLECTIONS).wake)
    audit = MongoAuditTrail(runtime.db)
    app = compose(runtime, Deps(cases, audit), overrides).app(
        [router, audit_router],
        title="VRAC intake",
        description=DESCRIPTION,
        subscribers=Subscribers,
        on_startup=[lambda _: cases.create_indexes(), lambda _: audit.create_indexes()],
    )
    return keep_audit(app)


def main() -> None:
    """``vrac-intake``: serve until SIGTERM or SIGINT, then stop gracefully."""
    run(build, IntakeSettings)
