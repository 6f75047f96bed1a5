"""Sectors of the network and the roles that carry a duty in it.

An eco-map places every member in one of four sectors around the child. Three roles mean
something to the platform: the spider in the web coordinates (one per network; declines and
overdue notices go to them), the bridge builder links family and school (so stands in one of
the two), the base worker supports the family at home (so is not school staff nor an agency
as a whole).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from vrac_contracts.values import MemberKind, NetworkRole
from vrac_runtime.errors import RuleBroken


class Sector(StrEnum):
    FAMILY = "family"
    FRIENDS_AND_NEIGHBOURS = "friends-and-neighbours"
    SCHOOL = "school"
    PROFESSIONALS = "professionals"


# family and friends: the informal (natural) network the project wants to strengthen
INFORMAL_SECTORS: Final = frozenset({Sector.FAMILY, Sector.FRIENDS_AND_NEIGHBOURS})

_DEFAULT_SECTOR: Final = {
    MemberKind.FAMILY: Sector.FAMILY,
    MemberKind.INFORMAL: Sector.FRIENDS_AND_NEIGHBOURS,
    MemberKind.PROFESSIONAL: Sector.PROFESSIONALS,
    MemberKind.AGENCY: Sector.PROFESSIONALS,
}


def default_sector(kind: MemberKind, role: NetworkRole) -> Sector:
    """Where a member stands when the coach does not say: a teacher at school, else by kind."""
    if role is NetworkRole.TEACHER:
        return Sector.SCHOOL
    return _DEFAULT_SECTOR[kind]


def check_role(
    role: NetworkRole, kind: MemberKind, sector: Sector, coordinator: str | None
) -> None:
    """Refuse (422 on ``role``) a role this member may not have. ``coordinator`` is the id of
    another member who already coordinates the network, if any."""
    if role is NetworkRole.SPIDER_IN_THE_WEB and coordinator is not None:
        raise RuleBroken("role", f"the network already has a spider in the web ({coordinator})")
    if role is NetworkRole.BRIDGE_BUILDER and sector not in (Sector.FAMILY, Sector.SCHOOL):
        raise RuleBroken(
            "role", "a bridge builder links family and school: sector family or school"
        )
    elif role is NetworkRole.BASE_WORKER and (sector is Sector.SCHOOL or kind is MemberKind.AGENCY):
        raise RuleBroken("role", "a base worker supports at home: not school staff, not an agency")
    elif role is NetworkRole.TEACHER and sector is not Sector.SCHOOL:
        raise RuleBroken("role", "a teacher stands in the school sector")
