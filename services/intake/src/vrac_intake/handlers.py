"""One function per command or query: load the case, let the domain decide, store the result.

Handlers know nothing of HTTP or Mongo: they talk to the ``Cases`` port, and the caller
passes ``authorize``, which refuses a case of a pilot the caller may not touch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

from vrac_contracts.events.audit import AccessRecorded
from vrac_contracts.ids import derived_id, new_id
from vrac_contracts.values import Pilot
from vrac_runtime.values import Clock, utc_now

from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.commands import CloseCase, RecordConsent, RegisterFamily
from vrac_intake.domain.consent import ConsentDecision
from vrac_intake.domain.errors import IdempotencyKeyReused, UnknownCase
from vrac_intake.ports import AuditTrail, Cases

T = TypeVar("T")
Authorize = Callable[[Pilot], None]


@dataclass
class Deps:
    """What the handlers use: the ports, and the clock and id minting tests replace."""

    cases: Cases
    audit: AuditTrail
    clock: Clock = utc_now
    mint: Callable[[str], str] = new_id


@dataclass(frozen=True)
class Registration:
    case: Case
    created: bool  # False: a retry of a registration already done


@dataclass(frozen=True)
class ConsentOutcome:
    case: Case
    decision: ConsentDecision | None  # None: nothing changed

    @property
    def changed(self) -> bool:
        return self.decision is not None


async def register_family(
    deps: Deps, command: RegisterFamily, authorize: Authorize
) -> Registration:
    """Open a case for a family: case-opened and family-registered, in one write."""
    authorize(command.pilot)
    key = command.idempotency_key
    case_id = deps.mint("case") if key is None else derived_id("case", command.pilot, key)
    guardian_ids = [deps.mint("guardian") for _ in command.guardians]
    case = Case.register(command, case_id, guardian_ids, deps.clock())
    fingerprint = None if key is None else _fingerprint(command, key)
    if await deps.cases.add(case, fingerprint):
        return Registration(case, created=True)
    # the key was used before: the same request again is answered with what it made
    if fingerprint is not None and await deps.cases.fingerprint(case_id) == fingerprint:
        stored = await deps.cases.get(case_id)
        if stored is not None:
            return Registration(stored, created=False)
    raise IdempotencyKeyReused("this Idempotency-Key was used for another registration")


async def record_consent(
    deps: Deps, command: RecordConsent, authorize: Authorize
) -> ConsentOutcome:
    """Grant or withdraw consent for one purpose; consent-changed only when it changes."""

    def decide(case: Case) -> ConsentDecision | None:
        return case.record_consent(command, deps.clock())

    case, decision = await _change(deps, command.case_id, authorize, decide)
    return ConsentOutcome(case, decision)


async def close_case(deps: Deps, command: CloseCase, authorize: Authorize) -> Case:
    """Close the case with a coded reason: case-closed."""
    case, _ = await _change(
        deps, command.case_id, authorize, lambda c: c.close(command, deps.clock())
    )
    return case


async def get_case(deps: Deps, case_id: str, authorize: Authorize) -> Case:
    case = await deps.cases.get(case_id)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    authorize(case.pilot)
    return case


async def list_cases(
    deps: Deps, pilot: Pilot | None, status: CaseStatus | None, limit: int, offset: int
) -> list[Case]:
    """Cases of one pilot (or of all, for ``None``), newest first."""
    return await deps.cases.search(pilot, status, limit, offset)


async def keep_access_record(deps: Deps, entry: AccessRecorded) -> bool:
    """Keep an entry of the audit trail, from whichever service recorded it; a redelivered
    entry is kept once. Kept whatever became of the case: an entry holds no personal data,
    so an erasure leaves it, and it still tells who saw the file before."""
    return await deps.audit.keep(entry)


async def show_audit(
    deps: Deps, case_id: str, authorize: Authorize, limit: int, offset: int
) -> list[AccessRecorded]:
    """Who saw or changed the case's file, oldest first; for those ``authorize`` admits."""
    await get_case(deps, case_id, authorize)
    return await deps.audit.of_case(case_id, limit, offset)


async def _change(
    deps: Deps, case_id: str, authorize: Authorize, change: Callable[[Case], T]
) -> tuple[Case, T]:
    async with deps.cases.lock(case_id):
        case = await get_case(deps, case_id, authorize)
        result = change(case)
        if case.events:
            await deps.cases.save(case)
    return case, result


def _fingerprint(command: RegisterFamily, key: str) -> str:
    """A digest of what was asked, salted with the key (which is not stored), so the
    stored value says nothing about the family."""
    asked = asdict(command)
    asked.pop("registered_by")
    text = json.dumps(asked, sort_keys=True, default=str)
    return hashlib.sha256(f"{key}\x1f{text}".encode()).hexdigest()
