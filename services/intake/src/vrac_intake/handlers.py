"""One function per command or query: load the case, let the domain decide, store the result.

Handlers know nothing of HTTP or Mongo: they talk to the ``Cases`` and ``Keys`` ports, and
the caller passes ``authorize``, which refuses a case of a pilot the caller may not touch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final, TypeVar

from vrac_contracts.events.audit import AccessRecorded
from vrac_contracts.events.sealed import ChildDetails
from vrac_contracts.events.sealed import GuardianDetails as SealedGuardianDetails
from vrac_contracts.ids import derived_id, new_id
from vrac_contracts.values import Pilot
from vrac_runtime.family import FamilyGrant, family_claims
from vrac_runtime.logging import get_logger
from vrac_runtime.sealing import KeyGone
from vrac_runtime.values import Clock, utc_now

from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.commands import CloseCase, RecordConsent, RegisterFamily, RemoveGuardian
from vrac_intake.domain.consent import ConsentDecision
from vrac_intake.domain.errors import (
    CaseIsClosed,
    IdempotencyKeyReused,
    LinkRefused,
    UnknownCase,
    UnknownGuardian,
    UnknownLink,
)
from vrac_intake.domain.family import SealedFamily
from vrac_intake.domain.links import FamilyLink
from vrac_intake.ports import AuditTrail, Cases, FamilyLinks, Keys

T = TypeVar("T")
Authorize = Callable[[Pilot], None]
log = get_logger(__name__)
# how many cases with keys owed one run of the periodic job takes on
OWED_BATCH = 100


@dataclass
class Deps:
    """What the handlers use: the ports, and the clock and id minting tests replace."""

    cases: Cases
    audit: AuditTrail
    keys: Keys
    links: FamilyLinks
    sign: Callable[[Mapping[str, Any]], str]  # signs a family link with intake's own key
    clock: Clock = utc_now
    mint: Callable[[str], str] = new_id
    link_days: int = 30  # how long a family link opens the case


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
    """Open a case for a family: case-opened and family-registered (its personal details
    sealed under the case's and each guardian's key), in one write."""
    authorize(command.pilot)
    now = deps.clock()
    Case.check_registration(command, now)  # no key is made for a refused request
    key = command.idempotency_key
    case_id = deps.mint("case") if key is None else derived_id("case", command.pilot, key)
    fingerprint = None if key is None else _fingerprint(command, key)
    if key is not None and (before := await _registered_before(deps, case_id, fingerprint)):
        return before
    guardian_ids = [deps.mint("guardian") for _ in command.guardians]
    try:
        family = await _seal_family(deps.keys, case_id, guardian_ids, command)
        case = Case.register(command, case_id, guardian_ids, now, family)
        if await deps.cases.add(case, fingerprint):
            return Registration(case, created=True)
    except KeyGone:
        pass  # the same key registered a case, which was erased, meanwhile
    # the key was used before: the same request again is answered with what it made
    before = await _registered_before(deps, case_id, fingerprint)
    if before is None:
        raise IdempotencyKeyReused("this Idempotency-Key was used for another registration")
    return before


async def _registered_before(
    deps: Deps, case_id: str, fingerprint: str | None
) -> Registration | None:
    """The case an earlier request with the same Idempotency-Key made, if the same family;
    None if there is none; IdempotencyKeyReused if it registered another family."""
    stored = await deps.cases.get(case_id)
    if stored is None:
        return None
    if fingerprint is None or await deps.cases.fingerprint(case_id) != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used for another registration")
    return Registration(stored, created=False)


async def _seal_family(
    keys: Keys, case_id: str, guardian_ids: list[str], command: RegisterFamily
) -> SealedFamily:
    """The family's personal details sealed: the child's under the case id, each guardian's
    under their own id, so removing one person destroys only their key. The case's key
    first: once the case is erased it is gone, and no guardian key is made for it."""
    child = ChildDetails(
        child_first_name=command.child_first_name,
        birth_year=command.birth_year,
        school_name=command.school_name,
    )
    sealed_child = await keys.seal(case_id, case_id, child)
    guardians = {
        guardian_id: await keys.seal(
            case_id,
            guardian_id,
            SealedGuardianDetails(name=details.name, email=details.email, phone=details.phone),
        )
        for guardian_id, details in zip(guardian_ids, command.guardians, strict=True)
    }
    return SealedFamily(sealed_child, guardians)


async def record_consent(
    deps: Deps, command: RecordConsent, authorize: Authorize
) -> ConsentOutcome:
    """Grant or withdraw consent for one purpose; consent-changed and consent-recorded
    only when it changes."""

    def decide(case: Case) -> ConsentDecision | None:
        return case.record_consent(command, deps.clock())

    case, decision = await _change(deps, command.case_id, authorize, decide)
    return ConsentOutcome(case, decision)


async def close_case(deps: Deps, command: CloseCase, authorize: Authorize) -> Case:
    """Close the case with a coded reason: case-closed. An erasure erases the family's
    details in that write, then destroys every data key of the case."""
    case, _ = await _change(
        deps, command.case_id, authorize, lambda c: c.close(command, deps.clock())
    )
    return case


async def remove_guardian(deps: Deps, command: RemoveGuardian, authorize: Authorize) -> Case:
    """Take one guardian off the case: their details are erased and guardian-removed queued
    in one write, then their data key is destroyed."""
    case, _ = await _change(
        deps,
        command.case_id,
        authorize,
        lambda c: c.remove_guardian(command.guardian_id, deps.clock()),
    )
    return case


async def finish_key_destruction(deps: Deps) -> int:
    """The periodic job: destroy the keys that erasures and removals still owe (their
    destruction failed, or the process stopped in between); how many cases it settled.
    Runs until done: a case that fails now is taken up again on the next run."""
    settled = 0
    for case_id in await deps.cases.owing_keys(OWED_BATCH):
        try:
            async with deps.cases.lock(case_id):
                case = await deps.cases.get(case_id)
                if case is not None and await _destroy_owed_keys(deps, case):
                    settled += 1
        except Exception as err:  # one case's trouble must not hold up the others
            log.warning("key destruction failed", case_id=case_id, error_type=type(err).__name__)
    return settled


async def _destroy_owed_keys(deps: Deps, case: Case) -> bool:
    """Destroy the keys ``case`` owes, then record that they are gone. The caller holds the
    case's lock; an error leaves the keys owed, for the periodic job."""
    owed = list(case.keys_to_destroy)
    if not owed:
        return False
    for key_id in owed:
        if key_id == case.case_id:
            await deps.keys.destroy_case(case.case_id)
        else:
            await deps.keys.destroy(case.case_id, key_id)
    case.keys_destroyed(owed)
    await deps.cases.save(case)
    return True


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


