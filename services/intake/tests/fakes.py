"""In-memory implementations of intake's ports, for handler tests without a store."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from vrac_contracts.events.audit import AccessRecorded
from vrac_contracts.events.base import EventData
from vrac_contracts.values import Pilot
from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.errors import ChangedMeanwhile
from vrac_intake.domain.links import FamilyLink
from vrac_intake.handlers import Authorize
from vrac_runtime.auth import SigningKeys

# signs family links as intake does in development
SIGN = SigningKeys.development("intake").sign


class FakeCases:
    """Cases in a dict; stores copies, as a real store would, and keeps every event."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.fingerprints: dict[str, str | None] = {}
        self.outbox: list[EventData] = []

    async def add(self, case: Case, fingerprint: str | None = None) -> bool:
        if case.case_id in self.cases:
            return False
        self.outbox += case.pull_events()
        self.cases[case.case_id] = copy.deepcopy(case)
        self.fingerprints[case.case_id] = fingerprint
        return True

    async def fingerprint(self, case_id: str) -> str | None:
        return self.fingerprints.get(case_id)

    async def get(self, case_id: str) -> Case | None:
        case = self.cases.get(case_id)
        return None if case is None else copy.deepcopy(case)

    async def save(self, case: Case) -> None:
        if self.cases[case.case_id].version != case.version:
            raise ChangedMeanwhile(case.case_id)
        self.outbox += case.pull_events()
        if case.erased or case.removed_guardians:  # the fingerprint goes with the details
            self.fingerprints[case.case_id] = None
        case.version += 1
        self.cases[case.case_id] = copy.deepcopy(case)

    @asynccontextmanager
    async def lock(self, case_id: str) -> AsyncIterator[None]:
        yield

    async def search(
        self, pilot: Pilot | None, status: CaseStatus | None, limit: int, offset: int
    ) -> list[Case]:
        found = [
            c
            for c in self.cases.values()
            if pilot in (None, c.pilot) and status in (None, c.status)
        ]
        found.sort(key=lambda c: c.opened_at, reverse=True)
        return found[offset : offset + limit]

    async def owing_keys(self, limit: int) -> list[str]:
        return sorted(c.case_id for c in self.cases.values() if c.keys_to_destroy)[:limit]


class FakeAuditTrail:
    """Entries by id, in arrival order; a second entry with a known id is not kept."""

    def __init__(self) -> None:
        self.entries: dict[str, AccessRecorded] = {}

    async def keep(self, entry: AccessRecorded) -> bool:
        if entry.entry_id in self.entries:
            return False
        self.entries[entry.entry_id] = entry
        return True

    async def of_case(self, case_id: str, limit: int, offset: int) -> list[AccessRecorded]:
        mine = [e for e in self.entries.values() if e.case_id == case_id]
        mine.sort(key=lambda e: (e.occurred_at, e.entry_id))
        return mine[offset : offset + limit]


class Refused(Exception):
    """What the handlers' ``authorize`` stand-ins raise for a pilot they do not allow."""


def anyone(pilot: Pilot) -> None:
    return None


def only(allowed: Pilot) -> Authorize:
    def check(pilot: Pilot) -> None:
        if pilot is not allowed:
            raise Refused(pilot)

    return check


class FakeFamilyLinks:
    """The family links intake issued, in a dict."""

    def __init__(self) -> None:
        self.links: dict[str, FamilyLink] = {}

    async def add(self, link: FamilyLink) -> None:
        self.links[link.link_id] = link

    async def get(self, link_id: str) -> FamilyLink | None:
        return self.links.get(link_id)

    async def put(self, link: FamilyLink) -> None:
        self.links[link.link_id] = link

    async def of_case(self, case_id: str) -> list[FamilyLink]:
        return sorted(
            (link for link in self.links.values() if link.case_id == case_id),
            key=lambda link: link.issued_at,
        )
