"""The family's links to a diploma: each one known here by its id, so it can be revoked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class DiplomaLink:
    """A signed link screening issued (the token itself is not kept, only what revokes it)."""

    link_id: str
    diploma_id: str
    case_id: str
    pilot: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def opens(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def revoked(self, at: dt.datetime) -> DiplomaLink:
        """Revoked at ``at``; a link revoked before keeps its first revocation time."""
        return self if self.revoked_at is not None else replace(self, revoked_at=at)
