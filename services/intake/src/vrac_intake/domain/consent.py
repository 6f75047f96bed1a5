"""Consent decisions: per purpose (and per agency for sharing with one), who and when.

Nothing recorded for a purpose means not granted. The history is kept whole; the current
consent for a purpose is its latest decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from vrac_contracts.values import ActorRole, ConsentPurpose

from vrac_intake.domain.errors import RuleBroken

# Who may be named as having recorded a decision, besides a guardian of the case.
STAFF_ROLES = frozenset({ActorRole.COACH, ActorRole.COORDINATOR})

ConsentKey = tuple[ConsentPurpose, str | None]


@dataclass(frozen=True)
class Recorder:
    """Who made the decision: a guardian of the case (by id) or a member of staff (by role).

    ``user`` is the subject of the token that entered it, kept for the audit trail only.
    """

    role: ActorRole
    guardian_id: str | None = None
    user: str | None = None

    def __post_init__(self) -> None:
        if self.role is ActorRole.GUARDIAN and self.guardian_id is None:
            raise RuleBroken("recorded_by.guardian_id", "a guardian is named by id")
        if self.role is not ActorRole.GUARDIAN and self.role not in STAFF_ROLES:
            raise RuleBroken("recorded_by.role", "must be coach or coordinator")


@dataclass(frozen=True)
class ConsentDecision:
    purpose: ConsentPurpose
    agency_id: str | None
    granted: bool
    recorded_by: Recorder
    decided_at: dt.datetime
    recorded_at: dt.datetime

    @property
    def key(self) -> ConsentKey:
        return (self.purpose, self.agency_id)


def check_scope(purpose: ConsentPurpose, agency_id: str | None) -> None:
    """Sharing with an agency names the agency; no other purpose does."""
    if purpose is ConsentPurpose.SHARE_WITH_AGENCY and agency_id is None:
        raise RuleBroken("agency_id", "needed when the purpose is share-with-agency")
    if purpose is not ConsentPurpose.SHARE_WITH_AGENCY and agency_id is not None:
        raise RuleBroken("agency_id", "only for the purpose share-with-agency")


def current(history: Iterable[ConsentDecision]) -> dict[ConsentKey, ConsentDecision]:
    """The latest decision per purpose (history is in the order decisions were recorded,
    and each one is later than the previous one for its purpose)."""
    latest: dict[ConsentKey, ConsentDecision] = {}
    for decision in history:
        latest[decision.key] = decision
    return latest
