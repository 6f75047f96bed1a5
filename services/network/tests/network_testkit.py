"""Members the network tests add to a case (shared by the domain and handler tests)."""

from __future__ import annotations

from vrac_contracts.values import Channel, MemberKind, NetworkRole
from vrac_network.domain.case import NewMember

AGENCY = "agy_youthteam0001"
GRANDMOTHER = NewMember(
    kind=MemberKind.FAMILY,
    role=NetworkRole.SUPPORTER,
    display_name="Oma Ria",
    relationship="grandmother",
    email="ria@example.org",
    channel=Channel.EMAIL,
)
YOUTH_TEAM = NewMember(
    kind=MemberKind.AGENCY,
    role=NetworkRole.SPIDER_IN_THE_WEB,
    display_name="Jeugdteam Leiden",
    agency_id=AGENCY,
    channel=Channel.WEBHOOK,
)
