"""The composition root: settings -> runtime, repository, relay, routes -> app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from vrac_runtime.audit import keep_audit
from vrac_runtime.sealing import key_routes, owner_keys, sealed_readers
from vrac_runtime.service import build_runtime, compose, run

from vrac_intake.adapters.audit import MongoAuditTrail
from vrac_intake.adapters.links import MongoFamilyLinks
from vrac_intake.adapters.repository import COLLECTIONS, MongoCases
from vrac_intake.entrypoints.http import audit_router, internal, router
from vrac_intake.entrypoints.subscribers import Subscribers
from vrac_intake.handlers import Deps, finish_key_destruction
from vrac_intake.settings import IntakeSettings

# How often the data keys an erasure or a removal still owes are destroyed again (after a
# failing key store or a stop in between); the job also runs once at start-up.
KEY_DESTRUCTION_RETRY_SECONDS = 30.0

DESCRIPTION = (
    "Family cases, the family's details and the parents' consent per purpose. "
    "Every endpoint but health needs a bearer token scoped to the case's pilot; the case, "
    "its consents and recording a guardian's consent also open with the family's link."
)


def build(settings: IntakeSettings | None = None, **overrides: Any) -> FastAPI:
    """The app on the store and Kafka of ``settings``; ``overrides`` replace fields of
    ``Deps`` (a clock, the cases, the keys...). Intake consumes only the audit trail's
    entries, which it keeps for every service. It owns the data keys of the family's details
    and serves them to the services that read family-registered."""
    settings = settings or IntakeSettings()
    runtime = build_runtime(settings)
    cases = MongoCases(runtime.db, on_events=runtime.with_outbox(COLLECTIONS).wake)
    audit = MongoAuditTrail(runtime.db)
    keys = owner_keys(runtime.db, settings)
    links = MongoFamilyLinks(runtime.db)
    deps = Deps(
        cases,
        audit,
        keys,
        links,
        settings.own_signing_keys.sign,  # the key intake's peers already verify
        link_days=settings.family_link_days,
    )
    app = compose(runtime, deps, overrides).app(
        [router, audit_router, internal, key_routes(keys, sealed_readers("intake"))],
        title="VRAC intake",
        description=DESCRIPTION,
        subscribers=Subscribers,
        on_startup=[
            lambda _: cases.create_indexes(),
            lambda _: audit.create_indexes(),
            lambda _: links.create_indexes(),
            lambda _: keys.ensure_indexes(),
        ],
        jobs=[("key-destruction", KEY_DESTRUCTION_RETRY_SECONDS, finish_key_destruction)],
    )
    return keep_audit(app)


def main() -> None:
    """``vrac-intake``: serve until SIGTERM or SIGINT, then stop gracefully."""
    run(build, IntakeSettings)
