"""What screening knows about a case, projected from intake's events.

Intake's topics are not ordered among each other, so any of its events may arrive first;
the projection only ever moves forward (opened, closed and erased stay set, and per
purpose the consent decision with the newest ``changed_at`` wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vrac_contracts.consent import ConsentState, granted
from vrac_contracts.values import CloseReason, ConsentPurpose, Language, Pilot

from vrac_screening.domain.errors import CaseIsClosed, NoConsent, UnknownCase

# what the parents must have consented to before each action
_PURPOSE_TEXT = {
    ConsentPurpose.SCREENING: "screening",
    ConsentPurpose.QUESTIONNAIRES: "questionnaires",
    ConsentPurpose.DIPLOMA: "a diploma",
}


@dataclass
class Case:
    case_id: str
    pilot: Pilot
    opened: bool = False
    closed: bool = False
    erased: bool = False
    close_reason: CloseReason | None = None
    child_first_name: str | None = None
    language: Language | None = None
    consents: dict[str, ConsentState] = field(default_factory=dict)

    @property
    def family_language(self) -> Language:
        """The family's language once intake told us, else the pilot's language."""
        return self.language or self.pilot.default_language

    def consented(self, purpose: ConsentPurpose) -> bool:
        return granted(self.consents, purpose)

    @property
    def diploma_shared(self) -> bool:
        """Whether the family still shares the diploma: the case open, diploma consent
        standing. The family's signed link opens it only then."""
        return not self.closed and self.consented(ConsentPurpose.DIPLOMA)

    def require(self, purpose: ConsentPurpose) -> None:
        """Raise unless something new may be recorded for ``purpose`` on this case."""
        if not self.opened:
            raise UnknownCase(f"case {self.case_id} not found")
        if self.closed:
            raise CaseIsClosed(f"case {self.case_id} is closed")
        if not self.consented(purpose):
            raise NoConsent(
                f"the parents have not given consent for {_PURPOSE_TEXT.get(purpose, purpose)} "
                f"(purpose {purpose}) on case {self.case_id}"
            )
