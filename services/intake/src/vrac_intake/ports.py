"""What the handlers need from outside the domain: the Mongo adapter or a test fake."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pydantic import BaseModel
from vrac_contracts.events.audit import AccessRecorded
from vrac_contracts.events.sealed import Sealed
from vrac_contracts.values import Pilot

from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.links import FamilyLink


class Cases(Protocol):
    """Where cases live. Each write stores the state and the case's recorded events
    together; ``save`` raises ChangedMeanwhile when the stored version moved on."""

    async def add(self, case: Case, fingerprint: str | None = None) -> bool:
        """Insert a new case; False (and nothing written) when its id already exists."""

    async def fingerprint(self, case_id: str) -> str | None:
        """The request fingerprint a case was registered with, if any."""

    async def get(self, case_id: str) -> Case | None: ...

    async def save(self, case: Case) -> None: ...

    def lock(self, case_id: str) -> AbstractAsyncContextManager[None]:
        """Hold while reading, deciding and writing one case."""

    async def search(
        self, pilot: Pilot | None, status: CaseStatus | None, limit: int, offset: int
    ) -> list[Case]: ...

    async def owing_keys(self, limit: int) -> list[str]:
        """Ids of cases with data keys still to destroy (an erasure or removal unfinished)."""


class Keys(Protocol):
    """The data keys intake seals the family's details with (``vrac_runtime.sealing``)."""

    async def seal(self, case_id: str, key_id: str, plain: BaseModel) -> Sealed:
        """``plain`` sealed under the key ``key_id`` of the case, made on first use;
        raises KeyGone once that key was destroyed."""

    async def destroy(self, case_id: str, key_id: str) -> None:
        """Destroy one key for good (a person removed)."""

    async def destroy_case(self, case_id: str) -> int:
        """Destroy every key of the case for good (the case erased)."""


class AuditTrail(Protocol):
    """Where the audit trail's entries are kept: append-only, once per entry id."""

    async def keep(self, entry: AccessRecorded) -> bool:
        """Store the entry; False (and nothing written) when its id is stored already."""

    async def of_case(self, case_id: str, limit: int, offset: int) -> list[AccessRecorded]:
        """A case's entries, oldest first."""


class FamilyLinks(Protocol):
    """The family links intake issued: ids, case, guardian, times; never the token."""

    async def add(self, link: FamilyLink) -> None: ...

    async def get(self, link_id: str) -> FamilyLink | None: ...

    async def put(self, link: FamilyLink) -> None:
        """Store a changed link (its revocation)."""

    async def of_case(self, case_id: str) -> list[FamilyLink]:
        """A case's links, oldest first."""