# -- the family's links --

REVOKED: Final = "this link was revoked; ask the coach for a new one"
GONE: Final = "this link no longer opens the case: it was closed and erased, or you left it"


async def issue_family_link(deps: Deps, case_id: str, guardian_id: str) -> tuple[FamilyLink, str]:
    """A new family link for a guardian of an open case (and its token), recorded so staff
    can list and revoke it. Refused for a closed or erased case (409) or a guardian not of
    the case (404)."""
    case = await deps.cases.get(case_id)
    if case is None:
        raise UnknownCase(f"no case {case_id}")
    if case.status is CaseStatus.CLOSED or case.erased:
        raise CaseIsClosed(f"case {case_id} is closed: no family link")
    if case.guardian(guardian_id) is None:
        raise UnknownGuardian(f"case {case_id} has no guardian {guardian_id}")
    now = deps.clock()
    claims = family_claims(
        case_id=case_id,
        pilot=case.pilot,
        guardian_id=guardian_id,
        ttl=deps.link_days * 86_400,
        now=int(now.timestamp()),
    )
    link = FamilyLink(
        link_id=claims["jti"],
        case_id=case_id,
        pilot=case.pilot,
        guardian_id=guardian_id,
        issued_at=now,
        expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
    )
    await deps.links.add(link)
    return link, deps.sign(claims)


async def family_case(deps: Deps, grant: FamilyGrant) -> Case:
    """The case a valid family link opens, while intake still honours the link: not
    revoked, its guardian still on the case, the case not erased (403 otherwise)."""
    link = await deps.links.get(grant.link_id)
    if link is None or link.revoked_at is not None:
        raise LinkRefused(REVOKED)
    case = await deps.cases.get(grant.case_id)
    if case is None or case.erased or case.guardian(grant.guardian_id) is None:
        raise LinkRefused(GONE)
    return case


async def list_family_links(deps: Deps, case_id: str, authorize: Authorize) -> list[FamilyLink]:
    await get_case(deps, case_id, authorize)
    return await deps.links.of_case(case_id)


async def revoke_family_link(deps: Deps, link_id: str, authorize: Authorize) -> FamilyLink:
    """Revoke a family link at once; revoking twice changes nothing."""
    link = await deps.links.get(link_id)
    if link is None:
        raise UnknownLink(f"no family link {link_id}")
    authorize(Pilot(link.pilot))
    revoked = link.revoked(deps.clock())
    if revoked is not link:
        await deps.links.put(revoked)
    return revoked


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
        if case.keys_to_destroy:
            await _try_destroying_owed_keys(deps, case)
    return case, result


async def _try_destroying_owed_keys(deps: Deps, case: Case) -> None:
    """Destroy the keys a change made owed, now. The change itself is stored already, so
    a failing key store does not undo it: the periodic job finishes the destruction."""
    try:
        await _destroy_owed_keys(deps, case)
    except Exception as err:
        log.warning("key destruction deferred", case_id=case.case_id, error_type=type(err).__name__)


def _fingerprint(command: RegisterFamily, key: str) -> str:
    """A digest of what was asked, salted with the key (which is not stored), so the
    stored value says nothing about the family."""
    asked = asdict(command)
    asked.pop("registered_by")
    text = json.dumps(asked, sort_keys=True, default=str)
    return hashlib.sha256(f"{key}\x1f{text}".encode()).hexdigest()
