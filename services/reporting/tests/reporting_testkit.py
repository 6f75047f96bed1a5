"""Helpers of the reporting tests: events, tokens, a running app.

A module of its own because test modules cannot import a conftest; the in-memory fakes of
the ports are in ``fakes``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from vrac_contracts.catalogue import by_type
from vrac_contracts.envelope import new_envelope
from vrac_contracts.ids import derived_id
from vrac_contracts.values import Pilot
from vrac_reporting.settings import ReportingSettings
from vrac_testing.tokens import bearer

TYPES = {
    "opened": "org.vrac.intake.case-opened.v1",
    "closed": "org.vrac.intake.case-closed.v1",
    "consent": "org.vrac.intake.consent-changed.v2",
    "screening": "org.vrac.screening.screening-completed.v2",
    "diploma": "org.vrac.screening.diploma-issued.v1",
    "questionnaire": "org.vrac.screening.questionnaire-submitted.v2",
    "assigned": "org.vrac.network.task-assigned.v1",
    "accepted": "org.vrac.network.task-accepted.v1",
    "declined": "org.vrac.network.task-declined.v2",
    "completed": "org.vrac.network.task-completed.v1",
    "overdue": "org.vrac.network.task-overdue.v1",
    "wellbeing": "org.vrac.screening.wellbeing-measured.v1",
    "measured": "org.vrac.network.network-measured.v1",
}


# The reporting grants of the tests' cases are dated in a month of their own, which the
# fakes' ``figures`` leave out, so that a test's figures are those of its own events.
GRANT_AT = "2024-12-01T08:00:00Z"
GRANT_MONTH = "2024-12"


def consenting_case(pilot: str) -> str:
    """The case of a pilot whose parents consent to reporting (once ``grants`` are in)."""
    return derived_id("case", "reporting-consent", pilot)


def event(
    kind: str,
    *,
    pilot: str = "leiden",
    at: str = "2025-03-14T09:30:00Z",
    case_id: str | None = None,
    **fields: Any,
):
    """A valid event of ``kind`` (see TYPES) wrapped in an envelope; in the pilot's
    consenting case unless ``case_id`` names another (``new_id("case")``: one of its own)."""
    spec = by_type(TYPES[kind])
    case = case_id or consenting_case(pilot)
    data = {**spec.example, "case_id": case, "pilot": pilot, "occurred_at": at}
    return new_envelope(spec.model.model_validate({**data, **fields}))


def reporting_consent(
    case_id: str, *, granted: bool = True, pilot: str = "leiden", at: str = GRANT_AT
):
    """The parents' decision on the ``reporting`` purpose of a case."""
    return event(
        "consent",
        case_id=case_id,
        pilot=pilot,
        at=at,
        purpose="reporting",
        granted=granted,
        changed_at=at,
    )


def grants(*pilots: str) -> list:
    """The reporting grant of each pilot's consenting case (default: every pilot's)."""
    chosen = pilots or tuple(p.value for p in Pilot)
    return [reporting_consent(consenting_case(p), pilot=p) for p in chosen]


def token(settings: ReportingSettings, role: str, pilot: str) -> dict[str, str]:
    return bearer(role, pilot, "tester")


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (Kafka, store, consumers) and an HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
            yield client
