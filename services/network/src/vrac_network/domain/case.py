"""The case as network knows it, with its support network.

A case document comes into being from whichever intake event arrives first (topics are not
ordered among each other), so ``opened`` and ``closed`` are independent facts: a case is
usable only when it was opened and is not closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydantic import ValidationError
from vrac_contracts.consent import ConsentState, consent_key
from vrac_contracts.events.base import EventData
from vrac_contracts.events.network import MemberAdded
from vrac_contracts.values import Channel, ConsentPurpose, Language, MemberKind, NetworkRole, Pilot
from vrac_runtime.aggregate import RecordsEvents
from vrac_runtime.values import required_text

from .errors import CaseIsClosed, NoAgencyConsent, RuleBroken, UnknownCase


@dataclass(frozen=True)
class NewMember:
    """What a coach tells us about someone joining the network."""

    kind: MemberKind
    role: NetworkRole
    display_name: str
    channel: Channel
    relationship: str | None = None
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None
    agency_id: str | None = None
    language: Language | None = None


@dataclass(frozen=True)
class Member:
    """A member of the child's support network."""

    member_id: str
    kind: MemberKind
    role: NetworkRole
    display_name: str
    channel: Channel
    language: Language
    added_at: dt.datetime
    relationship: str | None = None
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None
    agency_id: str | None = None


def check_member_rules(details: NewMember) -> None:
    """Rules across fields: the chosen channel must be reachable, agencies need their id."""
    required_text("display_name", details.display_name)
    if details.kind is MemberKind.AGENCY and not details.agency_id:
        raise RuleBroken("agency_id", "required for a member of kind agency")
    if details.channel is Channel.EMAIL and not details.email:
        raise RuleBroken("email", "required when the channel is email")
    if details.channel is Channel.SMS and not details.phone:
        raise RuleBroken("phone", "required when the channel is sms")
    if details.channel is Channel.WEBHOOK and not details.agency_id:
        # notifications finds the endpoint an agency registered by its agency id
        raise RuleBroken("agency_id", "required when the channel is webhook")


@dataclass
class Case(RecordsEvents):
    """A case and its support network. A change records its events in ``events``; the store
    writes them together with the change."""

    case_id: str
    pilot: Pilot
    opened: bool = False
    closed: bool = False
    members: list[Member] = field(default_factory=list)
    # the newest decision per consent key (``vrac_contracts.consent``)
    consents: dict[str, ConsentState] = field(default_factory=dict)
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    def ensure_open(self) -> None:
        if not self.opened:
            raise UnknownCase(f"case {self.case_id} is not known (not opened yet)")
        if self.closed:
            raise CaseIsClosed(f"case {self.case_id} is closed")

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.member_id == member_id), None)

    def agency_consent(self, agency_id: str) -> bool | None:
        """Whether the parents allow sharing with this agency; None when never asked."""
        consent = self.consents.get(consent_key(ConsentPurpose.SHARE_WITH_AGENCY, agency_id))
        return None if consent is None else consent.granted

    def ensure_shared_with(self, agency_id: str) -> None:
        """Raise unless the parents' newest decision shares the case with this agency."""
        if self.agency_consent(agency_id) is not True:
            raise NoAgencyConsent(
                f"the parents have not consented to sharing case {self.case_id} with agency "
                f"{agency_id} (purpose share-with-agency)"
            )

    def add_member(self, member_id: str, details: NewMember, now: dt.datetime) -> Member:
        """Add someone to the network and record member-added."""
        self.ensure_open()
        check_member_rules(details)
        member = Member(
            member_id=member_id,
            kind=details.kind,
            role=details.role,
            display_name=required_text("display_name", details.display_name),
            channel=details.channel,
            # without a stated language, the pilot's own language is the best guess
            language=details.language or self.pilot.default_language,
            added_at=now,
            relationship=details.relationship,
            email=details.email,
            phone=details.phone,
            webhook_url=details.webhook_url,
            agency_id=details.agency_id,
        )
        # built first: the contract may still refuse a field, and then nothing changes
        _record_member_added(self, member, now)
        self.members.append(member)
        return member


def _record_member_added(case: Case, member: Member, now: dt.datetime) -> None:
    try:
        case.record(
            MemberAdded,
            now,
            member_id=member.member_id,
            kind=member.kind,
            role=member.role,
            display_name=member.display_name,
            relationship=member.relationship,
            email=member.email,
            phone=member.phone,
            webhook_url=member.webhook_url,
            agency_id=member.agency_id,
            channel=member.channel,
            language=member.language,
        )
    except ValidationError as err:
        # the contract is the last word on field formats; name the field it refused
        first = err.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "member"
        raise RuleBroken(where, first["msg"]) from None
