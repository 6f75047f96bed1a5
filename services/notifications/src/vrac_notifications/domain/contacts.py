"""Who can be told something, how to reach them, and which consent that needs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vrac_contracts.consent import consent_key
from vrac_contracts.values import Channel, ConsentPurpose, Language, MemberKind, NetworkRole


class RecipientKind(StrEnum):
    GUARDIAN = "guardian"
    MEMBER = "member"


@dataclass(frozen=True, kw_only=True)
class Contact:
    """A guardian of the child or a member of the support network."""

    recipient_id: str
    recipient_kind: RecipientKind
    name: str
    language: Language
    channel: Channel
    email: str | None = None
    phone: str | None = None
    member_kind: MemberKind | None = None
    role: NetworkRole | None = None
    agency_id: str | None = None

    @property
    def is_school(self) -> bool:
        return self.role is NetworkRole.TEACHER

    @property
    def is_agency(self) -> bool:
        """An agency, someone speaking for one, or anyone reached by webhook."""
        if self.recipient_kind is RecipientKind.GUARDIAN:
            return False
        return (
            self.member_kind is MemberKind.AGENCY
            or self.channel is Channel.WEBHOOK
            or self.agency_id is not None
        )

    @property
    def knows_the_child_by_name(self) -> bool:
        """The family's own people, and the school under share-with-school, read the child's
        first name. An agency, and a professional the parents gave no purpose for (no agency,
        not the school), read the case id instead: the task needs doing, the name does not
        need to travel."""
        if self.recipient_kind is RecipientKind.GUARDIAN:
            return True
        if self.is_agency:
            return False
        return self.is_school or self.member_kind is not MemberKind.PROFESSIONAL

    def required_consents(self) -> list[str]:
        """The consents a message to this contact needs; the family's own need none."""
        needed: list[str] = []
        if self.is_school:
            needed.append(consent_key(ConsentPurpose.SHARE_WITH_SCHOOL))
        if self.is_agency:
            needed.append(consent_key(ConsentPurpose.SHARE_WITH_AGENCY, self.agency_id))
        return needed

    def route(self) -> Channel | None:
        """The channel a message actually goes through; None when it cannot be reached.

        There is no SMS gateway: SMS falls back to e-mail when an address is known. A webhook
        needs the agency's registered endpoint, which the sender checks.
        """
        if self.channel is Channel.WEBHOOK and self.recipient_kind is RecipientKind.MEMBER:
            return Channel.WEBHOOK if self.agency_id else None
        return Channel.EMAIL if self.email else None
