"""What the handlers need from the world; the Mongo repositories and the PDF renderer in
``adapters`` implement these, the in-memory fakes of the tests too."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from vrac_contracts.values import Language, Pilot
from vrac_runtime.intake_facts import IntakeFacts

from vrac_screening.domain.case import Case
from vrac_screening.domain.diploma import Diploma, DiplomaSheet
from vrac_screening.domain.questionnaire import Questionnaire
from vrac_screening.domain.screening import Screening


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

    async def keep_family(
        self, case_id: str, pilot: Pilot, child_first_name: str, language: Language
    ) -> None:
        """Keep the child's name and language, unless the case was erased."""

    async def erase(self, case_id: str) -> None:
        """Forget the child's name and language for good."""


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


class PdfCache(Protocol):
    """Rendered diplomas, so a second download renders nothing."""

    async def get(self, diploma_id: str) -> bytes | None: ...

    async def put(self, diploma: Diploma, pdf: bytes, rendered_at: dt.datetime) -> None: ...

    async def drop(self, diploma_id: str) -> None: ...

    async def drop_case(self, case_id: str) -> None: ...


class Renderer(Protocol):
    """Prints a diploma sheet as a PDF (CPU-bound: the handler runs it in a thread)."""

    def __call__(self, sheet: DiplomaSheet, created: dt.datetime) -> bytes: ...
