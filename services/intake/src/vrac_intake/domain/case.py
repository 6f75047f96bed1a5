"""The case aggregate: one child and family in one programme of one pilot.

Every change records the events it caused in ``events``; the repository stores them in the
case's outbox in the same write as the new state.

Personal data leaves the case only sealed (the caller seals it with the key store before
registering), and a change that removes personal data lists the data keys to destroy in
``keys_to_destroy``: the change is stored first, the keys are destroyed after, and the list
says what is still owed if that second step failed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import (
    CaseClosed,
    CaseOpened,
    ConsentChangedV2,
    ConsentRecorded,
    FamilyRegisteredV2,
    GuardianRemoved,
    SealedGuardian,
)
from vrac_contracts.values import CloseReason, Language, Pilot
from vrac_runtime.aggregate import RecordsEvents

from vrac_intake.domain import consent
from vrac_intake.domain.clock import ONE_TICK, to_stored
from vrac_intake.domain.commands import CloseCase, RecordConsent, RegisterFamily
from vrac_intake.domain.consent import ConsentDecision
from vrac_intake.domain.errors import (
    CaseIsClosed,
    LastGuardian,
    RuleBroken,
    StaleDecision,
    UnknownGuardian,
)
from vrac_intake.domain.family import Guardian, SealedFamily, check_birth_year, check_guardians

# How far ahead of our clock a decision's time may be (the client's clock may run fast).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class Case(RecordsEvents):
    case_id: str
    pilot: Pilot
    programme: str
    language: Language
    # personal data: None once the family asked for erasure
    child_first_name: str | None
    birth_year: int | None
    school_name: str | None
    guardians: tuple[Guardian, ...]
    opened_at: dt.datetime
    registered_by: str
    status: CaseStatus = CaseStatus.OPEN
    closed_at: dt.datetime | None = None
    close_reason: CloseReason | None = None
    closed_by: str | None = None
    erased: bool = False
    consents: list[ConsentDecision] = field(default_factory=list)
    # ids of guardians removed from the case (their details are gone; ids are not personal)
    removed_guardians: list[str] = field(default_factory=list)
    # data keys still to destroy; the case id stands for every key of the case
    keys_to_destroy: list[str] = field(default_factory=list)
    version: int = 0
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    # -- commands --

    @staticmethod
    def check_registration(command: RegisterFamily, now: dt.datetime) -> None:
        """Refuse a registration that breaks a rule (before anything is sealed for it)."""
        check_birth_year(command.birth_year, to_stored(now).year)
        check_guardians(command.guardians)

    @classmethod
    def register(
        cls,
        command: RegisterFamily,
        case_id: str,
        guardian_ids: Sequence[str],
        now: dt.datetime,
        family: SealedFamily,
    ) -> Case:
        """Open a case for the family; records case-opened and family-registered, whose
        personal details are ``family``, sealed for these ids."""
        now = to_stored(now)
        cls.check_registration(command, now)
        if family.child.key_id != case_id or set(family.guardians) != set(guardian_ids):
            raise ValueError("the sealed family is not sealed for this case")
        language = command.language or command.pilot.default_language
        guardians = tuple(
            Guardian(
                guardian_id=guardian_id,
                name=details.name,
                email=details.email,
                phone=details.phone,
                preferred_channel=details.preferred_channel,
                language=details.language or language,
            )
            for guardian_id, details in zip(guardian_ids, command.guardians, strict=True)
        )
        case = cls(
            case_id=case_id,
            pilot=command.pilot,
            programme=command.programme,
            language=language,
            child_first_name=command.child_first_name,
            birth_year=command.birth_year,
            school_name=command.school_name,
            guardians=guardians,
            opened_at=now,
            registered_by=command.registered_by,
        )
        case._record_opened()
        case._record_family_registered(family)
        return case

    def record_consent(self, command: RecordConsent, now: dt.datetime) -> ConsentDecision | None:
        """Record a decision; None (and no event) when it changes nothing."""
        self._ensure_open()
        consent.check_scope(command.purpose, command.agency_id)
        who = command.recorded_by
        if who.guardian_id is not None and self.guardian(who.guardian_id) is None:
            raise RuleBroken("recorded_by.guardian_id", "is not a guardian of this case")
        now = to_stored(now)
        if command.decided_at is not None and command.decided_at > now + FUTURE_TOLERANCE:
            raise RuleBroken("decided_at", "lies in the future")
        previous = consent.current(self.consents).get((command.purpose, command.agency_id))
        if previous is not None and previous.granted == command.granted:
            return None
        if previous is None and not command.granted:
            return None  # never granted: withdrawing changes nothing
        decided_at = self._decision_time(command.decided_at, previous, now)
        decision = ConsentDecision(
            purpose=command.purpose,
            agency_id=command.agency_id,
            granted=command.granted,
            recorded_by=who,
            decided_at=decided_at,
            recorded_at=now,
        )
        self.consents.append(decision)
        self._record_consent(decision)
        return decision

    def close(self, command: CloseCase, now: dt.datetime) -> None:
        """Close the case for good; erase the family's details when they asked for it."""
        self._ensure_open()
        self.status = CaseStatus.CLOSED
        self.closed_at = to_stored(now)
        self.close_reason = command.reason
        self.closed_by = command.closed_by
        if command.reason is CloseReason.ERASURE_REQUESTED:
            self._erase()
        self.record(CaseClosed, self.closed_at, reason=command.reason)

    def remove_guardian(self, guardian_id: str, now: dt.datetime) -> None:
        """Take a guardian off the case: their details go, their key is owed destruction;
        records guardian-removed. The family stays reachable: the last one stays."""
        self._ensure_open()
        if self.guardian(guardian_id) is None:
            raise UnknownGuardian(f"case {self.case_id} has no guardian {guardian_id}")
        if len(self.guardians) == 1:
            raise LastGuardian("the last guardian of an open case cannot be removed")
        self.guardians = tuple(g for g in self.guardians if g.guardian_id != guardian_id)
        self.removed_guardians.append(guardian_id)
        self.keys_to_destroy.append(guardian_id)
        self.record(GuardianRemoved, to_stored(now), guardian_id=guardian_id)

    def keys_destroyed(self, key_ids: Collection[str]) -> None:
        """The key store destroyed these keys: they are no longer owed."""
        self.keys_to_destroy = [k for k in self.keys_to_destroy if k not in key_ids]

    # -- queries --

    def guardian(self, guardian_id: str) -> Guardian | None:
        return next((g for g in self.guardians if g.guardian_id == guardian_id), None)

    def current_consents(self) -> list[ConsentDecision]:
        """The latest decision per purpose, in the order the purposes were first decided."""
        return list(consent.current(self.consents).values())

    # -- internals --

    def _ensure_open(self) -> None:
        if self.status is CaseStatus.CLOSED:
            raise CaseIsClosed(f"case {self.case_id} is closed")

    @staticmethod
    def _decision_time(
        asked: dt.datetime | None, previous: ConsentDecision | None, now: dt.datetime
    ) -> dt.datetime:
        """When the decision was made: as given, else now. Consumers keep the newest
        decision per purpose, so each must be strictly later than the one before."""
        if asked is not None:
            asked = to_stored(asked)
            if previous is not None and asked <= previous.decided_at:
                raise StaleDecision("a later decision for this purpose is already recorded")
            return asked
        if previous is not None and now <= previous.decided_at:
            return previous.decided_at + ONE_TICK  # our clock stepped back, or the same ms
        return now

    def _erase(self) -> None:
        self.child_first_name = None
        self.birth_year = None
        self.school_name = None
        self.guardians = tuple(g.erased() for g in self.guardians)
        self.erased = True
        self.keys_to_destroy = [self.case_id]  # every key of the case, the guardians' too

    def _record_opened(self) -> None:
        self.record(CaseOpened, self.opened_at, programme=self.programme, opened_at=self.opened_at)

    def _record_family_registered(self, family: SealedFamily) -> None:
        self.record(
            FamilyRegisteredV2,
            self.opened_at,
            language=self.language,
            programme=self.programme,
            child=family.child,
            guardians=[
                SealedGuardian(
                    guardian_id=g.guardian_id,
                    preferred_channel=g.preferred_channel,
                    language=g.language,
                    details=family.guardians[g.guardian_id],
                )
                for g in self.guardians
            ],
        )

    def _record_consent(self, decision: ConsentDecision) -> None:
        """Every decision twice, in the same write: publicly without the agency, and on the
        internal topic with it for the services that act on it."""
        decided = {
            "purpose": decision.purpose,
            "granted": decision.granted,
            "changed_by": decision.recorded_by.role,
            "changed_at": decision.decided_at,
        }
        self.record(ConsentChangedV2, decision.recorded_at, **decided)
        self.record(ConsentRecorded, decision.recorded_at, agency_id=decision.agency_id, **decided)
