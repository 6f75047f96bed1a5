"""The family's links: each one intake signed, known by its id so staff can list and revoke
it. The token itself is not kept, only what identifies and revokes it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum


class LinkState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class FamilyLink:
    """A link sent to one guardian of a case: it opens that case until it expires or is
    revoked."""

    link_id: str
    case_id: str
    pilot: str
    guardian_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def state(self, now: dt.datetime) -> LinkState:
        if self.revoked_at is not None:
            return LinkState.REVOKED
        return LinkState.ACTIVE if now < self.expires_at else LinkState.EXPIRED

    def revoked(self, at: dt.datetime) -> FamilyLink:
        """Revoked at ``at``; a link revoked before keeps its first revocation time."""
        return self if self.revoked_at is not None else replace(self, revoked_at=at)
