"""The composition root: settings -> runtime, repositories, subscribers, routes -> app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase
from vrac_runtime.audit import ErasureTrail, keep_audit
from vrac_runtime.auth import Tokens
from vrac_runtime.sealing import reader_opener
from vrac_runtime.service import build_runtime, compose, run

from vrac_screening import handlers
from vrac_screening.adapters.credential_store import MongoCredentialStatuses
from vrac_screening.adapters.credentials import CredentialIssuer
from vrac_screening.adapters.pdf import render_diploma
from vrac_screening.adapters.store import (
    OUTBOX_COLLECTIONS,
    MongoCases,
    MongoDiplomas,
    MongoLinks,
    MongoMeasurements,
    MongoPdfCache,
    MongoQuestionnaires,
    MongoScreenings,
)
from vrac_screening.domain.credential import Places
from vrac_screening.domain.instruments import Instruments
from vrac_screening.entrypoints.http import internal, public, router
from vrac_screening.entrypoints.subscribers import Subscribers
from vrac_screening.handlers import Deps
from vrac_screening.ports import SealedReader
from vrac_screening.settings import ScreeningSettings

DESCRIPTION = (
    "Screenings of a child's talents and skills with advice for school, parents and child; "
    "the diplomas made from them; wellbeing questionnaires. Every endpoint but health needs "
    "a bearer token scoped to the case's pilot."
)


def mongo_deps(
    db: AsyncDatabase[Any],
    sealed: SealedReader,
    on_events: Callable[[], None] = lambda: None,
    settings: ScreeningSettings | None = None,
) -> Deps:
    """The handlers' ports on the service's database, opening intake's sealed data with
    ``sealed``, signing links with the keys of ``settings``; ``on_events`` wakes the relay."""
    settings = settings or ScreeningSettings()
    tokens = Tokens.from_settings(settings)

    def sign_link(path: str, seconds: int) -> tuple[str, str, int]:
        grant, token = tokens.issue_link(path, seconds)
        return grant.link_id, token, grant.expires_at

    return Deps(
        cases=MongoCases(db),
        screenings=MongoScreenings(db, on_events),
        diplomas=MongoDiplomas(db, on_events),
        questionnaires=MongoQuestionnaires(db, on_events),
        pdfs=MongoPdfCache(db),
        render=render_diploma,
        sealed=sealed,
        audit=ErasureTrail(db, "screening", "/cases/{case_id}"),
        links=MongoLinks(db),
        sign_link=sign_link,
        link_seconds=settings.diploma_link_days * 86_400,
        statuses=MongoCredentialStatuses(db),
        issuer=CredentialIssuer(Places(settings.public_url), settings.pilot_issuer_keys),
        measurements=MongoMeasurements(db, on_events),
        instruments=Instruments.switched_on(settings.licensed),
    )


async def create_indexes(db: AsyncDatabase[Any]) -> None:
    for indexed in (
        MongoCases,
        MongoScreenings,
        MongoDiplomas,
        MongoQuestionnaires,
        MongoMeasurements,
        MongoPdfCache,
        MongoLinks,
        MongoCredentialStatuses,
    ):
        await indexed(db).create_indexes()


def build(settings: ScreeningSettings | None = None, **overrides: Any) -> FastAPI:
    """The app; ``overrides`` replace fields of its ``Deps`` (a clock, a renderer...)."""
    settings = settings or ScreeningSettings()
    runtime = build_runtime(settings)
    relay = runtime.with_outbox(OUTBOX_COLLECTIONS)
    opener = reader_opener(settings)

    async def close_opener(_: Deps) -> None:
        await opener.aclose()

    async def start(_: Deps) -> None:
        await create_indexes(runtime.db)

    app = compose(runtime, mongo_deps(runtime.db, opener, relay.wake, settings), overrides).app(
        [router, public, internal],
        title="VRAC screening",
        description=DESCRIPTION,
        subscribers=Subscribers,
        on_startup=[start],
        on_shutdown=[close_opener],
        jobs=[("erasures", settings.erasure_retry_seconds, handlers.finish_pending_erasures)],
    )
    return keep_audit(app)


def main() -> None:
    """``vrac-screening``: serve until SIGTERM or SIGINT, then stop gracefully."""
    run(build, ScreeningSettings)
