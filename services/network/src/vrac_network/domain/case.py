"""The case as network knows it, with its support network.

A case document comes into being from whichever intake event arrives first (topics are not
ordered among each other), so ``opened`` and ``closed`` are independent facts: a case is
usable only when it was opened and is not closed. An erased case (closed with erasure
requested) keeps its members' ids, kinds and roles for the care plan's history, never their
names or contacts; a removed member likewise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from vrac_contracts.consent import ConsentState, consent_key
from vrac_contracts.events.base import EventData
from vrac_contracts.events.network import MemberAddedV2, MemberEdited, MemberRemoved
from vrac_contracts.events.sealed import MemberDetails, Sealed
from vrac_contracts.values import Channel, ConsentPurpose, Language, MemberKind, NetworkRole, Pilot
from vrac_runtime.aggregate import RecordsEvents
from vrac_runtime.values import required_text

from .errors import (
    CaseIsClosed,
    NoAgencyConsent,
    RuleBroken,
    UnknownCase,
    UnknownMember,
    UnknownRelation,
)
from .roles import Sector, check_role, default_sector

# what a coach may change of a member (kind and agency id say who they are: a new member)
EDITABLE: frozenset[str] = frozenset(
    {
        "role", "sector", "display_name", "relationship", "email", "phone", "webhook_url",
        "channel", "language",
    }
)  # fmt: skip


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
    sector: Sector | None = None


class RelationKind(StrEnum):
    """How two members of the network stand to each other: a line on the eco-map."""

    FAMILY_TIE = "family-tie"
    FRIENDSHIP = "friendship"
    WORKS_WITH = "works-with"
    STRAINED = "strained"


@dataclass(frozen=True)
class Relation:
    """A line between two members (ids only); it goes when either of them leaves."""

    relation_id: str
    from_id: str
    to_id: str
    kind: RelationKind

    @classmethod
    def between(cls, from_id: str, to_id: str, kind: RelationKind) -> Relation:
        """The relation with its id made from what it links, so asking twice is one line."""
        ends = "/".join(sorted((from_id, to_id)))
        digest = hashlib.sha256(f"{ends}/{kind}".encode()).hexdigest()[:20]
        return cls(f"rel_{digest}", from_id, to_id, kind)


@dataclass(frozen=True)
class Member:
    """A member of the child's support network. ``display_name`` is None once their
    personal data was erased (they left, or the case was erased)."""

    member_id: str
    kind: MemberKind
    role: NetworkRole
    display_name: str | None
    channel: Channel
    language: Language
    added_at: dt.datetime
    relationship: str | None = None
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None
    agency_id: str | None = None
    removed_at: dt.datetime | None = None
    sector: Sector = Sector.FAMILY

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def without_personal_data(self) -> Member:
        """The member as kept after erasure: ids and codes only (the care plan's history)."""
        return replace(
            self, display_name=None, relationship=None, email=None, phone=None, webhook_url=None
        )

    def details(self) -> MemberDetails:
        """What travels sealed on member-added; the contract has the last word on formats."""
        try:
            return MemberDetails(
                display_name=self.display_name or "",
                relationship=self.relationship,
                email=self.email,
                phone=self.phone,
            )
        except ValidationError as err:
            raise _refused(err) from None


def check_member_rules(details: NewMember | Member) -> None:
    """Rules across fields: the chosen channel must be reachable, agencies need their id."""
    required_text("display_name", details.display_name or "")
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
    # closed with erasure requested: nothing personal is stored or served any more
    erased: bool = False
    members: list[Member] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    # the newest decision per consent key (``vrac_contracts.consent``)
    consents: dict[str, ConsentState] = field(default_factory=dict)
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    def ensure_open(self) -> None:
        if not self.opened:
            raise UnknownCase(f"case {self.case_id} is not known (not opened yet)")
        if self.closed or self.erased:
            raise CaseIsClosed(f"case {self.case_id} is closed")

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.member_id == member_id), None)

    def active_members(self) -> list[Member]:
        return [m for m in self.members if not m.removed]

    def coordinator(self) -> Member | None:
        """The spider in the web: who hears of declines and overdue tasks."""
        return next(
            (m for m in self.active_members() if m.role is NetworkRole.SPIDER_IN_THE_WEB), None
        )

    def _check_role(
        self, member_id: str, role: NetworkRole, kind: MemberKind, sector: Sector
    ) -> None:
        current = self.coordinator()
        other = None if current is None or current.member_id == member_id else current.member_id
        check_role(role, kind, sector, other)

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

    def new_member(self, member_id: str, details: NewMember, now: dt.datetime) -> Member:
        """Someone who may join the network, checked but not added yet: their details are
        sealed (I/O) before :meth:`add_member` records them."""
        self.ensure_open()
        check_member_rules(details)
        sector = details.sector or default_sector(details.kind, details.role)
        self._check_role(member_id, details.role, details.kind, sector)
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
            sector=sector,
        )
        member.details()  # refuses a format the contract would refuse, before any key is made
        return member

    def _record_member(
        self, event: type[MemberAddedV2], member: Member, sealed: Sealed, now: dt.datetime
    ) -> None:
        """Record ``event`` of the member as they are, their details ``sealed``."""
        try:
            self.record(
                event,
                now,
                member_id=member.member_id,
                kind=member.kind,
                role=member.role,
                agency_id=member.agency_id,
                channel=member.channel,
                language=member.language,
                details=sealed,
            )
        except ValidationError as err:
            raise _refused(err) from None

    def add_member(self, member: Member, sealed: Sealed, now: dt.datetime) -> None:
        """Add the member and record member-added with their details ``sealed``."""
        self.ensure_open()
        self._record_member(MemberAddedV2, member, sealed, now)
        self.members.append(member)

    def edited_member(self, member_id: str, changes: Mapping[str, Any]) -> Member:
        """The member with ``changes`` applied and checked, not stored yet: their details
        are sealed again (I/O) before :meth:`edit_member` records them."""
        self.ensure_open()
        member = self.member(member_id)
        if member is None:
            raise UnknownMember(f"member {member_id} is not in case {self.case_id}'s network")
        if member.removed:
            raise RuleBroken("member_id", "this member left the case's network")
        unknown = set(changes) - EDITABLE
        if unknown:
            raise RuleBroken(sorted(unknown)[0], "cannot be changed; add a new member instead")
        edited = replace(member, **changes)
        if "display_name" in changes:
            edited = replace(
                edited, display_name=required_text("display_name", edited.display_name or "")
            )
        check_member_rules(edited)
        self._check_role(member_id, edited.role, edited.kind, edited.sector)
        edited.details()
        return edited

    def edit_member(self, member: Member, sealed: Sealed, now: dt.datetime) -> None:
        """Replace the member by its edited self and record member-edited, details sealed."""
        self.ensure_open()
        index = self.member_index(member.member_id)
        self._record_member(MemberEdited, member, sealed, now)
        self.members[index] = member

    def add_relation(self, relation: Relation) -> Relation:
        """A line between two present members; the same line twice is kept once."""
        self.ensure_open()
        for field_name, member_id in (("from_id", relation.from_id), ("to_id", relation.to_id)):
            found = self.member(member_id)
            if found is None or found.removed:
                raise RuleBroken(field_name, "not a present member of this case's network")
        if relation.from_id == relation.to_id:
            raise RuleBroken("to_id", "a relation links two different members")
        for known in self.relations:
            if known.relation_id == relation.relation_id:
                return known
        self.relations.append(relation)
        return relation

    def remove_relation(self, relation_id: str) -> None:
        self.ensure_open()
        kept = [r for r in self.relations if r.relation_id != relation_id]
        if len(kept) == len(self.relations):
            raise UnknownRelation(f"relation {relation_id} is not in case {self.case_id}'s network")
        self.relations = kept

    def remove_member(self, member_id: str, now: dt.datetime) -> Member:
        """The member leaves: their personal data goes, their id and role stay in the plan's
        history; records member-removed. Removing someone already gone changes nothing."""
        self.ensure_open()
        index = self.member_index(member_id)
        member = self.members[index]
        if member.removed:
            return member
        gone = replace(member.without_personal_data(), removed_at=now)
        self.members[index] = gone
        self.relations = [r for r in self.relations if member_id not in (r.from_id, r.to_id)]
        self.record(MemberRemoved, now, member_id=member_id)
        return gone

    def member_index(self, member_id: str) -> int:
        for index, member in enumerate(self.members):
            if member.member_id == member_id:
                return index
        raise UnknownMember(f"member {member_id} is not in case {self.case_id}'s network")

    def without_personal_data(self) -> Case:
        """The case as an erased case is served: members without names or contacts."""
        return replace(self, members=[m.without_personal_data() for m in self.members])


def _refused(err: ValidationError) -> RuleBroken:
    """The contract is the last word on field formats; name the field it refused."""
    first = err.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "member"
    return RuleBroken(where, first["msg"])
