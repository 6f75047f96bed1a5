"""The case file: one case's contact directory, consent and the messages owed.

It is the aggregate every event of a case updates, in one document. Events reach it from
several topics in any order, so each change is written to commute: contacts are upserted,
consent keeps the newest decision, a closed case stays closed, intents are kept once per event,
a person removed stays removed.

Closing a case clears its personal data in the same single-document write that marks it
closed; an erasure also marks ``erasure_pending`` until the rest of the erasure (cancelling
what is scheduled, forgetting cached keys, the audit entry) is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

from vrac_contracts.consent import ConsentState, consent_key, is_newer
from vrac_contracts.ids import derived_id
from vrac_contracts.values import (
    Channel,
    ConsentPurpose,
    DeliveryError,
    Language,
    NetworkRole,
    Pilot,
    TaskCategory,
)

from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.intents import (
    DeclinedTaskMessage,
    DiplomaMessage,
    FamilyAdviceMessage,
    Intent,
    OverdueTaskNotice,
    SchoolAdviceMessage,
    TaskMessage,
)

Advice = SchoolAdviceMessage | FamilyAdviceMessage


def supersedes(candidate: ConsentState, current: ConsentState | None) -> bool:
    """Newest wins; on a tie the withdrawal wins, the safer reading."""
    if current is None or is_newer(current, candidate):
        return True
    return candidate.changed_at == current.changed_at and current.granted and not candidate.granted


class Outcome(StrEnum):
    SEND = "send"
    WITHHELD = "withheld"  # a consent it needs is missing
    UNREACHABLE = "unreachable"  # no address for the contact's channel


@dataclass(frozen=True)
class Planned:
    """One message to one recipient, and what to do with it."""

    delivery_id: str
    intent: Intent
    contact: Contact
    outcome: Outcome
    channel: Channel
    consented_at: dt.datetime | None = None  # newest decision among the consents it needs

    @property
    def consent_was_in_force(self) -> bool:
        """The consent it needs was decided before the message became due.

        Events of different topics arrive in any order: a grant decided before a task was
        assigned may be read after it. Such a grant releases a message withheld meanwhile;
        a grant decided later does not revive old messages.
        """
        return self.consented_at is not None and self.consented_at <= self.intent.occurred_at

    @property
    def error(self) -> DeliveryError | None:
        return {
            Outcome.WITHHELD: DeliveryError.NO_CONSENT,
            Outcome.UNREACHABLE: DeliveryError.NO_CONTACT_DETAILS,
        }.get(self.outcome)


def delivery_id(trigger_id: str, recipient_id: str) -> str:
    """One delivery per event and recipient: a redelivered event finds it already there."""
    return derived_id("notification", trigger_id, recipient_id)


@dataclass
class CaseFile:
    case_id: str
    pilot: Pilot
    version: int = 0
    closed_at: dt.datetime | None = None
    child_first_name: str | None = None
    family_language: Language | None = None
    contacts: dict[str, Contact] = field(default_factory=dict)
    consents: dict[str, ConsentState] = field(default_factory=dict)
    intents: list[Intent] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)  # ids of guardians and members who left
    # per member, when the details filed were recorded: an older event read late changes nothing
    member_as_of: dict[str, dt.datetime] = field(default_factory=dict)
    erased_at: dt.datetime | None = None  # the family asked for erasure
    erasure_pending: bool = False  # the erasure's steps after this write are not all done
    # how many of ``intents`` the store held when the file was read: the rest are new, and
    # only they are written (intents are only ever appended, or all cleared by a closing)
    stored_intents: int = field(default=0, repr=False, compare=False)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    # -- the directory --

    def register_family(
        self, child_first_name: str, language: Language, guardians: Iterable[Contact]
    ) -> bool:
        if self.closed:
            return False  # nothing will be sent: keep no personal data
        self.child_first_name = child_first_name
        self.family_language = language
        for guardian in guardians:
            if guardian.recipient_id not in self.removed:
                self.contacts[guardian.recipient_id] = guardian
        return True

    def add_member(self, member: Contact, as_of: dt.datetime | None = None) -> bool:
        """File a member as a member-added or member-edited event recorded at ``as_of``
        describes them; the newest wins, whatever order the events are read in."""
        if self.closed or member.recipient_id in self.removed:
            return False  # a late member-added of someone who left stores nothing
        known = self.member_as_of.get(member.recipient_id)
        if known is not None and as_of is not None and known >= as_of:
            return False
        self.contacts[member.recipient_id] = member
        if as_of is not None:
            self.member_as_of[member.recipient_id] = as_of
        return True

    def remove_contact(self, recipient_id: str) -> bool:
        """A guardian or member left: their details go, and stay out if an older event
        about them is read later. Messages owed to them are no longer planned."""
        if recipient_id in self.removed:
            return False
        self.removed.add(recipient_id)
        self.contacts.pop(recipient_id, None)
        self.member_as_of.pop(recipient_id, None)
        return True

    def change_consent(self, key: str, decision: ConsentState) -> bool:
        """Apply a consent decision unless a newer one is already known."""
        if not supersedes(decision, self.consents.get(key)):
            return False
        self.consents[key] = decision
        return True

    def has_consent(self, key: str) -> bool:
        decision = self.consents.get(key)
        return decision is not None and decision.granted

    def close(self, at: dt.datetime, *, erase: bool = False) -> None:
        """Nothing is sent for a closed case, so its personal data goes: names, addresses,
        the messages owed. Delivery records hold ids only and stay. ``erase``: the family
        asked for erasure, whose remaining steps are pending until ``erasure_done``."""
        if self.closed_at is None or at < self.closed_at:
            self.closed_at = at
        self.child_first_name = None
        self.contacts = {}
        self.intents = []
        if erase and self.erased_at is None:
            self.erased_at = at
            self.erasure_pending = True

    def erasure_done(self) -> bool:
        if not self.erasure_pending:
            return False
        self.erasure_pending = False
        return True

    # -- messages owed --

    def expect(self, intent: Intent) -> bool:
        """Record a message owed, once per triggering event."""
        if self.closed or any(
            known.trigger_id == intent.trigger_id and known.kind == intent.kind
            for known in self.intents
        ):
            return False  # one event may owe several kinds (a screening: school and family)
        if (
            isinstance(intent, TaskMessage | DeclinedTaskMessage | OverdueTaskNotice)
            and intent.category is None
        ):
            intent = replace(intent, category=self._category_of(intent.task_id))
        self.intents.append(intent)
        return True

    def _category_of(self, task_id: str) -> TaskCategory | None:
        for known in self.intents:
            if isinstance(known, TaskMessage) and known.task_id == task_id and known.category:
                return known.category
        return None

    def plan(self) -> list[Planned]:
        """Every message owed to a recipient known now, with whether it may go out.

        Nothing at all for a closed case. The caller skips those already delivered.
        """
        if self.closed:
            return []
        return [self._decide(intent, contact) for intent, contact in self._addressed()]

    def _addressed(self) -> Iterator[tuple[Intent, Contact]]:
        for intent in self.intents:
            for contact in self._recipients(intent):
                yield intent, contact

    def _recipients(self, intent: Intent) -> list[Contact]:
        contacts = self.contacts.values()
        if isinstance(intent, TaskMessage):
            member = self.contacts.get(intent.member_id)
            return [member] if member is not None else []
        if isinstance(intent, DeclinedTaskMessage | OverdueTaskNotice):
            return self._coordinators(intent)
        if isinstance(intent, DiplomaMessage):
            return [c for c in contacts if c.recipient_kind is RecipientKind.GUARDIAN]
        if intent is not self._latest_advice(type(intent)):
            return []  # an older screening's advice is superseded by the newer one
        if isinstance(intent, FamilyAdviceMessage):
            return [c for c in contacts if c.recipient_kind is RecipientKind.GUARDIAN]
        return [c for c in contacts if c.is_school]

    def _coordinators(self, intent: DeclinedTaskMessage | OverdueTaskNotice) -> list[Contact]:
        """The coordinator network named, else every spider in the web the directory knows;
        one who declined their own task, or whose own task is overdue (they get the
        assignee's reminder), needs no word of it."""
        named_id = intent.coordinator_id if isinstance(intent, DeclinedTaskMessage) else None
        if named_id is not None:
            named = self.contacts.get(named_id)
            found = [named] if named is not None else []
        else:
            found = [c for c in self.contacts.values() if c.role is NetworkRole.SPIDER_IN_THE_WEB]
        return [c for c in found if c.recipient_id != intent.member_id]

    def _latest_advice(self, kind: type[Advice]) -> Advice | None:
        advice = [i for i in self.intents if isinstance(i, kind)]
        return max(advice, key=lambda i: i.occurred_at, default=None)

    def _decide(self, intent: Intent, contact: Contact) -> Planned:
        route = contact.route()
        needed = contact.required_consents() + _consents_for(intent)
        decided = [self.consents[key].changed_at for key in needed if key in self.consents]
        if not all(self.has_consent(key) for key in needed):
            outcome = Outcome.WITHHELD
        elif route is None:
            outcome = Outcome.UNREACHABLE
        else:
            outcome = Outcome.SEND
        return Planned(
            delivery_id=delivery_id(intent.trigger_id, contact.recipient_id),
            intent=intent,
            contact=contact,
            outcome=outcome,
            channel=route or contact.channel,
            consented_at=max(decided, default=None),
        )


def _consents_for(intent: Intent) -> list[str]:
    """What a message needs whoever reads it: the advice of a screening goes to the family
    only under the screening consent, so a withdrawal of it stops the advice too."""
    if isinstance(intent, FamilyAdviceMessage):
        return [consent_key(ConsentPurpose.SCREENING)]
    return []
