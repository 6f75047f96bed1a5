"""Members the notifications tests add to a case (shared by the handler and service tests):
the youth team, an agency told through its webhook."""

from __future__ import annotations

from typing import Any

AGENCY = "agy_youthteam0001"
YOUTH_TEAM: dict[str, Any] = {
    "member_id": "mbr_youthteam0001",
    "kind": "agency",
    "role": "care-provider",
    "display_name": "Jeugdteam Leiden",
    "relationship": None,
    "email": None,
    "channel": "webhook",
    "agency_id": AGENCY,
    "language": "nl",
}
