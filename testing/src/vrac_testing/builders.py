"""Builders of the inputs tests need again and again: intake's events and a family's
registration, with the usual values filled in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from vrac_contracts.events.intake import ConsentChanged
from vrac_contracts.values import ActorRole, ConsentPurpose, Pilot


def consent_changed(
    case_id: str,
    purpose: ConsentPurpose,
    granted: bool,
    at: dt.datetime,
    agency_id: str | None = None,
    changed_by: ActorRole = ActorRole.GUARDIAN,
    pilot: Pilot = Pilot.LEIDEN,
) -> ConsentChanged:
    """A consent decision taken (and told) at ``at``."""
    return ConsentChanged(
        case_id=case_id,
        pilot=pilot,
        occurred_at=at,
        purpose=purpose,
        granted=granted,
        agency_id=agency_id,
        changed_by=changed_by,
        changed_at=at,
    )


def family_registration(*guardians: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The body of ``POST /cases``: Sam, 2016, De Regenboog, in Leiden's PIT programme."""
    body: dict[str, Any] = {
        "pilot": "leiden",
        "programme": "pit",
        "child_first_name": "Sam",
        "birth_year": 2016,
        "school_name": "De Regenboog",
        "language": "nl",
        "guardians": list(guardians),
    }
    return {**body, **fields}
