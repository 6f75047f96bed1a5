"""What a user asks intake to do (imperative), as plain data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vrac_contracts.values import CloseReason, ConsentPurpose, Language, Pilot

from vrac_intake.domain.consent import Recorder
from vrac_intake.domain.family import GuardianDetails


@dataclass(frozen=True)
class RegisterFamily:
    pilot: Pilot
    programme: str
    child_first_name: str
    birth_year: int
    school_name: str | None
    language: Language | None  # None: the pilot's language
    guardians: tuple[GuardianDetails, ...]
    registered_by: str  # token subject, for the audit trail
    # a client's retry of the same request carries the same key and opens no second case
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RecordConsent:
    case_id: str
    purpose: ConsentPurpose
    granted: bool
    agency_id: str | None
    recorded_by: Recorder
    decided_at: dt.datetime | None = None  # None: now


@dataclass(frozen=True)
class CloseCase:
    case_id: str
    reason: CloseReason
    closed_by: str  # token subject, for the audit trail


@dataclass(frozen=True)
class RemoveGuardian:
    case_id: str
    guardian_id: str
