"""What every consumer of consent decisions keeps: the newest decision per consent.

Intake's topics are not ordered among each other, and a decision can be re-published, so a
consumer keeps, per consent, the decision with the newest ``changed_at`` and ignores any
older one that arrives late. Sharing with an agency is consented per agency; every other
purpose once per case. Screening, network and notifications all file decisions this way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from .events.intake import ConsentChanged, ConsentChangedV2, ConsentRecorded
from .values import ConsentPurpose

# the key of a share-with-agency decision that names no agency: no event carries it, so a
# message that would need it is never consented
_NO_AGENCY = "-"


@dataclass(frozen=True)
class ConsentState:
    """The newest known decision for one consent."""

    granted: bool
    changed_at: dt.datetime


def consent_key(purpose: ConsentPurpose | str, agency_id: str | None = None) -> str:
    """Where a decision is filed: per purpose, and per agency for sharing with an agency."""
    purpose = ConsentPurpose(purpose)
    if purpose is ConsentPurpose.SHARE_WITH_AGENCY:
        return f"{purpose}:{agency_id or _NO_AGENCY}"
    return str(purpose)


def is_newer(current: ConsentState | None, candidate: ConsentState) -> bool:
    """Whether ``candidate`` replaces ``current`` (a late, older decision never does)."""
    return current is None or candidate.changed_at > current.changed_at


def granted(
    consents: Mapping[str, ConsentState],
    purpose: ConsentPurpose,
    agency_id: str | None = None,
) -> bool:
    """Whether the newest decision for this consent grants it (no decision: not granted)."""
    state = consents.get(consent_key(purpose, agency_id))
    return state is not None and state.granted


def consent_decision(
    event: ConsentRecorded | ConsentChanged | ConsentChangedV2,
) -> tuple[str, ConsentState]:
    """Where a consent decision is filed, and the decision it carries (public v2 decisions
    name no agency: filed under no agency, they grant no share with one)."""
    agency_id = getattr(event, "agency_id", None)
    return consent_key(event.purpose, agency_id), ConsentState(
        granted=event.granted, changed_at=event.changed_at
    )
