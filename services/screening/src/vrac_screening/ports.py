"""What the handlers need from the world; the Mongo repositories and the PDF renderer in
``adapters`` implement these, the in-memory fakes of the tests too."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from vrac_contracts.events.intake import ConsentRecorded
from vrac_contracts.events.sealed import Sealed
from vrac_contracts.values import Language, Pilot
from vrac_runtime.intake_facts import IntakeFacts

from vrac_screening.domain.case import Case
from vrac_screening.domain.credential import Places, StatusEntry
from vrac_screening.domain.diploma import Diploma, DiplomaSheet
from vrac_screening.domain.links import DiplomaLink
from vrac_screening.domain.questionnaire import Questionnaire
from vrac_screening.domain.screening import Screening
from vrac_screening.domain.wellbeing import Measurement

M = TypeVar("M", bound=BaseModel)


class Access(Protocol):
    """Who is asking: raises when they may not see this pilot's cases."""

    def check(self, pilot: str) -> None: ...

    def check_shared(self, case: Case) -> None:
        """Raises when the family no longer shares the case's diploma with this caller."""
        ...


class Cases(IntakeFacts, Protocol):
    """Intake's cases as screening knows them. Every update is safe to apply twice, and an
    event may arrive before the case's ``case-opened``."""

    async def get(self, case_id: str) -> Case | None: ...

    async def record_consent(self, event: ConsentRecorded) -> None:
        """Keep the decision unless a newer one for the same key is already kept."""

    async def keep_family(
        self, case_id: str, pilot: Pilot, child_first_name: str, language: Language
    ) -> None:
        """Keep the child's name and language, unless the case was erased (one write that
        checks and sets, so a late event never brings a name back)."""

    async def mark_erased(self, case_id: str, pilot: Pilot) -> None:
        """The first step of an erasure, in one write: the case is erased from now on (no
        name, language or consent is kept, no write of ``begin_write`` is let in) and its
        erasure is pending until ``erasure_done``."""

    async def begin_write(self, case_id: str, until: dt.datetime) -> str | None:
        """Let one write of the case's records in, unless the case is erased (None); the
        returned token holds the case's erasure back until ``end_write`` or ``until``."""

    async def begin_write_reading(
        self, case_id: str, until: dt.datetime
    ) -> tuple[str | None, Case | None]:
        """``begin_write`` and ``get`` in one round trip: the token (None: erased, or no
        such case) and the case as it was when the write was let in."""

    async def end_write(self, case_id: str, token: str) -> None: ...

    async def writes_in_flight(self, case_id: str, now: dt.datetime) -> int:
        """How many writes let in by ``begin_write`` have neither ended nor expired."""

    async def erasure_done(self, case_id: str) -> None: ...

    async def erasures_pending(self) -> list[str]:
        """The cases marked erased whose records are not all gone yet."""


class CaseRecords(Protocol):
    """Records of a case that carry an event to send."""

    async def erase_case(self, case_id: str) -> int:
        """Delete the case's records whose event is sent; how many still wait."""


class Screenings(CaseRecords, Protocol):
    async def add(self, screening: Screening) -> None:
        """Store it with the events it recorded, in one write."""

    async def get(self, screening_id: str) -> Screening | None: ...

    async def of_case(self, case_id: str) -> list[Screening]:
        """Oldest first."""


class Diplomas(CaseRecords, Protocol):
    async def add(self, diploma: Diploma) -> bool:
        """Store it with its events; False (nothing written) when its id is taken."""

    async def get(self, diploma_id: str) -> Diploma | None: ...

    async def of_case(self, case_id: str) -> list[Diploma]:
        """Oldest first."""


class Questionnaires(CaseRecords, Protocol):
    async def add(self, questionnaire: Questionnaire) -> None: ...

    async def of_case(self, case_id: str) -> list[Questionnaire]:
        """Oldest first."""


class Measurements(CaseRecords, Protocol):
    async def add(self, measurement: Measurement) -> None: ...

    async def of_case(self, case_id: str) -> list[Measurement]:
        """Oldest first."""


class PdfCache(Protocol):
    """Rendered diplomas, so a second download renders nothing."""

    async def get(self, diploma_id: str) -> bytes | None: ...

    async def put(self, diploma: Diploma, pdf: bytes, rendered_at: dt.datetime) -> None: ...

    async def drop_case(self, case_id: str) -> None: ...


class Links(Protocol):
    """The diploma links issued, by id; erasure deletes those of the case."""

    async def add(self, link: DiplomaLink) -> None: ...

    async def get(self, link_id: str) -> DiplomaLink | None: ...

    async def put(self, link: DiplomaLink) -> None: ...

    async def of_diploma(self, diploma_id: str) -> list[DiplomaLink]: ...

    async def drop_case(self, case_id: str) -> None: ...


class LinkSigner(Protocol):
    """Signs a link opening ``path`` for ``seconds``: its id, the token, its expiry (epoch)."""

    def __call__(self, path: str, seconds: int) -> tuple[str, str, int]: ...


class Renderer(Protocol):
    """Prints a diploma sheet as a PDF (CPU-bound: the handler runs it in a thread)."""

    def __call__(self, sheet: DiplomaSheet, created: dt.datetime) -> bytes: ...


class SealedReader(Protocol):
    """Opens personal data that another service sealed with its data keys."""

    async def open(self, owner: str, case_id: str, sealed: Sealed, model: type[M]) -> M | None:
        """The plain value; None when its owner destroyed the key (the data was erased)."""

    def forget_case(self, case_id: str) -> None:
        """Drop every key of the case kept in memory."""


class AuditTrail(Protocol):
    """Entries for changes that an event, not a request, made to a case's personal data."""

    async def erased(self, case_id: str, pilot: str) -> None: ...


class CredentialStatuses(Protocol):
    """Each diploma's entry in its pilot's revocation list (Bitstring Status List)."""

    async def get(self, diploma_id: str) -> StatusEntry | None: ...

    async def allocate(self, diploma: Diploma) -> StatusEntry:
        """The diploma's entry, made now unless it has one."""
        ...

    async def renew(self, entry: StatusEntry) -> StatusEntry:
        """A fresh entry in place of a revoked one, which stays revoked."""
        ...

    async def revoke_case(self, case_id: str) -> None: ...

    async def forget_case(self, case_id: str) -> None:
        """Erasure: revoke the case's entries and drop the case id from them."""

    async def revoked(self, pilot: str) -> tuple[list[int], int]:
        """The pilot's revoked indexes and how many indexes it has handed out."""
        ...


class CredentialSigner(Protocol):
    """The pilots' issuer keys: signs credentials, and opens signed ones (raising
    CredentialRefused with the reason when a signature or its key does not hold)."""

    places: Places

    def sign(self, pilot: str, credential: dict[str, Any]) -> str: ...

    def open(self, token: str) -> tuple[str, dict[str, Any]]: ...

    def public_jwks(self, pilot: str) -> dict[str, Any]: ...
